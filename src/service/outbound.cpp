#include "service/outbound.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

namespace gh {
namespace {

constexpr size_t kMaxUrlLength = 2048;
constexpr size_t kMaxAnswerBytes = 64 * 1024;

Error NotAllowed(std::string message) {
  return Error::Invalid("webhook_url_not_allowed", "url", std::move(message));
}

Error Unreachable(std::string message) {
  return Error{ErrorKind::kUnavailable, "upstream_unreachable", std::move(message), {}};
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return Lower(x) == y; });
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsHexDigit(char c) { return IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'f'); }

// One part of a numeric IPv4 host as resolvers read it (inet_aton, and the WHATWG URL
// standard): "0x1F" hex, "017" octal, "17" decimal.
std::optional<uint64_t> ParseIpv4Number(std::string_view part) {
  int base = 10;
  if (part.size() >= 2 && part[0] == '0' && Lower(part[1]) == 'x') {
    base = 16;
    part.remove_prefix(2);
    if (part.empty()) return 0;
  } else if (part.size() >= 2 && part[0] == '0') {
    base = 8;
    part.remove_prefix(1);
  }
  if (part.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : part) {
    int d = IsDigit(c) ? c - '0' : IsHexDigit(c) ? Lower(c) - 'a' + 10 : 99;
    if (d >= base) return std::nullopt;
    v = v * base + static_cast<uint64_t>(d);
    if (v > 0xffffffffull) return std::nullopt;
  }
  return v;
}

// Whether the host's last label is a number: then the whole host is an IPv4 address in some
// spelling (or invalid), never a name to look up.
bool EndsInNumber(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  std::string_view last = host.substr(host.rfind('.') + 1);
  if (last.empty()) return false;
  if (std::all_of(last.begin(), last.end(), IsDigit)) return true;
  return last.size() >= 2 && last[0] == '0' && Lower(last[1]) == 'x' &&
         std::all_of(last.begin() + 2, last.end(), IsHexDigit);
}

// "127.1", "0x7f.0.0.1", "2130706433", "127.0.0.1." → the address; nullopt when not valid.
std::optional<IpAddress> ParseNumericIpv4(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  std::vector<uint64_t> parts;
  while (true) {
    size_t dot = host.find('.');
    auto n = ParseIpv4Number(host.substr(0, dot));
    if (!n) return std::nullopt;
    parts.push_back(*n);
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  if (parts.size() > 4) return std::nullopt;
  uint64_t value = 0;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] > 255) return std::nullopt;
    value |= parts[i] << (8 * (3 - i));
  }
  uint64_t last = parts.back();
  if (last >= (1ull << (8 * (5 - parts.size())))) return std::nullopt;
  value |= last;
  IpAddress ip;
  ip.v4 = true;
  ip.bytes[10] = ip.bytes[11] = 0xff;
  for (int i = 0; i < 4; ++i) ip.bytes[12 + i] = static_cast<uint8_t>(value >> (8 * (3 - i)));
  return ip;
}

struct Target {
  bool https = false;
  std::string host;  // without brackets, as given (case kept)
  int port = 0;
  std::optional<IpAddress> ip;  // when the host is an address
};

