#include "http/request.h"

#include "core/validation.h"

namespace gh::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

const std::string& Request::Param(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return kEmpty;
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (auto k = PercentDecode(key, true); k && *k == name) {
      if (eq == std::string_view::npos) return std::string();
      return PercentDecode(pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string Request::Cookie(std::string_view name) const {
  std::string_view all = Header("cookie");
  while (!all.empty()) {
    size_t semi = all.find(';');
    std::string_view part = all.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      return std::string(part.substr(eq + 1));
    }
    if (semi == std::string_view::npos) break;
    all.remove_prefix(semi + 1);
  }
  return "";
}

ClientInfo Request::Client() const {
  // Kept with sessions and audit events, printed by `gatehouse audit export`: no escapes.
  return {remote_ip, validation::PrintableText(Header("user-agent"), 512)};
}

}  // namespace gh::http
