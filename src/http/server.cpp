// Only this file (and nothing that includes it) sees Boost.Beast and Asio.
#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <list>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "core/time.h"
#include "http/metrics.h"
#include "http/server.h"
#include "store/sql/sql_db.h"

namespace gh::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

// Per-thread cache of the Date header, rebuilt once a second.
const std::string& DateHeader() {
  thread_local UnixTime cached_at = 0;
  thread_local std::string value;
  UnixTime now = Clock::System().Now();
  if (now != cached_at) {
    cached_at = now;
    value = FormatHttpDate(now);
  }
  return value;
}

struct Connection {
  explicit Connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  std::atomic<bool> idle{true};
};

struct Shared {
  App& app;
  const ServerOptions& options;
  net::io_context& ioc;
  int threads = 1;
  net::thread_pool slow_pool{2};
  // Requests that wait for a group commit (Route::group_commit); as many as may share one.
  net::thread_pool group_pool{32};
  std::atomic<bool> draining{false};
  std::mutex mu;
  std::list<std::weak_ptr<Connection>> connections;
  std::mutex log_mu;
};

// The request as handlers see it. Its remote_ip is the client's address: the socket peer's,
// or, behind a trusted proxy, the one X-Forwarded-For names (the one place it is decided, so
// that audit events, sessions, login throttling and allowlists all see the same address).
Request ToRequest(const bhttp::request<bhttp::string_body>& in, const std::string& remote_ip,
                  const std::vector<Cidr>& trusted_proxies) {
  Request req;
  req.method = std::string(in.method_string());
  req.target = std::string(in.target());
  size_t q = req.target.find('?');
  std::string_view raw_path = std::string_view(req.target).substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  auto decoded = PercentDecode(raw_path);
  req.path = decoded && decoded->find('\0') == std::string::npos ? *decoded : std::string();
  req.headers.reserve(16);
  for (const auto& f : in) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  if (trusted_proxies.empty()) {
    req.remote_ip = remote_ip;  // the common case: no header is looked at
    return req;
  }
  std::vector<std::string_view> forwarded;
  for (const auto& [name, value] : req.headers) {
    if (name == "x-forwarded-for") forwarded.push_back(value);
  }
  req.remote_ip = ClientAddress(remote_ip, forwarded, trusted_proxies);
  return req;
}

// Appends a header value with any CR or LF replaced: no value can split the response.
void AppendHeaderValue(std::string& out, std::string_view v) {
  for (char c : v) out += (c == '\r' || c == '\n') ? ' ' : c;
}

// The whole response as one buffer, written by hand: Beast's serializer cost more than the
// handler of the hottest routes. `head_request`: the headers of the GET, without its body.
std::string Serialize(Response&& res, unsigned version, bool keep_alive,
                      bool head_request = false) {
  std::string out;
  out.reserve(512 + (head_request ? 0 : res.body.size()));
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
  out += "\r\nServer: gatehouse\r\nDate: ";
  out += DateHeader();
  if (!res.content_type.empty()) {
    out += "\r\nContent-Type: ";
    AppendHeaderValue(out, res.content_type);
  }
  for (const auto& [k, v] : SecurityHeaders(res)) {
    out += "\r\n";
    out += k;
    out += ": ";
    out += v;
  }
  for (const auto& [k, v] : res.headers) {
    out += "\r\n";
    AppendHeaderValue(out, k);
    out += ": ";
    AppendHeaderValue(out, v);
  }
  if (version == 10 && keep_alive) out += "\r\nConnection: keep-alive";
  if (version != 10 && !keep_alive) out += "\r\nConnection: close";
  bool bodyless = res.status / 100 == 1 || res.status == 204 || res.status == 304;
  if (!bodyless) {
    out += "\r\nContent-Length: ";
    out += std::to_string(res.body.size());
  }
  out += "\r\n\r\n";
  if (!head_request && !bodyless) out += res.body;
  return out;
}

// A response for a request the parser refused before any handler could see it.
Response EarlyProblem(Request& req, ErrorKind kind, const char* code, const char* detail,
                      int status = 0) {
  if (req.request_id.empty()) req.request_id = RequestIdFor(req);
  Response r = Problem({kind, code, detail, {}}, req);
  if (status) r.status = status;
  FinishResponse(req, r);
  return r;
}