Result<Target> ParseTarget(std::string_view url) {
  if (url.empty()) return NotAllowed("The URL is empty.");
  if (url.size() > kMaxUrlLength) return NotAllowed("The URL is longer than 2048 characters.");
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '\\') {
      return NotAllowed(
          "The URL may contain only printable ASCII without spaces or backslashes "
          "(percent-encode the rest).");
    }
  }
  Target t;
  size_t colon = url.find("://");
  std::string_view scheme = url.substr(0, colon);
  if (colon == std::string_view::npos || !(IEquals(scheme, "http") || IEquals(scheme, "https"))) {
    return NotAllowed("The URL must start with http:// or https://.");
  }
  t.https = scheme.size() == 5;
  std::string_view rest = url.substr(colon + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  // Userinfo is a classic way to make a URL read as one host and go to another.
  if (authority.find('@') != std::string_view::npos) {
    return NotAllowed("The URL may not carry a user name or password.");
  }
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return NotAllowed("The URL's IPv6 address is not closed.");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return NotAllowed("The URL's host is invalid.");
    if (!after.empty()) port = after.substr(1);
    t.ip = host.find(':') != std::string_view::npos ? ParseIp(host) : std::nullopt;
    if (!t.ip) return NotAllowed("The URL's IPv6 address is invalid (zone ids are not accepted).");
  } else {
    size_t c = authority.find(':');
    if (c != std::string_view::npos) {
      host = authority.substr(0, c);
      port = authority.substr(c + 1);
    }
    if (host.empty()) return NotAllowed("The URL has no host.");
    for (char ch : host) {
      if (!(IsDigit(ch) || (Lower(ch) >= 'a' && Lower(ch) <= 'z') || ch == '-' || ch == '.' ||
            ch == '_')) {
        return NotAllowed("The URL's host may contain only letters, digits, '-', '_' and '.'.");
      }
    }
    if (host == "." || host.find("..") != std::string_view::npos || host.starts_with('.')) {
      return NotAllowed("The URL's host is invalid.");
    }
    if (EndsInNumber(host)) {
      t.ip = ParseNumericIpv4(host);
      if (!t.ip) return NotAllowed("The URL's host is not a valid IPv4 address.");
    }
  }
  if (host.empty()) return NotAllowed("The URL has no host.");
  t.host = std::string(host);
  t.port = t.https ? 443 : 80;
  if (port) {
    if (port->empty() || port->size() > 5 || !std::all_of(port->begin(), port->end(), IsDigit)) {
      return NotAllowed("The URL's port must be a number from 1 to 65535.");
    }
    t.port = std::stoi(std::string(*port));
    if (t.port < 1 || t.port > 65535) {
      return NotAllowed("The URL's port must be a number from 1 to 65535.");
    }
  }
  return t;
}

bool IsLocalhostName(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  if (IEquals(host, "localhost")) return true;
  return host.size() > 10 && IEquals(host.substr(host.size() - 10), ".localhost");
}

bool PublicV4(const uint8_t* b) {
  uint8_t a = b[0], second = b[1];
  if (a == 0 || a == 10 || a == 127) return false;      // this network, private, loopback
  if (a == 100 && (second & 0xc0) == 64) return false;  // CGNAT 100.64/10
  if (a == 169 && second == 254) return false;          // link-local (cloud metadata)
  if (a == 172 && (second & 0xf0) == 16) return false;  // 172.16/12
  if (a == 192 && second == 168) return false;          // 192.168/16
  if (a == 198 && (second & 0xfe) == 18) return false;  // 198.18/15 (benchmarking networks)
  if (a == 192 && second == 0 && b[2] == 0) return false;  // 192.0.0/24 (protocol assignments)
  return a < 224;                                       // multicast, reserved, broadcast
}

bool AllZero(const uint8_t* b, size_t n) {
  return std::all_of(b, b + n, [](uint8_t x) { return x == 0; });
}

std::string RefusedAddressMessage(const IpAddress& ip) {
  return "The URL points to " + FormatIp(ip) +
         ", which is not a public address (loopback, private, link-local, multicast or "
         "reserved).";
}

Error Refused(Error e) {
  e.kind = ErrorKind::kForbidden;  // at delivery time the URL is no longer the caller's input
  return e;
}

