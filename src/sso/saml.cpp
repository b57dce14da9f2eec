#include "sso/saml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

namespace gh::sso {
namespace {

constexpr const char* kNsProtocol = "urn:oasis:names:tc:SAML:2.0:protocol";
constexpr const char* kNsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion";
constexpr const char* kNsDsig = "http://www.w3.org/2000/09/xmldsig#";
constexpr const char* kNsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata";
constexpr const char* kBindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
constexpr const char* kBindingPost = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
constexpr const char* kNameIdEmail = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
constexpr const char* kStatusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success";
constexpr const char* kBearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

// Only these algorithms are accepted; SHA-1 anywhere is refused.
const std::set<std::string> kSignatureMethods = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
};
const std::set<std::string> kDigestMethods = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
};
constexpr const char* kExcC14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
constexpr const char* kExcC14nComments = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
constexpr const char* kEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

// ---- small helpers --------------------------------------------------------------------------
struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

Error Reject(std::string reason, std::string detail) {
  return {ErrorKind::kForbidden, std::move(reason), std::move(detail), {}};
}

const char* Str(const xmlChar* s) { return reinterpret_cast<const char*>(s); }
const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

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

// The whole text of an element: every text and CDATA child concatenated, so that a comment
// inside (`admin@evil.com<!---->.victim.com`) cannot cut it short. nullopt when the element
// holds child elements (a NameID or AttributeValue with markup is not a plain value).
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
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string UrlEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
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

// Parses untrusted XML: no network, no entity substitution, no DTD loading, and a refused
// DOCTYPE (checked on the tree: libxml2 records any internal or external subset).
enum class ParseFailure { kNone, kMalformed, kDoctype, kTooDeep };

int Depth(const xmlNode* n, int depth) {
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
  DocPtr doc(xmlReadMemory(bytes.data(), static_cast<int>(bytes.size()), "saml.xml", nullptr,
                           opts));
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

std::once_flag g_init;

}  // namespace

void EnsureSamlLibraries() {
  std::call_once(g_init, [] {
    xmlInitParser();
    if (xmlSecInit() < 0) throw std::runtime_error("xmlSecInit failed");
    if (xmlSecCheckVersion() != 1) throw std::runtime_error("xmlsec version mismatch");
    if (xmlSecCryptoAppInit(nullptr) < 0) throw std::runtime_error("xmlSecCryptoAppInit failed");
    if (xmlSecCryptoInit() < 0) throw std::runtime_error("xmlSecCryptoInit failed");
    // xmlsec prints every failed check to stderr by default; a forged response would then
    // write attacker-chosen volume to our logs. The reason code we return says enough.
    xmlSecErrorsSetCallback([](const char*, int, const char*, const char*, const char*, int,
                               const char*) {});
  });
}

// ---- AuthnRequest ---------------------------------------------------------------------------
std::string NewSamlRequestId() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static const char* hex = "0123456789abcdef";
  std::string id = "_";
  for (unsigned char c : raw) {
    id += hex[c >> 4];
    id += hex[c & 15];
  }
  return id;
}

AuthnRequest BuildAuthnRequest(const AuthnRequestParams& p) {
  AuthnRequest out;
  out.xml = std::string("<samlp:AuthnRequest xmlns:samlp=\"") + kNsProtocol +
            "\" xmlns:saml=\"" + kNsAssertion + "\" ID=\"" + XmlEscape(p.request_id) +
            "\" Version=\"2.0\" IssueInstant=\"" + IsoTime(p.now_unix) + "\" Destination=\"" +
            XmlEscape(p.idp_sso_url) + "\" ProtocolBinding=\"" + kBindingPost +
            "\" AssertionConsumerServiceURL=\"" + XmlEscape(p.acs_url) + "\"><saml:Issuer>" +
            XmlEscape(p.sp_entity_id) + "</saml:Issuer><samlp:NameIDPolicy Format=\"" +
            kNameIdEmail + "\" AllowCreate=\"true\"/></samlp:AuthnRequest>";
  std::string query = "SAMLRequest=" + UrlEncode(Base64Encode(RawDeflate(out.xml)));
  if (!p.relay_state.empty()) query += "&RelayState=" + UrlEncode(p.relay_state);
  out.redirect_url =
      p.idp_sso_url + (p.idp_sso_url.find('?') == std::string::npos ? "?" : "&") + query;
  return out;
}