// Counts and logs every answered request, including those refused before dispatch.
void Record(Shared& sh, const Request& req, const Response& res,
            std::chrono::steady_clock::time_point started) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
  Metrics::Global().ObserveRequest(req.method.empty() ? "UNKNOWN" : req.method,
                                   req.route ? req.route->path : "(unmatched)", res.status,
                                   static_cast<double>(micros) / 1e6);
  std::string line = AccessLogLine(req, res, micros);
  line += '\n';
  std::lock_guard lock(sh.log_mu);
  std::fwrite(line.data(), 1, line.size(), stdout);
}

// After refusing a request whose body may still be arriving: stop sending, then read and drop
// what the client still sends (at most 1 MiB, for at most 2 s) before closing. Closing a socket
// with unread data resets the connection, and a client still writing its body gets EPIPE
// before it can read the answer (nginx calls this a lingering close).
net::awaitable<void> DrainBeforeClose(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 16384> scratch;
  size_t total = 0;
  stream.expires_after(std::chrono::seconds(2));
  while (total < (size_t{1} << 20)) {
    total += co_await stream.async_read_some(net::buffer(scratch),
                                             net::redirect_error(net::use_awaitable, ec));
    if (ec) break;
  }
}

net::awaitable<void> ServeConnection(Shared& sh, std::shared_ptr<Connection> conn) {
  auto& stream = conn->stream;
  beast::error_code ec;
  std::string remote_ip;
  {
    auto ep = stream.socket().remote_endpoint(ec);
    if (!ec) {
      auto addr = ep.address();
      if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
        addr = net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6());
      }
      remote_ip = addr.to_string();
    }
  }
  beast::flat_buffer buffer;
  const auto header_timeout = std::chrono::seconds(sh.options.header_timeout_seconds);
  const auto idle_timeout = std::chrono::seconds(sh.options.idle_timeout_seconds);

  bool linger = false;  // the last answer refused a request that may still be arriving
  while (!sh.draining) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(sh.options.header_limit));
    parser.body_limit(~std::uint64_t{0});  // the route's limit is applied once it is known
    conn->idle = buffer.size() == 0;
    stream.expires_after(conn->idle ? idle_timeout : header_timeout);
    co_await bhttp::async_read_header(stream, buffer, parser,
                                      net::redirect_error(net::use_awaitable, ec));
    conn->idle = false;
    auto started = std::chrono::steady_clock::now();
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
          ec == beast::error::timeout || ec == net::error::operation_aborted ||
          ec == net::error::connection_reset) {
        break;
      }
      // A request we cannot parse: answer once, then close.
      Request bad;
      bad.remote_ip = remote_ip;
      Response r = ec == bhttp::error::header_limit
                       ? EarlyProblem(bad, ErrorKind::kBadRequest, "headers_too_large",
                                      "The request headers exceed 16 KiB.", 431)
                       : EarlyProblem(bad, ErrorKind::kBadRequest, "malformed_request",
                                      "The HTTP request could not be parsed.");
      Record(sh, bad, r, started);
      auto out = Serialize(std::move(r), 11, false);
      co_await net::async_write(stream, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
      linger = !ec;
      break;
    }

    auto& head = parser.get();
    Request req = ToRequest(head, remote_ip, sh.options.trusted_proxies);
    Match m = sh.app.router.Find(req.method, req.path);
    size_t limit = m.route ? m.route->body_limit : 64 * 1024;
    bool too_large = parser.content_length() && *parser.content_length() > limit;
    // An upload answers file_too_large, any other body body_too_large.
    bool upload = m.route && m.route->body_type == "multipart/form-data";
    auto too_large_problem = [&] {
      req.route = m.route;
      return upload ? EarlyProblem(req, ErrorKind::kTooLarge, "file_too_large",
                                   "The file exceeds this endpoint's limit.")
                    : EarlyProblem(req, ErrorKind::kTooLarge, "body_too_large",
                                   "The request body exceeds this endpoint's limit.");
    };
    if (too_large) {
      Response r = too_large_problem();
      Record(sh, req, r, started);
      auto out = Serialize(std::move(r), head.version(), false);
      co_await net::async_write(stream, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
      linger = !ec;
      break;
    }
    parser.body_limit(limit);
    if (!parser.is_done()) {
      if (bhttp::token_list(head[bhttp::field::expect]).exists("100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, head.version()};
        co_await bhttp::async_write(stream, cont, net::redirect_error(net::use_awaitable, ec));
        if (ec) break;
      }
      stream.expires_after(header_timeout);
      co_await bhttp::async_read(stream, buffer, parser,
                                 net::redirect_error(net::use_awaitable, ec));
      if (ec == bhttp::error::body_limit) {
        Response r = too_large_problem();
        Record(sh, req, r, started);
        auto out = Serialize(std::move(r), head.version(), false);
        co_await net::async_write(stream, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
        linger = !ec;
        break;
      }
      if (ec) break;
    }
    req.body = std::move(parser.get().body());
    if (req.path.empty()) {
      req.route = nullptr;
    } else {
      req.route = m.route;
      req.params = std::move(m.params);
    }

    Response res;
    if (req.path.empty()) {
      res = EarlyProblem(req, ErrorKind::kBadRequest, "malformed_path",
                         "The request path is not valid.");
    } else if (req.route && req.route->slow) {
      // CPU-heavy work (argon2id) must not stall the connections sharing this I/O thread.
      res = co_await net::co_spawn(
          sh.slow_pool,
          [&]() -> net::awaitable<Response> { co_return Dispatch(sh.app, req); },
          net::use_awaitable);
    } else if (req.route && req.route->group_commit) {
      res = co_await net::co_spawn(
          sh.group_pool,
          [&]() -> net::awaitable<Response> { co_return Dispatch(sh.app, req); },
          net::use_awaitable);
    } else {
      res = Dispatch(sh.app, req);
    }
    bool keep_alive = parser.get().keep_alive() && !sh.draining;
    Record(sh, req, res, started);
    if (res.stream && req.method != "HEAD") {
      // A streamed body goes out chunked, one producer piece per chunk; HTTP/1.0 has no
      // chunks, so there the body simply ends with the connection.
      auto produce = std::move(res.stream);
      bool chunked = parser.get().version() >= 11;
      if (!chunked) keep_alive = false;
      bhttp::response<bhttp::empty_body> out{static_cast<bhttp::status>(res.status),
                                             parser.get().version()};
      out.set(bhttp::field::server, "gatehouse");
      out.set(bhttp::field::date, DateHeader());
      out.set(bhttp::field::content_type, res.content_type);
      for (const auto& [k, v] : SecurityHeaders(res)) out.insert(k, v);
      for (const auto& [k, v] : res.headers) out.insert(k, v);
      out.keep_alive(keep_alive);
      out.chunked(chunked);
      bhttp::response_serializer<bhttp::empty_body> sr{out};
      stream.expires_after(header_timeout);
      co_await bhttp::async_write_header(stream, sr, net::redirect_error(net::use_awaitable, ec));
      bool complete = false;
      std::string chunk;
      while (!ec) {
        bool more = false;
        try {
          more = produce(chunk);
        } catch (const std::exception& e) {
          // Too late for a problem response: end the connection without the last chunk, so
          // that the client sees a truncated body rather than a complete one.
          log::Error("stream failed", {{"request_id", req.request_id}, {"error", e.what()}});
          break;
        }
        if (!chunk.empty()) {
          stream.expires_after(header_timeout);
          if (chunked) {
            co_await net::async_write(stream, bhttp::make_chunk(net::buffer(chunk)),
                                      net::redirect_error(net::use_awaitable, ec));
          } else {
            co_await net::async_write(stream, net::buffer(chunk),
                                      net::redirect_error(net::use_awaitable, ec));
          }
        }
        if (!more) {
          complete = true;
          break;
        }
      }
      if (complete && chunked && !ec) {
        co_await net::async_write(stream, bhttp::make_chunk_last(),
                                  net::redirect_error(net::use_awaitable, ec));
      }
      if (ec || !complete || !keep_alive) break;
      continue;
    }
    auto out = Serialize(std::move(res), parser.get().version(), keep_alive, req.method == "HEAD");
    stream.expires_after(header_timeout);
    co_await net::async_write(stream, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  if (linger) co_await DrainBeforeClose(stream);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
}

net::awaitable<void> Accept(Shared& sh, tcp::acceptor& acceptor) {
  while (!sh.draining) {
    beast::error_code ec;
    // A connection's coroutine, its timer and the drain signal need a strand only when several
    // threads run the io_context; with one, the strand is pure overhead.
    net::any_io_executor executor = sh.threads == 1 ? net::any_io_executor(sh.ioc.get_executor())
                                                    : net::any_io_executor(net::make_strand(sh.ioc));
    tcp::socket socket = co_await acceptor.async_accept(
        executor, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (sh.draining || ec == net::error::operation_aborted) break;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket));
    {
      std::lock_guard lock(sh.mu);
      sh.connections.remove_if([](const auto& w) { return w.expired(); });
      sh.connections.push_back(conn);
    }
    auto conn_executor = conn->stream.get_executor();
    net::co_spawn(conn_executor, ServeConnection(sh, std::move(conn)), net::detached);
  }
}

// Splits "host:port" / "[v6]:port".
bool ParseListen(const std::string& listen, std::string& host, uint16_t& port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  try {
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}

}  // namespace

int Serve(App& app, const ServerOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string host;
  uint16_t port = 0;
  if (!ParseListen(options.listen, host, port)) {
    std::fprintf(stderr, "gatehouse: --listen must be host:port, not '%s'\n",
                 options.listen.c_str());
    return 1;
  }
  int threads = options.threads > 0 ? options.threads
                                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  net::io_context ioc(threads);
  Shared sh{app, options, ioc, threads};
  sql::SetQueryObserver(
      [](const char* backend, double seconds) { Metrics::Global().ObserveStore(backend, seconds); });

  tcp::acceptor acceptor(ioc);
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    std::fprintf(stderr, "gatehouse: cannot listen on '%s': not an IP address\n", host.c_str());
    return 1;
  }
  tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "gatehouse: cannot listen on %s: %s\n", options.listen.c_str(),
                 ec.message().c_str());
    return 1;
  }
  auto bound = acceptor.local_endpoint();
  std::string bound_host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                                   : bound.address().to_string();
  if (options.on_listening) {
    options.on_listening("http://" + bound_host + ":" + std::to_string(bound.port()));
  }

  net::co_spawn(ioc, Accept(sh, acceptor), net::detached);

  // The access log is flushed every second (background jobs are main's, see Lifecycle).
  net::steady_timer flush_timer(ioc);
  std::function<void()> schedule_flush = [&] {
    flush_timer.expires_after(std::chrono::seconds(1));
    flush_timer.async_wait([&](beast::error_code wait_ec) {
      if (wait_ec) return;
      {
        std::lock_guard lock(sh.log_mu);
        std::fflush(stdout);
      }
      schedule_flush();
    });
  };
  schedule_flush();

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  net::steady_timer hard_stop(ioc);
  net::steady_timer drain_poll(ioc);
  // Polls until every connection has ended, then cancels the hard stop so that run() returns.
  std::function<void()> wait_for_connections = [&] {
    drain_poll.expires_after(std::chrono::milliseconds(20));
    drain_poll.async_wait([&](beast::error_code wait_ec) {
      if (wait_ec) return;
      std::lock_guard lock(sh.mu);
      sh.connections.remove_if([](const auto& w) { return w.expired(); });
      if (sh.connections.empty()) {
        hard_stop.cancel();
      } else {
        wait_for_connections();
      }
    });
  };
  signals.async_wait([&](beast::error_code sig_ec, int) {
    if (sig_ec) return;
    sh.draining = true;
    acceptor.close(ec);
    flush_timer.cancel();
    {
      std::lock_guard lock(sh.mu);
      for (auto& weak : sh.connections) {
        if (auto conn = weak.lock()) {
          net::post(conn->stream.get_executor(), [conn] {
            if (conn->idle) conn->stream.cancel();
          });
        }
      }
    }
    // Requests in flight get a grace period; then everything stops.
    hard_stop.expires_after(std::chrono::seconds(10));
    hard_stop.async_wait([&](beast::error_code wait_ec) {
      if (!wait_ec) ioc.stop();
      drain_poll.cancel();
    });
    wait_for_connections();
  });

  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  sh.slow_pool.join();
  sh.group_pool.join();
  std::fflush(stdout);
  return 0;
}

}  // namespace gh::http
