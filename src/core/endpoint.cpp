#include "core/endpoint.h"

#include <algorithm>

namespace gh {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

void AppendEscape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> CanonicalEndpoint(std::string_view endpoint) {
  endpoint = endpoint.substr(0, endpoint.find_first_of("?#"));
  if (endpoint.empty() || endpoint.front() != '/') return std::nullopt;
  // Decode and re-escape into `flat`, segment separators untouched.
  std::string flat;
  flat.reserve(endpoint.size());
  for (size_t i = 0; i < endpoint.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(endpoint[i]);
    if (c == '%') {
      if (i + 2 >= endpoint.size()) return std::nullopt;
      int hi = HexValue(endpoint[i + 1]), lo = HexValue(endpoint[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      unsigned char v = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
      if (Unreserved(v)) {
        flat += static_cast<char>(v);
      } else if (v < 0x20 || v == 0x7f || v == '/' || v == '\\' || v == '%' || v == ';' ||
                 v == '?' || v == '#') {
        return std::nullopt;
      } else {
        AppendEscape(flat, v);
      }
    } else if (c <= 0x20 || c == 0x7f || c == '\\' || c == ';') {
      return std::nullopt;
    } else if (c >= 0x80) {
      AppendEscape(flat, c);
    } else {
      flat += static_cast<char>(c);
    }
  }
  // Resolve segments: drop empty and ".", pop on "..".
  std::string out;
  out.reserve(flat.size());
  std::vector<size_t> starts;  // where each kept segment's '/' is in `out`
  size_t pos = 1;
  while (pos <= flat.size()) {
    size_t slash = flat.find('/', pos);
    if (slash == std::string::npos) slash = flat.size();
    std::string_view seg(flat.data() + pos, slash - pos);
    if (seg.empty() || seg == ".") {
      // nothing
    } else if (seg == "..") {
      if (!starts.empty()) {
        out.resize(starts.back());
        starts.pop_back();
      }
    } else {
      starts.push_back(out.size());
      out += '/';
      out += seg;
    }
    pos = slash + 1;
  }
  if (out.empty()) out = "/";
  return out;
}

bool EndpointMatches(std::string_view pattern, std::string_view path) {
  if (!pattern.empty() && pattern.back() == '*') {
    std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    if (path.size() >= prefix.size() && EqualFold(path.substr(0, prefix.size()), prefix)) {
      return true;
    }
    // "/v1/metrics/*" also covers "/v1/metrics" itself.
    return prefix.size() > 1 && prefix.back() == '/' &&
           EqualFold(path, prefix.substr(0, prefix.size() - 1));
  }
  // An exact pattern written with a trailing slash names the same resource.
  if (pattern.size() > 1 && pattern.back() == '/') pattern.remove_suffix(1);
  return EqualFold(pattern, path);
}

bool IsValidPathPattern(std::string_view pattern) {
  if (pattern.empty() || pattern.size() > 256 || pattern.front() != '/') return false;
  std::string_view body = pattern;
  if (body.back() == '*') body.remove_suffix(1);
  if (body.find('*') != std::string_view::npos) return false;
  // Already canonical, up to a trailing slash (kept: "/v1/metrics/*" differs from
  // "/v1/metrics*").
  bool trailing = body.size() > 1 && body.back() == '/';
  std::string_view path = trailing ? body.substr(0, body.size() - 1) : body;
  auto canonical = CanonicalEndpoint(path);
  return canonical && *canonical == path && path.find('%') == std::string_view::npos;
}

bool MethodMatches(std::string_view method, const std::vector<std::string>& methods) {
  if (method.empty()) return false;
  return std::any_of(methods.begin(), methods.end(),
                     [&](const std::string& m) { return EqualFold(m, method); });
}

}  // namespace gh
