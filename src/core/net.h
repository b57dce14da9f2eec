// IP addresses and CIDR ranges (IPv4 and IPv6).
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
// The canonical text of an address: dotted quad for IPv4 (and IPv4-mapped IPv6), RFC 5952
// lower-case compressed form for IPv6.
std::string FormatIp(const IpAddress& ip);

struct Cidr {
  IpAddress base;
  int prefix_bits = 0;  // of the 128-bit form
  std::string text;     // canonical "203.0.113.0/24", "2001:db8::/32"
  bool Contains(const IpAddress& ip) const;
};

// "203.0.113.0/24", "2001:db8::/32", or a bare address (a /32 or /128). Host bits set below
// the prefix are refused (they usually mean a typo: "10.0.0.1/8" was meant as 10.0.0.1 or
// as 10.0.0.0/8, and silently widening it could open far more than intended). `text` comes
// out canonical: "2001:DB8:0::/32" -> "2001:db8::/32", "192.0.2.7" -> "192.0.2.7/32".
std::optional<Cidr> ParseCidr(std::string_view text);

// Whether any range of `ranges` contains `ip`.
bool AnyContains(const std::vector<Cidr>& ranges, const IpAddress& ip);

// The client's address of a request that reached us from `peer` (the socket's address, in
// canonical text). When `peer` lies inside one of `trusted_proxies`, the X-Forwarded-For
// values (`forwarded`, every such header in arrival order, each a comma-separated list) are
// walked from the right: trusted addresses are skipped and the first untrusted one is the
// client; when all are trusted, the left-most. A spoofed left-most entry added by the client
// therefore never wins over what our own proxies appended. Returns `peer` when no proxy is
// trusted, when the peer is not trusted, when there is no X-Forwarded-For, or when an entry
// reached by the walk is not a bare IP address (malformed header). The result is canonical.
std::string ClientAddress(std::string_view peer, const std::vector<std::string_view>& forwarded,
                          const std::vector<Cidr>& trusted_proxies);

}  // namespace gh
