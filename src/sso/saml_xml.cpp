#include "sso/saml_xml.h"

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "sso/saml.h"

namespace gh::sso::xml {

Error Reject(std::string reason, std::string detail) {
  return {ErrorKind::kForbidden, std::move(reason), std::move(detail), {}};
}

bool Is(const xmlNode* n, const char* ns, const char* name) {
  return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
         std::strcmp(Str(n->ns->href), ns) == 0 && std::strcmp(Str(n->name), name) == 0;
}

std::vector<xmlNode*> Children(xmlNode* parent, const char* ns, const char* name) {
  std::vector<xmlNode*> out;
  if (!parent) return out;
  for (xmlNode* c = parent->children; c; c = c->next)
    if (Is(c, ns, name)) out.push_back(c);
  return out;
}

xmlNode* Child(xmlNode* parent, const char* ns, const char* name) {
  auto all = Children(parent, ns, name);
  return all.size() == 1 ? all[0] : nullptr;
}

// An attribute without namespace; nullopt when absent.
std::optional<std::string> Attr(const xmlNode* n, const char* name) {
  if (!n) return std::nullopt;
  xmlChar* v = xmlGetNoNsProp(n, X(name));
  if (!v) return std::nullopt;
  std::string s = Str(v);
  xmlFree(v);
  return s;
}

std::optional<std::string> FullText(const xmlNode* n) {
  std::string out;
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      if (c->content) out += Str(c->content);
    } else if (c->type == XML_ELEMENT_NODE || c->type == XML_ENTITY_REF_NODE) {
      return std::nullopt;
    }
  }
  return out;
}

std::string Trim(std::string s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && ws(s[i])) ++i;
  return s.substr(i);
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Standard base64; whitespace (form values wrap lines) ignored; anything else refused.
std::optional<std::string> Base64Decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
    clean += c;
  }
  if (clean.empty() || clean.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < clean.size() && clean[clean.size() - 1 - pad] == '=') ++pad;
  if (pad > 2 || clean.find('=') < clean.size() - pad) return std::nullopt;
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RawDeflate(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(zs.total_out);
  return out;
}

std::string IsoTime(int64_t unix) {
  std::time_t t = static_cast<std::time_t>(unix);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// xs:dateTime as SAML uses it: UTC "Z" (or an explicit offset), optional fractional seconds.
std::optional<int64_t> ParseIsoTime(const std::string& s) {
  int y, mo, d, h, mi, sec, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
      n != 19)
    return std::nullopt;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return std::nullopt;
  }
  int64_t offset = 0;
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh, om;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

static int Depth(const xmlNode* n, int depth) {
  int best = depth;
  for (const xmlNode* c = n->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    best = std::max(best, Depth(c, depth + 1));
    if (best > kMaxSamlDepth) return best;
  }
  return best;
}

DocPtr ParseUntrusted(std::string_view bytes, ParseFailure& failure) {
  failure = ParseFailure::kNone;
  // Cheap early refusal before libxml2 sees an internal subset at all.
  if (bytes.find("<!DOCTYPE") != std::string_view::npos ||
      bytes.find("<!ENTITY") != std::string_view::npos) {
    failure = ParseFailure::kDoctype;
    return nullptr;
  }
  // No XML_PARSE_NOBLANKS: whitespace inside SignedInfo is signed.
  int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  DocPtr doc(
      xmlReadMemory(bytes.data(), static_cast<int>(bytes.size()), "saml.xml", nullptr, opts));
  if (!doc) {
    failure = ParseFailure::kMalformed;
    return nullptr;
  }
  if (doc->intSubset || doc->extSubset) {
    failure = ParseFailure::kDoctype;
    return nullptr;
  }
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root) {
    failure = ParseFailure::kMalformed;
    return nullptr;
  }
  if (Depth(root, 1) > kMaxSamlDepth) {
    failure = ParseFailure::kTooDeep;
    return nullptr;
  }
  return doc;
}

}  // namespace gh::sso::xml