std::string SpMetadataXml(std::string_view entity_id, std::string_view acs_url) {
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:EntityDescriptor xmlns:md=\"") +
         kNsMetadata + "\" entityID=\"" + XmlEscape(entity_id) +
         "\">\n  <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" "
         "protocolSupportEnumeration=\"" +
         kNsProtocol + "\">\n    <md:NameIDFormat>" + kNameIdEmail +
         "</md:NameIDFormat>\n    <md:AssertionConsumerService Binding=\"" + kBindingPost +
         "\" Location=\"" + XmlEscape(acs_url) +
         "\" index=\"0\" isDefault=\"true\"/>\n  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n";
}

// ---- IdP metadata ---------------------------------------------------------------------------
namespace {

// base64 DER (as in ds:X509Certificate) to PEM; nullopt unless it is a certificate.
std::optional<std::string> CertificatePem(const std::string& b64) {
  auto der = Base64Decode(b64);
  if (!der) return std::nullopt;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der->size()));
  if (!cert) return std::nullopt;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_free(cert);
  return pem;
}

}  // namespace

Result<IdpMetadata> ParseIdpMetadata(std::string_view xml) {
  EnsureSamlLibraries();
  if (xml.size() > 1024 * 1024)
    return Error::Invalid("metadata_invalid", "idp_metadata_xml", "The metadata is over 1 MiB.");
  ParseFailure failure;
  DocPtr doc = ParseUntrusted(xml, failure);
  if (failure == ParseFailure::kDoctype)
    return Error::Invalid("metadata_doctype", "idp_metadata_xml", "A DOCTYPE is not accepted.");
  if (!doc)
    return Error::Invalid("metadata_invalid", "idp_metadata_xml", "The metadata is not XML.");
  xmlNode* entity = xmlDocGetRootElement(doc.get());
  if (Is(entity, kNsMetadata, "EntitiesDescriptor")) {
    xmlNode* found = nullptr;
    for (xmlNode* e : Children(entity, kNsMetadata, "EntityDescriptor"))
      if (!Children(e, kNsMetadata, "IDPSSODescriptor").empty()) {
        found = e;
        break;
      }
    entity = found;
  }
  if (!Is(entity, kNsMetadata, "EntityDescriptor"))
    return Error::Invalid("metadata_no_idp", "idp_metadata_xml", "No EntityDescriptor.");
  auto idps = Children(entity, kNsMetadata, "IDPSSODescriptor");
  if (idps.empty())
    return Error::Invalid("metadata_no_idp", "idp_metadata_xml", "No IDPSSODescriptor.");
  IdpMetadata out;
  out.entity_id = Attr(entity, "entityID").value_or("");
  if (out.entity_id.empty())
    return Error::Invalid("metadata_invalid", "idp_metadata_xml", "No entityID.");
  xmlNode* idp = idps[0];
  for (xmlNode* sso : Children(idp, kNsMetadata, "SingleSignOnService"))
    if (Attr(sso, "Binding") == kBindingRedirect) {
      out.sso_url = Attr(sso, "Location").value_or("");
      break;
    }
  if (out.sso_url.empty())
    return Error::Invalid("metadata_no_sso_url", "idp_metadata_xml",
                          "No SingleSignOnService with the HTTP-Redirect binding.");
  for (xmlNode* kd : Children(idp, kNsMetadata, "KeyDescriptor")) {
    auto use = Attr(kd, "use");
    if (use && *use != "signing") continue;
    for (xmlNode* ki : Children(kd, kNsDsig, "KeyInfo"))
      for (xmlNode* xd : Children(ki, kNsDsig, "X509Data"))
        for (xmlNode* xc : Children(xd, kNsDsig, "X509Certificate")) {
          auto text = FullText(xc);
          auto pem = text ? CertificatePem(*text) : std::nullopt;
          if (!pem)
            return Error::Invalid("metadata_invalid", "idp_metadata_xml",
                                  "An X509Certificate is not a certificate.");
          if (std::find(out.certificates.begin(), out.certificates.end(), *pem) ==
              out.certificates.end())
            out.certificates.push_back(*pem);
        }
  }
  if (out.certificates.empty())
    return Error::Invalid("metadata_no_certificate", "idp_metadata_xml",
                          "No signing certificate.");
  return out;
}

