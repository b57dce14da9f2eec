#include "core/pii.h"

#include <nlohmann/json.hpp>

namespace gh {
namespace {

bool IsLocalChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'';
}

bool IsDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '-';
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
  if (at > 0) out += email[0];
  out += "***";
  out += email.substr(at);
  return out;
}

std::string MaskIp(std::string_view ip) {
  if (!ip.empty() && Ipv4At(ip, 0) == ip.size()) {
    return std::string(ip.substr(0, ip.rfind('.'))) + ".x";
  }
  if (ip.find(':') != std::string_view::npos) {
    // IPv6: keep the first three groups (the routing prefix a /48 names).
    std::string out;
    size_t pos = 0;
    for (int g = 0; g < 3 && pos <= ip.size(); ++g) {
      size_t colon = ip.find(':', pos);
      std::string_view group = ip.substr(pos, colon == std::string_view::npos ? ip.npos : colon - pos);
      if (group.empty()) break;
      out += std::string(group) + ":";
      if (colon == std::string_view::npos) break;
      pos = colon + 1;
    }
    return out + "x";
  }
  return std::string(ip);
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
  e.ip = MaskIp(e.ip);
  if (e.details_json != "{}") {
    auto details = nlohmann::json::parse(e.details_json, nullptr, false);
    if (!details.is_discarded()) {
      RedactJson(details);
      e.details_json = details.dump();
    }
  }
}

}  // namespace gh
