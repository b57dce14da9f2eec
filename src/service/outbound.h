// Outgoing deliveries to URLs that people type in (webhook endpoints, Slack incoming webhooks),
// guarded against server-side request forgery: such a URL must not reach the loopback
// interface, the private network Gatehouse runs in, link-local metadata services
// (169.254.169.254) or multicast, whether it names the address literally (in any of the
// spellings resolvers accept: "127.1", "0x7f.0.0.1", "[::ffff:127.0.0.1]") or through a DNS
// name. Names are checked when the delivery is made, on the addresses they resolve to then,
// and the connection is pinned to those addresses so that a second lookup (DNS rebinding)
// cannot send it elsewhere.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/net.h"
#include "core/result.h"

namespace gh {

struct OutboundPolicy {
  // [webhooks] allow_private_networks: lets deliveries reach non-public addresses (tests,
  // receivers on the same private network).
  bool allow_private_networks = false;
};

// Checks a webhook/Slack URL as given by a person, without any lookup: http or https, a host,
// no userinfo, port 1..65535, at most 2048 characters, printable ASCII. A host that is an IP
// address (literal, or a numeric form such as "127.1" or "2130706433") must be public, and
// "localhost" / "*.localhost" are refused, unless the policy allows private networks. Other
// names pass here and are checked on their addresses by PostOutbound.
// Error: 422 (kInvalid) code "webhook_url_not_allowed", field "url", message saying why.
Status CheckOutboundUrl(std::string_view url, const OutboundPolicy& policy);

// CheckOutboundUrl, then (for a name) one lookup: 422 "webhook_url_not_allowed" as above when
// any address the name resolves to now is not public (unless the policy allows). A name that
// does not resolve passes (its DNS may not be set up yet; PostOutbound checks again on every
// delivery). Blocks on DNS: call it off the I/O threads (a route marked slow).
Status CheckOutboundDestination(std::string_view url, const OutboundPolicy& policy);

// Whether `ip` is a public unicast address. Not public: unspecified (0.0.0.0/8, ::), loopback
// (127/8, ::1), RFC 1918 (10/8, 172.16/12, 192.168/16), CGNAT 100.64/10, link-local
// (169.254/16, fe80::/10), multicast (224/4, ff00::/8), 240/4 (reserved, with the broadcast
// address), unique local fc00::/7, site-local fec0::/10, IPv4-compatible ::/96, and the IPv4
// address inside IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
// forms, judged as that IPv4 address.
bool IsPublicAddress(const IpAddress& ip);

struct OutboundPost {
  std::string url;
  // Sent as given. Content-Type defaults to application/json when not among them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  long timeout_seconds = 10;  // for connecting, and for the whole exchange
};

struct OutboundAnswer {
  long status = 0;
  std::string body;         // the first 64 KiB of the answer's body
  std::string retry_after;  // the Retry-After header as sent (trimmed), empty when absent
};

// POSTs `post.body` to `post.url`, blocking (run it on a worker thread, never an I/O thread).
// The URL passes CheckOutboundUrl first; the host is resolved once (getaddrinfo) and refused
// when ANY of its addresses is not public (unless the policy allows); the request then goes
// only to those resolved addresses (CURLOPT_RESOLVE, and a socket callback that refuses any
// other address). No redirects are followed (a 3xx is the answer), no proxy from the
// environment is used, and bodies of any size are sent without "Expect: 100-continue".
// Returns the answer, whatever its status (2xx or not: the caller decides).
// Errors: kForbidden "webhook_url_not_allowed" when the URL or an address it resolves to is
// refused; kUnavailable "upstream_unreachable" (with the resolver's or curl's reason) when no
// HTTP answer came: unknown host, connection refused, TLS failure, timeout.
Result<OutboundAnswer> PostOutbound(const OutboundPost& post, const OutboundPolicy& policy);

}  // namespace gh