// ---- Replay cache ---------------------------------------------------------------------------
void SamlReplayCache::Expire(int64_t now_unix) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now_unix) {
    auto it = expiry_.find(by_expiry_.begin()->second);
    if (it != expiry_.end() && it->second == by_expiry_.begin()->first) expiry_.erase(it);
    by_expiry_.erase(by_expiry_.begin());
  }
}

bool SamlReplayCache::Remember(const std::string& id, int64_t not_on_or_after, int64_t now) {
  std::lock_guard lock(mu_);
  Expire(now);
  if (expiry_.count(id)) return false;
  if (expiry_.size() >= capacity_) return false;
  int64_t until = not_on_or_after + kMaxClockSkewSeconds;
  expiry_.emplace(id, until);
  by_expiry_.emplace(until, id);
  return true;
}

size_t SamlReplayCache::size() const {
  std::lock_guard lock(mu_);
  return expiry_.size();
}

}  // namespace gh::sso

// ---- Response verification ------------------------------------------------------------------
namespace gh::sso {
namespace {

struct KeyFree {
  void operator()(xmlSecKey* k) const { xmlSecKeyDestroy(k); }
};
using KeyPtr = std::unique_ptr<xmlSecKey, KeyFree>;
struct DsigFree {
  void operator()(xmlSecDSigCtx* c) const { xmlSecDSigCtxDestroy(c); }
};

// The public key of a configured certificate, as an xmlsec key. The certificate itself is not
// attached and no keys manager exists: xmlsec can then verify with this key only, whatever
// KeyInfo or X509Data the message carries.
KeyPtr KeyFromCertificate(const std::string& pem) {
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (!cert) return nullptr;
  EVP_PKEY* pkey = X509_get0_pubkey(cert);
  std::string pub;
  if (pkey) {
    BIO* out = BIO_new(BIO_s_mem());
    if (PEM_write_bio_PUBKEY(out, pkey) == 1) {
      char* data = nullptr;
      long len = BIO_get_mem_data(out, &data);
      pub.assign(data, static_cast<size_t>(len));
    }
    BIO_free(out);
  }
  X509_free(cert);
  if (pub.empty()) return nullptr;
  return KeyPtr(xmlSecCryptoAppKeyLoadMemory(reinterpret_cast<const xmlSecByte*>(pub.data()),
                                             static_cast<xmlSecSize>(pub.size()),
                                             xmlSecKeyDataFormatPem, nullptr, nullptr, nullptr));
}

// Checks the shape of a ds:Signature before xmlsec runs: one Reference pointing at its own
// parent, only exc-c14n and enveloped-signature transforms, SHA-2 digests and signatures.
std::optional<Error> CheckSignatureShape(xmlNode* sig, const std::string& parent_id) {
  xmlNode* si = Child(sig, kNsDsig, "SignedInfo");
  if (!si) return Reject("signature_invalid", "The Signature has no SignedInfo.");
  xmlNode* c14n = Child(si, kNsDsig, "CanonicalizationMethod");
  auto c14n_alg = Attr(c14n, "Algorithm");
  if (!c14n_alg || (*c14n_alg != kExcC14n && *c14n_alg != kExcC14nComments))
    return Reject("signature_transform", "The canonicalization is not exclusive C14N.");
  auto sm = Attr(Child(si, kNsDsig, "SignatureMethod"), "Algorithm");
  if (!sm || !kSignatureMethods.count(*sm))
    return Reject("signature_algorithm", "The signature algorithm is not RSA/ECDSA-SHA256 or stronger.");
  auto refs = Children(si, kNsDsig, "Reference");
  if (refs.size() != 1)
    return Reject("signature_reference", "The Signature must hold exactly one Reference.");
  auto uri = Attr(refs[0], "URI");
  if (parent_id.empty() || !uri || *uri != "#" + parent_id)
    return Reject("signature_reference", "The Reference does not point at the signed element.");
  auto dm = Attr(Child(refs[0], kNsDsig, "DigestMethod"), "Algorithm");
  if (!dm || !kDigestMethods.count(*dm))
    return Reject("signature_algorithm", "The digest algorithm is not SHA-256 or stronger.");
  if (xmlNode* transforms = Child(refs[0], kNsDsig, "Transforms")) {
    for (xmlNode* t = transforms->children; t; t = t->next) {
      if (t->type != XML_ELEMENT_NODE) continue;
      auto alg = Attr(t, "Algorithm");
      if (!Is(t, kNsDsig, "Transform") || !alg ||
          (*alg != kEnveloped && *alg != kExcC14n && *alg != kExcC14nComments))
        return Reject("signature_transform", "Only enveloped-signature and exc-c14n are allowed.");
    }
  }
  return std::nullopt;
}

// Verifies `sig`, the direct ds:Signature child of `parent`, with one of the configured keys.
std::optional<Error> VerifySignature(xmlDoc* doc, xmlNode* parent, xmlNode* sig,
                                     const std::vector<KeyPtr>& keys) {
  std::string id = Attr(parent, "ID").value_or("");
  if (auto e = CheckSignatureShape(sig, id)) return e;
  // Register the one ID the Reference may resolve to. libxml2 also registers xml:id
  // attributes on its own; a clash with one makes xmlAddID fail, refused below.
  xmlAttr* id_attr = xmlHasNsProp(parent, X("ID"), nullptr);
  if (!id_attr) return Reject("signature_reference", "The signed element has no ID.");
  if (xmlGetID(doc, X(id.c_str())) == nullptr && !xmlAddID(nullptr, doc, X(id.c_str()), id_attr))
    return Reject("duplicate_id", "The signed element's ID is not unique.");
  xmlAttr* resolved = xmlGetID(doc, X(id.c_str()));
  if (resolved != id_attr) return Reject("duplicate_id", "The signed element's ID is not unique.");

  for (const KeyPtr& key : keys) {
    std::unique_ptr<xmlSecDSigCtx, DsigFree> ctx(xmlSecDSigCtxCreate(nullptr));
    if (!ctx) return Reject("signature_invalid", "xmlsec context failed.");
    ctx->signKey = xmlSecKeyDuplicate(key.get());
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    // Belt and braces on top of CheckSignatureShape: xmlsec itself refuses other transforms.
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformExclC14NId);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformExclC14NWithCommentsId);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformSha256Id);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformSha384Id);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformSha512Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformExclC14NId);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformExclC14NWithCommentsId);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformRsaSha256Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformRsaSha384Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformRsaSha512Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformEcdsaSha256Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformEcdsaSha384Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformEcdsaSha512Id);
    if (xmlSecDSigCtxVerify(ctx.get(), sig) < 0) continue;  // wrong key type, bad shape
    if (ctx->status != xmlSecDSigStatusSucceeded) continue;
    // The key used must still be ours (no keys manager could have swapped it).
    if (ctx->signKey == nullptr) continue;
    return std::nullopt;
  }
  return Reject("signature_invalid", "The signature does not verify with the configured certificate.");
}

