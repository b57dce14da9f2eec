#include "core/pii.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/net.h"
#include "core/user_agent.h"

namespace gh {
namespace {

// Bytes of UTF-8 sequences count as letters: "józef@przykład.pl" is an address too
// (RFC 6531), and half-masking it would leak the part before the first non-ASCII letter.
bool IsLocalChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '-' || static_cast<unsigned char>(c) >= 0x80;
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Length of an IPv6 address starting at text[i] (the longest run of hex digits, ':' and '.'
// that parses as one, with at least two colons), or 0.
size_t Ipv6At(std::string_view text, size_t i) {
  size_t end = i, colons = 0;
  while (end < text.size() && (IsHexDigit(text[end]) || text[end] == ':' || text[end] == '.')) {
    colons += text[end] == ':';
    ++end;
  }
  if (colons < 2) return 0;
  // Trailing punctuation ("…from 2001:db8::1.") is not part of the address.
  while (end > i && (text[end - 1] == '.' || (text[end - 1] == ':' && end - i > 2 &&
                                               text[end - 2] != ':'))) {
    --end;
  }
  return ParseIp(text.substr(i, end - i)) ? end - i : 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of a dotted-quad IPv4 address starting at text[i], or 0.
size_t Ipv4At(std::string_view text, size_t i) {
  size_t p = i;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (p >= text.size() || text[p] != '.') return 0;
      ++p;
    }
    size_t start = p;
    int value = 0;
    while (p < text.size() && IsDigit(text[p]) && p - start < 3) value = value * 10 + (text[p++] - '0');
    if (p == start || value > 255) return 0;
  }
  if (p < text.size() && (IsDigit(text[p]) || (text[p] == '.' && p + 1 < text.size() &&
                                                IsDigit(text[p + 1])))) {
    return 0;  // a longer number (a version string), not an address
  }
  return p - i;
}

void RedactJson(nlohmann::json& j) {
  if (j.is_string()) {
    j = MaskPiiInText(j.get_ref<const std::string&>());
  } else if (j.is_array() || j.is_object()) {
    for (auto& v : j) RedactJson(v);
  }
}

}  // namespace

std::string MaskEmail(std::string_view email) {
  size_t at = email.rfind('@');
  if (at == std::string_view::npos) return std::string(email);
  std::string out;
  if (at > 0) {  // the first letter, whole (a UTF-8 sequence is kept or dropped entirely)
    size_t n = 1;
    while (n < at && (static_cast<unsigned char>(email[n]) & 0xC0) == 0x80) ++n;
    out += email.substr(0, n);
  }
  out += "***";
  out += email.substr(at);
  return out;
}

std::string MaskIp(std::string_view ip) {
  auto parsed = ParseIp(ip);
  if (!parsed) return std::string(ip);
  std::string text = FormatIp(*parsed);
  if (parsed->v4) return text.substr(0, text.rfind('.')) + ".x";  // IPv4-mapped too
  // IPv6: keep the first three groups (the routing prefix a /48 names).
  char buf[32];
  const auto& b = parsed->bytes;
  std::snprintf(buf, sizeof buf, "%x:%x:%x:x", b[0] << 8 | b[1], b[2] << 8 | b[3], b[4] << 8 | b[5]);
  return buf;
}

std::string MaskPiiInText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool boundary = i == 0 || !IsLocalChar(text[i - 1]);
    if (boundary && IsDigit(text[i])) {
      if (size_t n = Ipv4At(text, i)) {
        out += MaskIp(text.substr(i, n));
        i += n;
        continue;
      }
    }
    if ((i == 0 || (!IsLocalChar(text[i - 1]) && text[i - 1] != ':')) &&
        (IsHexDigit(text[i]) || text[i] == ':')) {
      if (size_t n = Ipv6At(text, i)) {
        out += MaskIp(text.substr(i, n));
        i += n;
        continue;
      }
    }
    if (text[i] == '@') {
      // Walk back over the local part already copied, forward over the domain.
      size_t start = out.size();
      while (start > 0 && IsLocalChar(out[start - 1])) --start;
      size_t end = i + 1;
      while (end < text.size() && IsDomainChar(text[end])) ++end;
      std::string_view domain = text.substr(i + 1, end - i - 1);
      if (start < out.size() && domain.find('.') != std::string_view::npos) {
        std::string local = out.substr(start);
        out.resize(start);
        out += MaskEmail(local + "@" + std::string(domain));
        i = end;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

void RedactAuditEvent(AuditEvent& e) {
  e.actor_email = MaskEmail(e.actor_email);
  e.actor_name = MaskPiiInText(e.actor_name);
  e.target_name = MaskPiiInText(e.target_name);
  e.target_id = MaskPiiInText(e.target_id);  // the host may name a person by email there
  e.ip = MaskIp(e.ip);
  // The full user agent is a fingerprint: the device and browser family are enough to read
  // the log.
  if (!e.user_agent.empty()) {
    DeviceInfo d = ParseUserAgent(e.user_agent);
    e.user_agent = d.browser.substr(0, d.browser.rfind(' ') == std::string::npos
                                           ? d.browser.size()
                                           : d.browser.rfind(' ')) +
                   " on " + d.device;
  }
  if (e.details_json != "{}") {
    auto details = nlohmann::json::parse(e.details_json, nullptr, false);
    if (!details.is_discarded()) {
      RedactJson(details);
      e.details_json = details.dump();
    }
  }
}

}  // namespace gh