std::optional<IpAddress> FromSockaddr(const sockaddr* sa) {
  IpAddress ip;
  if (sa->sa_family == AF_INET) {
    ip.v4 = true;
    ip.bytes[10] = ip.bytes[11] = 0xff;
    std::memcpy(ip.bytes.data() + 12, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    return ip;
  }
  if (sa->sa_family == AF_INET6) {
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
    ip.v4 = AllZero(ip.bytes.data(), 10) && ip.bytes[10] == 0xff && ip.bytes[11] == 0xff;
    return ip;
  }
  return std::nullopt;
}

bool SameAddress(const IpAddress& a, const IpAddress& b) { return a.bytes == b.bytes; }

// The addresses of the target, in the resolver's order, without repeats.
Result<std::vector<IpAddress>> Resolve(const Target& t) {
  if (t.ip) return std::vector<IpAddress>{*t.ip};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(t.host.c_str(), nullptr, &hints, &found);
  if (rc != 0) return Unreachable("Could not resolve " + t.host + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(found, freeaddrinfo);
  std::vector<IpAddress> out;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    auto ip = a->ai_addr ? FromSockaddr(a->ai_addr) : std::nullopt;
    if (!ip) continue;
    auto same = [&](const IpAddress& o) { return SameAddress(o, *ip); };
    if (std::none_of(out.begin(), out.end(), same)) out.push_back(*ip);
  }
  if (out.empty()) return Unreachable("Could not resolve " + t.host + ": no address.");
  return out;
}

// Any non-public address refuses the name: which one curl would pick is not ours to bet on.
Status CheckAddresses(const Target& t, const std::vector<IpAddress>& addresses,
                      const OutboundPolicy& policy) {
  if (policy.allow_private_networks) return {};
  for (const IpAddress& ip : addresses) {
    if (!IsPublicAddress(ip)) {
      // Which address is not said: the answer would map the private network for whoever
      // types names into the URL field.
      return NotAllowed(t.host + " resolves to an address that is not public (loopback, "
                                 "private, link-local, multicast or reserved).");
    }
  }
  return {};
}

// "host:port:addr1,[addr2]" for CURLOPT_RESOLVE.
std::string ResolveEntry(std::string_view host, int port, const std::vector<IpAddress>& ips) {
  std::string entry = std::string(host) + ":" + std::to_string(port) + ":";
  for (size_t i = 0; i < ips.size(); ++i) {
    if (i) entry += ',';
    entry += ips[i].v4 ? FormatIp(ips[i]) : "[" + FormatIp(ips[i]) + "]";
  }
  return entry;
}

// The last line of defence: curl opens sockets only through this, and only to the addresses
// that were checked, whatever its own resolver would have said.
struct SocketGuard {
  std::vector<IpAddress> allowed;
  std::optional<IpAddress> refused;
};

curl_socket_t OpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* guard = static_cast<SocketGuard*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN) {
    auto ip = FromSockaddr(&address->addr);
    auto same = [&](const IpAddress& o) { return ip && SameAddress(o, *ip); };
    if (!ip || std::none_of(guard->allowed.begin(), guard->allowed.end(), same)) {
      if (ip) guard->refused = *ip;
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype, address->protocol);
}

struct BodySink {
  std::string* body;
  bool capped = false;
};

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  size_t bytes = size * n;
  size_t room = kMaxAnswerBytes - sink->body->size();
  if (bytes > room) {
    sink->body->append(data, room);
    sink->capped = true;
    return 0;  // stops the transfer: the status and the first 64 KiB are all we keep
  }
  sink->body->append(data, bytes);
  return bytes;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t ReadHeader(char* data, size_t size, size_t n, void* user) {
  auto* answer = static_cast<OutboundAnswer*>(user);
  std::string_view line(data, size * n);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.starts_with("HTTP/")) {
    answer->retry_after.clear();  // a new response (after a 1xx): its headers count
  } else if (line.size() >= kRetryAfter.size() &&
             IEquals(line.substr(0, kRetryAfter.size()), kRetryAfter)) {
    answer->retry_after = std::string(Trim(line.substr(kRetryAfter.size())));
  }
  return size * n;
}

bool HasHeader(const OutboundPost& post, std::string_view name) {
  return std::any_of(post.headers.begin(), post.headers.end(),
                     [&](const auto& h) { return IEquals(h.first, name); });
}
}  // namespace

