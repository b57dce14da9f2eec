#include "core/net.h"

#include <arpa/inet.h>

#include <cstring>

namespace gh {

std::optional<IpAddress> ParseIp(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  // inet_pton reads a C string: whatever follows a NUL would be ignored, so that
  // "10.0.0.1\0anything" passed for 10.0.0.1 (found by fuzz/fuzz_cidr.cpp).
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string s(text);
  IpAddress ip;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    ip.v4 = true;
    ip.bytes[10] = 0xff;
    ip.bytes[11] = 0xff;
    std::memcpy(ip.bytes.data() + 12, &v4, 4);
    return ip;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(ip.bytes.data(), &v6, 16);
    // An IPv4-mapped IPv6 address is that IPv4 address.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    ip.v4 = std::memcmp(ip.bytes.data(), kMapped, 12) == 0;
    return ip;
  }
  return std::nullopt;
}

std::string FormatIp(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip.v4) {
    inet_ntop(AF_INET, ip.bytes.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof buf);
  }
  return buf;
}

bool Cidr::Contains(const IpAddress& ip) const {
  int bits = prefix_bits;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
  }
  return true;
}

std::optional<Cidr> ParseCidr(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = ParseIp(text.substr(0, slash));
  if (!ip) return std::nullopt;
  int max = ip->v4 ? 32 : 128;
  int bits = max;
  if (slash != std::string_view::npos) {
    std::string_view n = text.substr(slash + 1);
    if (n.empty() || n.size() > 3) return std::nullopt;
    bits = 0;
    for (char c : n) {
      if (c < '0' || c > '9') return std::nullopt;
      bits = bits * 10 + (c - '0');
    }
    if (bits > max) return std::nullopt;
  }
  Cidr c;
  c.base = *ip;
  c.prefix_bits = ip->v4 ? bits + 96 : bits;
  // Host bits must be zero.
  int keep = c.prefix_bits;
  for (size_t i = 0; i < 16; ++i, keep -= 8) {
    uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
    if (ip->bytes[i] & ~mask) return std::nullopt;
  }
  c.text = FormatIp(*ip) + "/" + std::to_string(bits);
  return c;
}

bool AnyContains(const std::vector<Cidr>& ranges, const IpAddress& ip) {
  for (const auto& r : ranges) {
    if (r.Contains(ip)) return true;
  }
  return false;
}

namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string ClientAddress(std::string_view peer, const std::vector<std::string_view>& forwarded,
                          const std::vector<Cidr>& trusted_proxies) {
  if (trusted_proxies.empty() || forwarded.empty()) return std::string(peer);
  auto peer_ip = ParseIp(peer);
  if (!peer_ip || !AnyContains(trusted_proxies, *peer_ip)) return std::string(peer);
  std::optional<IpAddress> leftmost;
  // Right to left over the headers, and inside each header over its comma-separated entries.
  for (auto h = forwarded.rbegin(); h != forwarded.rend(); ++h) {
    std::string_view list = *h;
    while (true) {
      size_t comma = list.rfind(',');
      std::string_view entry =
          TrimSpaces(comma == std::string_view::npos ? list : list.substr(comma + 1));
      auto ip = ParseIp(entry);
      if (!ip) return std::string(peer);  // malformed: trust nothing it says
      if (!AnyContains(trusted_proxies, *ip)) return FormatIp(*ip);
      leftmost = ip;
      if (comma == std::string_view::npos) break;
      list = list.substr(0, comma);
    }
  }
  return leftmost ? FormatIp(*leftmost) : std::string(peer);
}

}  // namespace gh