void Walk(xmlNode* n, const std::function<void(xmlNode*)>& f) {
  for (xmlNode* c = n; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    f(c);
    Walk(c->children, f);
  }
}

std::optional<Error> CheckIssuer(xmlNode* parent, const std::string& want, bool required) {
  auto issuers = Children(parent, kNsAssertion, "Issuer");
  if (issuers.empty() && !required) return std::nullopt;
  if (issuers.size() != 1) return Reject("issuer", "Expected exactly one Issuer.");
  auto text = FullText(issuers[0]);
  if (!text || Trim(*text) != want) return Reject("issuer", "The Issuer is not the configured IdP.");
  return std::nullopt;
}

// Reads a time attribute; `bad` set when present but unreadable.
std::optional<int64_t> TimeAttr(xmlNode* n, const char* name, bool& bad) {
  auto v = Attr(n, name);
  if (!v) return std::nullopt;
  auto t = ParseIsoTime(*v);
  if (!t) bad = true;
  return t;
}

Result<SamlIdentity> CheckAssertion(xmlNode* response, xmlNode* assertion,
                                    const SamlExpectations& expect, int64_t now, int64_t skew) {
  SamlIdentity id;
  id.assertion_id = Attr(assertion, "ID").value_or("");
  if (id.assertion_id.empty()) return Reject("malformed", "The Assertion has no ID.");
  if (auto e = CheckIssuer(assertion, expect.idp_entity_id, true)) return *e;

  // InResponseTo: the Response's (if any) and every bearer confirmation's must match.
  auto resp_irt = Attr(response, "InResponseTo");
  auto irt_ok = [&](const std::optional<std::string>& v) -> bool {
    if (!v) return true;
    return !expect.request_id.empty() && *v == expect.request_id;
  };
  if (!irt_ok(resp_irt))
    return Reject("in_response_to", "InResponseTo is not an outstanding request.");

  int64_t not_after = INT64_MAX;
  bool bad_time = false;

  // Subject: one NameID, at least one bearer confirmation that fits.
  xmlNode* subject = Child(assertion, kNsAssertion, "Subject");
  if (!subject) return Reject("subject_confirmation", "The Assertion has no Subject.");
  xmlNode* name_id = Child(subject, kNsAssertion, "NameID");
  if (!name_id) return Reject("name_id", "The Subject has no NameID.");
  auto name_text = FullText(name_id);
  if (!name_text || Trim(*name_text).empty())
    return Reject("name_id", "The NameID is not plain text.");
  id.name_id = Trim(*name_text);
  id.name_id_format = Attr(name_id, "Format").value_or("");

  std::optional<Error> confirmation_error =
      Reject("subject_confirmation", "No bearer SubjectConfirmation.");
  std::string confirmed_irt;
  for (xmlNode* sc : Children(subject, kNsAssertion, "SubjectConfirmation")) {
    if (Attr(sc, "Method") != kBearer) continue;
    xmlNode* scd = Child(sc, kNsAssertion, "SubjectConfirmationData");
    if (!scd) continue;
    if (Attr(scd, "Recipient") != expect.acs_url) {
      confirmation_error = Reject("recipient", "The Recipient is not our ACS URL.");
      continue;
    }
    auto irt = Attr(scd, "InResponseTo");
    if (!irt_ok(irt)) {
      confirmation_error = Reject("in_response_to", "InResponseTo is not an outstanding request.");
      continue;
    }
    bool bad = false;
    auto nooa = TimeAttr(scd, "NotOnOrAfter", bad);
    auto nb = TimeAttr(scd, "NotBefore", bad);
    if (bad || !nooa) {
      confirmation_error = Reject("subject_confirmation", "The confirmation has no valid NotOnOrAfter.");
      continue;
    }
    if (now - skew >= *nooa) {
      confirmation_error = Reject("expired", "The subject confirmation has expired.");
      continue;
    }
    if (nb && now + skew < *nb) {
      confirmation_error = Reject("not_yet_valid", "The subject confirmation is not yet valid.");
      continue;
    }
    not_after = std::min(not_after, *nooa);
    confirmed_irt = irt.value_or("");
    confirmation_error.reset();
    break;
  }
  if (confirmation_error) return *confirmation_error;
  id.in_response_to = !confirmed_irt.empty() ? confirmed_irt : resp_irt.value_or("");
  if (id.in_response_to.empty() && !expect.allow_idp_initiated)
    return Reject("in_response_to", "Unsolicited responses are not allowed for this connection.");

  // Conditions: time window and our audience.
  xmlNode* conditions = Child(assertion, kNsAssertion, "Conditions");
  if (!conditions) return Reject("audience", "The Assertion has no Conditions.");
  auto nb = TimeAttr(conditions, "NotBefore", bad_time);
  auto nooa = TimeAttr(conditions, "NotOnOrAfter", bad_time);
  if (bad_time) return Reject("malformed", "A time in Conditions is unreadable.");
  if (nb && now + skew < *nb) return Reject("not_yet_valid", "The assertion is not yet valid.");
  if (nooa && now - skew >= *nooa) return Reject("expired", "The assertion has expired.");
  if (nooa) not_after = std::min(not_after, *nooa);
  auto restrictions = Children(conditions, kNsAssertion, "AudienceRestriction");
  if (restrictions.empty()) return Reject("audience", "The Assertion has no AudienceRestriction.");
  for (xmlNode* r : restrictions) {  // each restriction must name us (SAML core 2.5.1.4)
    bool ours = false;
    for (xmlNode* a : Children(r, kNsAssertion, "Audience")) {
      auto text = FullText(a);
      if (text && Trim(*text) == expect.sp_entity_id) ours = true;
    }
    if (!ours) return Reject("audience", "The Audience is not our entity id.");
  }
  id.not_on_or_after_unix = not_after;

  // Session index and attributes, from this (verified) assertion only.
  auto authn = Children(assertion, kNsAssertion, "AuthnStatement");
  if (!authn.empty()) {
    id.session_index = Attr(authn[0], "SessionIndex").value_or("");
    bool bad = false;
    auto session_end = TimeAttr(authn[0], "SessionNotOnOrAfter", bad);
    if (bad) return Reject("malformed", "SessionNotOnOrAfter is unreadable.");
    if (session_end && now - skew >= *session_end)
      return Reject("expired", "The IdP session has ended.");
  }
  for (xmlNode* st : Children(assertion, kNsAssertion, "AttributeStatement"))
    for (xmlNode* a : Children(st, kNsAssertion, "Attribute")) {
      auto name = Attr(a, "Name");
      if (!name || name->empty()) continue;
      auto& values = id.attributes[*name];
      for (xmlNode* v : Children(a, kNsAssertion, "AttributeValue")) {
        auto text = FullText(v);
        if (!text) return Reject("malformed", "An AttributeValue is not plain text.");
        values.push_back(Trim(*text));
      }
    }
  return id;
}

}  // namespace

