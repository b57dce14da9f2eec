// The client address behind trusted proxies: the socket peer and X-Forwarded-For headers.
// Input: the peer on the first line, then one X-Forwarded-For header value per line. The
// trusted proxies are fixed: loopback, 10.0.0.0/8 and 2001:db8::/32.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/net.h"
#include "fuzz_check.h"

namespace {

const std::vector<gh::Cidr>& Trusted() {
  static const std::vector<gh::Cidr> trusted = [] {
    std::vector<gh::Cidr> out;
    for (const char* t : {"127.0.0.1/32", "::1/128", "10.0.0.0/8", "2001:db8::/32"}) {
      out.push_back(*gh::ParseCidr(t));
    }
    return out;
  }();
  return trusted;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  auto peer_ip = gh::ParseIp(text.substr(0, nl));
  if (!peer_ip) return 0;
  const std::string peer = gh::FormatIp(*peer_ip);
  std::vector<std::string_view> headers;
  while (nl != std::string_view::npos) {
    text.remove_prefix(nl + 1);
    nl = text.find('\n');
    headers.push_back(text.substr(0, nl));
  }
  std::string client = gh::ClientAddress(peer, headers, Trusted());

  // Always an address in canonical form.
  auto ip = gh::ParseIp(client);
  FUZZ_CHECK(ip.has_value());
  FUZZ_CHECK(gh::FormatIp(*ip) == client);
  // An untrusted peer is the client, whatever the headers say.
  if (!gh::AnyContains(Trusted(), *peer_ip)) FUZZ_CHECK(client == peer);
  // Anything else is one of the forwarded entries, never invented.
  if (client != peer) {
    bool listed = false;
    for (std::string_view h : headers) {
      size_t start = 0;
      while (start <= h.size()) {
        size_t comma = h.find(',', start);
        std::string_view entry = Trim(h.substr(start, comma == std::string_view::npos
                                                            ? std::string_view::npos
                                                            : comma - start));
        if (auto e = gh::ParseIp(entry); e && gh::FormatIp(*e) == client) listed = true;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
    }
    FUZZ_CHECK(listed);
  }
  return 0;
}
