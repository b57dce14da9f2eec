#include "service/outbound.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace gh {
namespace {

const OutboundPolicy kPublicOnly{};
const OutboundPolicy kPrivateAllowed{.allow_private_networks = true};

void ExpectRefused(std::string_view url, std::string_view why = {}) {
  Status s = CheckOutboundUrl(url, kPublicOnly);
  ASSERT_FALSE(s.ok()) << url;
  EXPECT_EQ(s.error().kind, ErrorKind::kInvalid) << url;
  EXPECT_EQ(s.error().code, "webhook_url_not_allowed") << url;
  EXPECT_EQ(s.error().field, "url") << url;
  EXPECT_NE(s.error().message.find(why), std::string::npos) << url << ": " << s.error().message;
}

// A one-thread HTTP/1.1 server on 127.0.0.1 that records each request and answers every one
// with the same bytes (or never, with `hang`).
class TinyServer {
 public:
  struct Received {
    std::string request_line;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
  };

  explicit TinyServer(std::string response, bool hang = false)
      : response_(std::move(response)), hang_(hang) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("TinyServer could not listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~TinyServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  std::string Url(std::string_view path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  int connections() const { return connections_; }

 private:
  bool WaitReadable(int fd) {
    pollfd p{fd, POLLIN, 0};
    while (!stop_) {
      if (poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }

  void Loop() {
    while (WaitReadable(fd_)) {
      int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      ++connections_;
      Serve(conn);
      close(conn);
    }
  }

  void Serve(int conn) {
    std::string data;
    char buf[8192];
    size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!WaitReadable(conn)) return;
      ssize_t n = read(conn, buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
    }
    Received r;
    std::string_view head(data.data(), head_end);
    r.request_line = std::string(head.substr(0, head.find("\r\n")));
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      size_t next = head.find("\r\n", pos + 2);
      std::string_view line = head.substr(pos + 2, next == head.npos ? head.npos : next - pos - 2);
      size_t colon = line.find(':');
      std::string name(line.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      r.headers[name] = std::string(value);
      pos = next;
    }
    size_t length =
        r.headers.contains("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    r.body = data.substr(head_end + 4);
    while (r.body.size() < length) {
      if (!WaitReadable(conn)) return;
      ssize_t n = read(conn, buf, sizeof buf);
      if (n <= 0) return;
      r.body.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard lock(mu_);
      received_.push_back(r);
    }
    if (hang_) {
      while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return;
    }
    size_t sent = 0;
    while (sent < response_.size()) {
      ssize_t n = send(conn, response_.data() + sent, response_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  std::string response_;
  bool hang_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<Received> received_;
  std::thread thread_;
};

const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

}  // namespace

TEST(OutboundUrl, AcceptsPublicHttpAndHttpsUrls) {
  for (std::string_view url :
       {"https://example.com/hooks", "http://example.com:8080/x?y=1#z", "HTTPS://Example.COM",
        "https://hooks.slack.com/services/T000/B000/XXXX", "https://8.8.8.8/", "http://1.1.1.1:80",
        "https://[2606:4700:4700::1111]/hook", "https://[2606:4700:4700::1111]:8443/",
        "http://example.com./", "http://my_host.example.com/", "http://0x08080808/",
        "http://172.15.255.255/", "http://172.32.0.1/", "http://100.63.255.255/",
        "http://100.128.0.1/", "http://192.169.0.1/", "http://11.0.0.1/", "http://223.255.255.255/",
        "http://localhost.example.com/"}) {
    Status s = CheckOutboundUrl(url, kPublicOnly);
    EXPECT_TRUE(s.ok()) << url << ": " << s.error().message;
  }
}

TEST(OutboundUrl, RefusesMalformedUrls) {
  ExpectRefused("ftp://example.com/", "http:// or https://");
  ExpectRefused("file:///etc/passwd", "http:// or https://");
  ExpectRefused("gopher://example.com/", "http:// or https://");
  ExpectRefused("example.com/hook", "http:// or https://");
  ExpectRefused("//example.com/hook", "http:// or https://");
  ExpectRefused("", "empty");
  ExpectRefused("http://", "no host");
  ExpectRefused("http:///hook", "no host");
  ExpectRefused("http://:8080/", "no host");
  ExpectRefused("http://?x", "no host");
  ExpectRefused("http://user:pw@example.com/", "user name or password");
  ExpectRefused("http://user@example.com/", "user name or password");
  ExpectRefused("http://example.com@127.0.0.1/", "user name or password");
  ExpectRefused("http://example.com:0/", "port");
  ExpectRefused("http://example.com:65536/", "port");
  ExpectRefused("http://example.com:/", "port");
  ExpectRefused("http://example.com:8o/", "port");
  ExpectRefused("http://example.com:-1/", "port");
  ExpectRefused("http://[2606:4700::1111]x/", "host");
  ExpectRefused("http://[2606:4700::1111/", "not closed");
  ExpectRefused("http://[fe80::1%25eth0]/", "IPv6");
  ExpectRefused("http://[127.0.0.1]/", "IPv6");
  ExpectRefused("http://exa mple.com/", "printable ASCII");
  ExpectRefused("http://example.com/\x01", "printable ASCII");
  ExpectRefused("http://example.com\\@evil.com/", "printable ASCII");
  ExpectRefused(
      "http://b\xc3\xbc"
      "cher.example/",
      "printable ASCII");
  ExpectRefused("http://ex%61mple.com/", "letters, digits");
  ExpectRefused("http://exa..mple.com/", "invalid");
  ExpectRefused("http://.example.com/", "invalid");
  ExpectRefused("http://1.2.3.4.5/", "IPv4");
  ExpectRefused("http://256.0.0.1/", "IPv4");
  ExpectRefused("http://1.2.3.0x100/", "IPv4");
  ExpectRefused("http://08.0.0.1/", "IPv4");
  ExpectRefused("http://4294967296/", "IPv4");
  ExpectRefused("https://example.com/" + std::string(2048, 'a'), "2048");
  EXPECT_TRUE(CheckOutboundUrl("https://example.com/" + std::string(2028, 'a'), kPublicOnly).ok());
}

TEST(OutboundUrl, RefusesEveryNonPublicAddressInEverySpelling) {
  struct Case {
    std::string_view url;
    std::string_view address;  // as the message names it
  };
  for (const Case& c : std::initializer_list<Case>{
           {"http://127.0.0.1/", "127.0.0.1"},
           {"http://127.1/", "127.0.0.1"},
           {"http://0x7f.0.0.1/", "127.0.0.1"},
           {"http://0x7F.1/", "127.0.0.1"},
           {"http://0177.0.0.1/", "127.0.0.1"},
           {"http://2130706433/", "127.0.0.1"},
           {"http://127.0.0.1./", "127.0.0.1"},
           {"http://127.255.255.254:8080/", "127.255.255.254"},
           {"http://[::1]/", "::1"},
           {"http://[::ffff:127.0.0.1]/", "127.0.0.1"},
           {"http://[::ffff:7f00:1]/", "127.0.0.1"},
           {"http://[0:0:0:0:0:ffff:a00:1]/", "10.0.0.1"},
           {"http://[::127.0.0.1]/", "::127.0.0.1"},
           {"http://[::]/", "::"},
           {"http://0.0.0.0/", "0.0.0.0"},
           {"http://0/", "0.0.0.0"},
           {"http://10.1.2.3/", "10.1.2.3"},
           {"http://172.16.0.1/", "172.16.0.1"},
           {"http://172.31.255.255/", "172.31.255.255"},
           {"http://192.168.1.1/", "192.168.1.1"},
           {"http://100.64.0.1/", "100.64.0.1"},
           {"http://100.127.255.255/", "100.127.255.255"},
           {"http://198.18.0.1/", "198.18.0.1"},
           {"http://198.19.255.255/", "198.19.255.255"},
           {"http://192.0.0.8/", "192.0.0.8"},
           {"http://169.254.169.254/latest/meta-data/", "169.254.169.254"},
           {"http://[fe80::1]/", "fe80::1"},
           {"http://[fec0::1]/", "fec0::1"},
           {"http://[fc00::1]/", "fc00::1"},
           {"http://[fd12:3456::1]/", "fd12:3456::1"},
           {"http://224.0.0.1/", "224.0.0.1"},
           {"http://239.255.255.250/", "239.255.255.250"},
           {"http://[ff02::1]/", "ff02::1"},
           {"http://240.0.0.1/", "240.0.0.1"},
           {"http://255.255.255.255/", "255.255.255.255"},
           {"http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1"},
           {"http://[2002:c0a8:101::1]/", "2002:c0a8:101::1"},
       }) {
    ExpectRefused(c.url, std::string(c.address) + ", which is not a public address");
    EXPECT_TRUE(CheckOutboundUrl(c.url, kPrivateAllowed).ok()) << c.url;
  }
}

TEST(OutboundUrl, RefusesLocalhostNamesUnlessPrivateNetworksAreAllowed) {
  for (std::string_view url : {"http://localhost/", "http://LOCALHOST:8080/x", "http://localhost./",
                               "http://api.localhost/"}) {
    ExpectRefused(url, "this machine");
    EXPECT_TRUE(CheckOutboundUrl(url, kPrivateAllowed).ok()) << url;
  }
}

TEST(OutboundUrl, PublicAddressesAreJudgedByTheIpv4TheyCarry) {
  auto public_ip = [](std::string_view text) { return IsPublicAddress(*ParseIp(text)); };
  EXPECT_TRUE(public_ip("93.184.216.34"));
  EXPECT_TRUE(public_ip("::ffff:93.184.216.34"));
  EXPECT_TRUE(public_ip("64:ff9b::5db8:d822"));
  EXPECT_TRUE(public_ip("2002:5db8:d822::1"));
  EXPECT_TRUE(public_ip("2606:2800:220:1:248:1893:25c8:1946"));
  EXPECT_FALSE(public_ip("::ffff:169.254.169.254"));
  EXPECT_FALSE(public_ip("64:ff9b::a9fe:a9fe"));
  EXPECT_FALSE(public_ip("64:ff9b:1::5db8:d822"));
  EXPECT_FALSE(public_ip("2002:a9fe:a9fe::"));
}

TEST(OutboundUrl, DestinationCheckAddsTheLookupToTheUrlCheck) {
  EXPECT_FALSE(CheckOutboundDestination("ftp://example.com/", kPublicOnly).ok());
  EXPECT_FALSE(CheckOutboundDestination("http://127.1/", kPublicOnly).ok());
  EXPECT_FALSE(CheckOutboundDestination("http://localhost/", kPublicOnly).ok());
  EXPECT_TRUE(CheckOutboundDestination("http://localhost/", kPrivateAllowed).ok());
  EXPECT_TRUE(CheckOutboundDestination("https://8.8.8.8/", kPublicOnly).ok());
}

TEST(OutboundPost, DeliversBodyAndHeadersAndReturnsTheAnswer) {
  TinyServer server(kOk);
  std::string body(5000, 'x');  // over 1 KiB: no "Expect: 100-continue" round trip
  auto answer = PostOutbound({.url = server.Url("/hook?x=1"),
                              .headers = {{"webhook-id", "msg_1"}, {"webhook-timestamp", "17"}},
                              .body = body},
                             kPrivateAllowed);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "ok");
  EXPECT_EQ(answer->retry_after, "");
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].request_line, "POST /hook?x=1 HTTP/1.1");
  EXPECT_EQ(got[0].headers["webhook-id"], "msg_1");
  EXPECT_EQ(got[0].headers["webhook-timestamp"], "17");
  EXPECT_EQ(got[0].headers["content-type"], "application/json");
  EXPECT_FALSE(got[0].headers.contains("expect"));
  EXPECT_EQ(got[0].body, body);
}

TEST(OutboundPost, KeepsTheCallersContentType) {
  TinyServer server(kOk);
  auto answer =
      PostOutbound({.url = server.Url(), .headers = {{"Content-Type", "text/plain"}}, .body = "hi"},
                   kPrivateAllowed);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(server.received().at(0).headers["content-type"], "text/plain");
}

TEST(OutboundPost, ReachesANameThroughItsPinnedAddresses) {
  TinyServer server(kOk);
  std::string url = "http://localhost:" + std::to_string(server.port()) + "/hook";
  auto answer = PostOutbound({.url = url, .body = "{}"}, kPrivateAllowed);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(server.received().at(0).headers["host"], "localhost:" + std::to_string(server.port()));
}

TEST(OutboundPost, RefusesLoopbackWithoutConnecting) {
  TinyServer server(kOk);
  for (std::string url : {server.Url(), "http://127.1:" + std::to_string(server.port()) + "/",
                          "http://localhost:" + std::to_string(server.port()) + "/",
                          "http://[::ffff:127.0.0.1]:" + std::to_string(server.port()) + "/"}) {
    auto answer = PostOutbound({.url = url, .body = "{}"}, kPublicOnly);
    ASSERT_FALSE(answer.ok()) << url;
    EXPECT_EQ(answer.error().kind, ErrorKind::kForbidden) << url;
    EXPECT_EQ(answer.error().code, "webhook_url_not_allowed") << url;
  }
  EXPECT_EQ(server.connections(), 0);
}

TEST(OutboundPost, RefusesANameThatResolvesToAPrivateAddress) {
  // This machine's own name usually resolves to 127.0.1.1 (Debian) or a private container
  // address: a name, not a literal, so only the lookup can refuse it.
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 ||
      !CheckOutboundUrl(std::string("http://") + name, kPublicOnly).ok()) {
    GTEST_SKIP() << "no usable host name";
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(name, nullptr, &hints, &found) != 0) GTEST_SKIP() << name << " does not resolve";
  bool any_private = false;
  std::vector<std::string> resolved;
  for (addrinfo* a = found; a; a = a->ai_next) {
    IpAddress ip;
    if (a->ai_family == AF_INET) {
      ip.bytes[10] = ip.bytes[11] = 0xff;
      std::memcpy(ip.bytes.data() + 12, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, 4);
    } else {
      std::memcpy(ip.bytes.data(), &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
    }
    any_private = any_private || !IsPublicAddress(ip);
    resolved.push_back(FormatIp(ip));
  }
  freeaddrinfo(found);
  if (!any_private) GTEST_SKIP() << name << " resolves only to public addresses";
  Status at_creation = CheckOutboundDestination(std::string("http://") + name + "/", kPublicOnly);
  ASSERT_FALSE(at_creation.ok());
  EXPECT_EQ(at_creation.error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(at_creation.error().code, "webhook_url_not_allowed");
  EXPECT_TRUE(CheckOutboundDestination(std::string("http://") + name + "/", kPrivateAllowed).ok());
  auto answer =
      PostOutbound({.url = std::string("http://") + name + ":1/", .body = "{}"}, kPublicOnly);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().kind, ErrorKind::kForbidden);
  EXPECT_EQ(answer.error().code, "webhook_url_not_allowed");
  EXPECT_NE(answer.error().message.find("resolves to"), std::string::npos)
      << answer.error().message;
  // The private address itself is not told to whoever typed the name.
  for (const auto& ip : resolved) {
    EXPECT_EQ(answer.error().message.find(ip), std::string::npos) << answer.error().message;
    EXPECT_EQ(at_creation.error().message.find(ip), std::string::npos);
  }
}

TEST(OutboundPost, ReturnsAFailureStatusWithItsRetryAfter) {
  TinyServer server(
      "HTTP/1.1 503 Service Unavailable\r\nretry-after:  120 \r\nContent-Length: 4\r\n"
      "Connection: close\r\n\r\nbusy");
  auto answer = PostOutbound({.url = server.Url(), .body = "{}"}, kPrivateAllowed);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 503);
  EXPECT_EQ(answer->body, "busy");
  EXPECT_EQ(answer->retry_after, "120");
}

TEST(OutboundPost, DoesNotFollowRedirects) {
  TinyServer target(kOk);
  TinyServer server("HTTP/1.1 307 Temporary Redirect\r\nLocation: " + target.Url() +
                    "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  auto answer = PostOutbound({.url = server.Url(), .body = "{}"}, kPrivateAllowed);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 307);
  EXPECT_EQ(server.received().size(), 1u);
  EXPECT_EQ(target.connections(), 0);
}

TEST(OutboundPost, KeepsOnlyTheFirst64KiBOfTheAnswer) {
  std::string big(200 * 1024, 'b');
  TinyServer server("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) +
                    "\r\nConnection: close\r\n\r\n" + big);
  auto answer = PostOutbound({.url = server.Url(), .body = "{}"}, kPrivateAllowed);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, big.substr(0, 64 * 1024));
}

TEST(OutboundPost, GivesUpWhenNoAnswerComesInTime) {
  TinyServer server("", /*hang=*/true);
  auto start = std::chrono::steady_clock::now();
  auto answer =
      PostOutbound({.url = server.Url(), .body = "{}", .timeout_seconds = 1}, kPrivateAllowed);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(answer.error().code, "upstream_unreachable");
  EXPECT_LT(took, std::chrono::seconds(4));
  EXPECT_EQ(server.received().size(), 1u);
}

TEST(OutboundPost, ConnectionRefusedIsUnreachable) {
  int port;
  {
    TinyServer closed(kOk);
    port = closed.port();
  }
  auto answer = PostOutbound(
      {.url = "http://127.0.0.1:" + std::to_string(port) + "/", .body = "{}"}, kPrivateAllowed);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(answer.error().code, "upstream_unreachable");
}

}  // namespace gh