Result<SamlIdentity> VerifySamlResponse(std::string_view b64, const SamlExpectations& expect,
                                        int64_t now) {
  EnsureSamlLibraries();
  if (b64.size() > kMaxSamlResponseBase64)
    return Reject("too_large", "The SAMLResponse is larger than 256 KiB.");
  auto bytes = Base64Decode(b64);
  if (!bytes) return Reject("malformed", "The SAMLResponse is not base64.");
  ParseFailure failure;
  DocPtr doc = ParseUntrusted(*bytes, failure);
  if (failure == ParseFailure::kDoctype) return Reject("doctype", "A DOCTYPE is not accepted.");
  if (failure == ParseFailure::kTooDeep) return Reject("too_deep", "The XML is nested too deep.");
  if (!doc) return Reject("malformed", "The SAMLResponse is not well-formed XML.");
  xmlNode* response = xmlDocGetRootElement(doc.get());
  if (!Is(response, kNsProtocol, "Response") || Attr(response, "Version") != "2.0")
    return Reject("not_a_response", "The document is not a SAML 2.0 Response.");

  // Whole-document checks: IDs unique (any attribute named ID/Id/id or xml:id), exactly one
  // Assertion anywhere, no EncryptedAssertion. A second assertion hidden in Extensions, an
  // Object or another assertion is a signature-wrapping attempt.
  std::set<std::string> ids;
  bool duplicate = false;
  int assertions = 0, encrypted = 0;
  Walk(response, [&](xmlNode* n) {
    if (Is(n, kNsAssertion, "Assertion")) ++assertions;
    if (Is(n, kNsAssertion, "EncryptedAssertion")) ++encrypted;
    for (xmlAttr* a = n->properties; a; a = a->next) {
      std::string name = Str(a->name);
      if (name != "ID" && name != "Id" && name != "id") continue;
      xmlChar* v = xmlNodeListGetString(n->doc, a->children, 1);
      std::string value = v ? Str(v) : "";
      xmlFree(v);
      if (!ids.insert(value).second) duplicate = true;
    }
  });
  if (duplicate) return Reject("duplicate_id", "Two elements share an ID.");
  if (encrypted) return Reject("encrypted_assertion", "Encrypted assertions are not supported.");
  if (assertions != 1) return Reject("assertion_count", "Expected exactly one Assertion.");
  xmlNode* assertion = Child(response, kNsAssertion, "Assertion");
  if (!assertion) return Reject("assertion_count", "The Assertion is not a child of the Response.");

  // Response-level checks that need no signature to refuse.
  if (auto dest = Attr(response, "Destination"); dest && *dest != expect.acs_url)
    return Reject("destination", "The Destination is not our ACS URL.");
  xmlNode* status = Child(response, kNsProtocol, "Status");
  if (Attr(Child(status, kNsProtocol, "StatusCode"), "Value") != kStatusSuccess)
    return Reject("status", "The IdP did not answer Success.");
  if (auto e = CheckIssuer(response, expect.idp_entity_id, false)) return *e;

  // Signatures: direct children only. Every one present must verify; one must cover the
  // assertion (its own, or the Response's, which encloses it).
  auto resp_sigs = Children(response, kNsDsig, "Signature");
  auto asrt_sigs = Children(assertion, kNsDsig, "Signature");
  if (resp_sigs.size() > 1 || asrt_sigs.size() > 1)
    return Reject("signature_invalid", "More than one Signature on one element.");
  if (resp_sigs.empty() && asrt_sigs.empty())
    return Reject("signature_missing", "Neither the Response nor the Assertion is signed.");
  if (expect.idp_certificates_pem.empty())
    return Reject("no_certificate", "No IdP certificate is configured.");
  std::vector<KeyPtr> keys;
  for (const auto& pem : expect.idp_certificates_pem)
    if (auto k = KeyFromCertificate(pem)) keys.push_back(std::move(k));
  if (keys.empty()) return Reject("no_certificate", "The configured certificate is unreadable.");
  // The assertion's signature first: verifying the Response's enveloped signature does not
  // change the tree, but checking the inner one first keeps the order independent of that.
  if (!asrt_sigs.empty())
    if (auto e = VerifySignature(doc.get(), assertion, asrt_sigs[0], keys)) return *e;
  if (!resp_sigs.empty())
    if (auto e = VerifySignature(doc.get(), response, resp_sigs[0], keys)) return *e;

  int64_t skew = std::clamp<int64_t>(expect.clock_skew_seconds, 0, kMaxClockSkewSeconds);
  return CheckAssertion(response, assertion, expect, now, skew);
}

}  // namespace gh::sso