bool IsPublicAddress(const IpAddress& ip) {
  const uint8_t* b = ip.bytes.data();
  if (AllZero(b, 10) && b[10] == 0xff && b[11] == 0xff) return PublicV4(b + 12);  // mapped
  if (AllZero(b, 12)) return false;  // ::, ::1, IPv4-compatible
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {
    // NAT64: the well-known prefix 64:ff9b::/96 carries an IPv4 address; 64:ff9b:1::/48 is
    // for local use.
    return AllZero(b + 4, 8) && PublicV4(b + 12);
  }
  if (b[0] == 0x20 && b[1] == 0x02) return PublicV4(b + 2);  // 6to4
  if ((b[0] & 0xfe) == 0xfc) return false;                   // unique local fc00::/7
  if (b[0] == 0xfe && (b[1] & 0x80) == 0x80) return false;   // fe80::/10, fec0::/10
  if (b[0] == 0xff) return false;                            // multicast
  return true;
}

Status CheckOutboundUrl(std::string_view url, const OutboundPolicy& policy) {
  auto target = ParseTarget(url);
  if (!target) return target.error();
  if (policy.allow_private_networks) return {};
  if (target->ip && !IsPublicAddress(*target->ip)) {
    return NotAllowed(RefusedAddressMessage(*target->ip));
  }
  if (IsLocalhostName(target->host)) {
    return NotAllowed("The URL points to " + target->host + ", which is this machine.");
  }
  return {};
}

Status CheckOutboundDestination(std::string_view url, const OutboundPolicy& policy) {
  if (auto ok = CheckOutboundUrl(url, policy); !ok) return ok;
  auto target = ParseTarget(url);
  if (!target) return target.error();
  auto addresses = Resolve(*target);
  if (!addresses) return {};
  return CheckAddresses(*target, *addresses, policy);
}

Result<OutboundAnswer> PostOutbound(const OutboundPost& post, const OutboundPolicy& policy) {
  if (auto ok = CheckOutboundUrl(post.url, policy); !ok) return Refused(ok.error());
  auto target = ParseTarget(post.url);
  if (!target) return Refused(target.error());
  auto addresses = Resolve(*target);
  if (!addresses) return addresses.error();
  if (auto ok = CheckAddresses(*target, *addresses, policy); !ok) return Refused(ok.error());
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Unreachable("curl_easy_init failed");
  CURL* c = curl.get();
  OutboundAnswer answer;
  BodySink sink{&answer.body};
  SocketGuard guard{*addresses, std::nullopt};
  char error_text[CURL_ERROR_SIZE] = {};
  long timeout = post.timeout_seconds > 0 ? post.timeout_seconds : 10;

  curl_slist* pins = nullptr;
  if (!target->ip) {
    std::string host = target->host;
    pins = curl_slist_append(pins, ResolveEntry(host, target->port, *addresses).c_str());
    if (host.ends_with('.')) {  // curl may look the name up without it
      host.pop_back();
      pins = curl_slist_append(pins, ResolveEntry(host, target->port, *addresses).c_str());
    }
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> pins_guard(pins, curl_slist_free_all);
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : post.headers) {
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  }
  if (!HasHeader(post, "content-type")) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
  }
  // Without this curl waits up to a second for "100 Continue" before bodies over 1 KiB.
  if (!HasHeader(post, "expect")) headers = curl_slist_append(headers, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers_guard(headers,
                                                                            curl_slist_free_all);

  curl_easy_setopt(c, CURLOPT_URL, post.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // never through a proxy from the environment
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  if (pins) curl_easy_setopt(c, CURLOPT_RESOLVE, pins);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &guard);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &answer);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "Gatehouse-Webhooks/1");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, post.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.body.size()));

  CURLcode rc = curl_easy_perform(c);
  if (guard.refused) {
    return Refused(NotAllowed("The connection to " + target->host + " went to " +
                              FormatIp(*guard.refused) + ", which was not checked."));
  }
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && sink.capped)) {
    std::string why = error_text[0] ? error_text : curl_easy_strerror(rc);
    return Unreachable("Could not deliver to " + target->host + ": " + why);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

}  // namespace gh
