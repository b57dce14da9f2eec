// IP addresses and CIDR ranges (IPv4 and IPv6), and endpoint path patterns.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gh {

// An address as 16 bytes (IPv4 mapped into ::ffff:0:0/96).
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
};

std::optional<IpAddress> ParseIp(std::string_view text);

struct Cidr {
  IpAddress base;
  int prefix_bits = 0;  // of the 128-bit form
  std::string text;     // canonical "203.0.113.0/24"
  bool Contains(const IpAddress& ip) const;
};

// "203.0.113.0/24", "2001:db8::/32", or a bare address (a /32 or /128). Host bits set below
// the prefix are refused (they usually mean a typo).
std::optional<Cidr> ParseCidr(std::string_view text);

// Endpoint patterns: an exact path, or a prefix ending in '*' ("/v1/metrics/*").
bool PathPatternMatches(std::string_view pattern, std::string_view path);
// A pattern is a path starting with '/', at most 256 characters, '*' only at the end.
bool IsValidPathPattern(std::string_view pattern);

}  // namespace gh
