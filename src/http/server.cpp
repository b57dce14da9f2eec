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
#include "http/connection_table.h"
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

// One client connection, listed in the server's ConnectionTable from accept to destruction.
struct Connection final : ConnectionTable::Slot, std::enable_shared_from_this<Connection> {
  Connection(tcp::socket s, ConnectionTable& t) : stream(std::move(s)), table(t) {}
  ~Connection() override { table.Remove(*this); }

  // Cancels the pending read or write (all of them, or only a wait for a request that has not
  // begun) on the connection's strand; its coroutine then ends and closes the socket. Holds
  // only a weak reference until then: this is called under the table's lock, which
  // ~Connection takes too, so dropping the last strong reference here would deadlock.
  void CancelOnStrand(bool only_idle) {
    net::post(stream.get_executor(), [weak = weak_from_this(), only_idle] {
      auto self = weak.lock();
      if (self && (!only_idle || self->idle)) self->stream.cancel();
    });
  }

  beast::tcp_stream stream;
  ConnectionTable& table;
  std::atomic<bool> idle{true};  // waiting for a request with nothing of it received

 protected:
  void Evict() override { CancelOnStrand(/*only_idle=*/false); }
};

struct Shared {
  App& app;
  const ServerOptions& options;
  net::io_context& ioc;
  ConnectionTable& table;
  int threads = 1;
  net::thread_pool slow_pool{2};
  // Requests that wait for a group commit (Route::group_commit); as many as may share one.
  net::thread_pool group_pool{32};
  std::atomic<bool> draining{false};
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
                      int status = 0, const char* field = "") {
  if (req.request_id.empty()) req.request_id = RequestIdFor(req);
  Response r = Problem({kind, code, detail, field}, req);
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

// The answer to headers Beast could not parse; `partial` holds the fields before the fault.
Response UnparsedProblem(Request& bad, const beast::error_code& ec,
                         const bhttp::request_header<>& partial) {
  if (ec == bhttp::error::header_limit) {
    return EarlyProblem(bad, ErrorKind::kBadRequest, "headers_too_large",
                        "The request headers exceed 16 KiB.", 431);
  }
  // Content-Length then Transfer-Encoding, or chunked then Content-Length.
  if (ec == bhttp::error::bad_transfer_encoding ||
      (ec == bhttp::error::bad_content_length && partial.count(bhttp::field::transfer_encoding))) {
    return EarlyProblem(bad, ErrorKind::kBadRequest, "invalid_transfer_encoding",
                        "Transfer-Encoding must be exactly 'chunked', without Content-Length.", 0,
                        "Transfer-Encoding");
  }
  return EarlyProblem(bad, ErrorKind::kBadRequest, "malformed_request",
                      "The HTTP request could not be parsed.");
}

// Why a request's framing is refused, or nullptr. A body is delimited by Content-Length or by
// `Transfer-Encoding: chunked` alone: any other coding (`xchunked`, `gzip, chunked`), several
// Transfer-Encoding fields, or both framings at once are what request smuggling is made of, so
// they are refused rather than guessed at (RFC 9112 6.1, 6.3). Beast catches some of these.
const char* FramingProblem(const bhttp::request_header<>& head) {
  size_t codings = 0;
  bool chunked = false;
  for (const auto& f : head) {
    if (f.name() != bhttp::field::transfer_encoding) continue;
    ++codings;
    chunked = beast::iequals(f.value(), "chunked");
  }
  if (codings == 0) return nullptr;
  if (codings > 1 || !chunked) return "Transfer-Encoding must be exactly 'chunked'.";
  if (head.count(bhttp::field::content_length)) {
    return "A request may not carry both Transfer-Encoding and Content-Length.";
  }
  return nullptr;
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
  const auto body_timeout = std::chrono::seconds(sh.options.body_timeout_seconds);

  bool linger = false;  // the last answer refused a request that may still be arriving
  for (bool first = true; !sh.draining; first = false) {
    if (!first) {
      if (!sh.table.Enter(*conn, ConnectionPhase::kAwaitingNextRequest)) break;
      if (buffer.size() == 0) {
        // Keep-alive: the next request may take idle_timeout to begin, then header_timeout.
        conn->idle = true;
        stream.expires_after(idle_timeout);
        size_t n = co_await stream.async_read_some(buffer.prepare(16 * 1024),
                                                   net::redirect_error(net::use_awaitable, ec));
        buffer.commit(n);
        if (ec) break;
      }
    }
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(sh.options.header_limit));
    parser.body_limit(~std::uint64_t{0});  // the route's limit is applied once it is known
    conn->idle = buffer.size() == 0;
    // A new connection's headers are due header_timeout after the accept, a later request's
    // after its first byte: either way one deadline for the whole header, however it trickles.
    stream.expires_after(header_timeout);
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
      Response r = UnparsedProblem(bad, ec, parser.get());
      Record(sh, bad, r, started);
      auto out = Serialize(std::move(r), 11, false);
      stream.expires_after(body_timeout);
      co_await net::async_write(stream, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
      linger = !ec;
      break;
    }

    auto& head = parser.get();
    Request req = ToRequest(head, remote_ip, sh.options.trusted_proxies);
    if (const char* framing = FramingProblem(head)) {
      Response r = EarlyProblem(req, ErrorKind::kBadRequest, "invalid_transfer_encoding", framing,
                                0, "Transfer-Encoding");
      Record(sh, req, r, started);
      auto out = Serialize(std::move(r), head.version(), false);
      stream.expires_after(body_timeout);
      co_await net::async_write(stream, net::buffer(out),
                                net::redirect_error(net::use_awaitable, ec));
      linger = !ec;
      break;
    }
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
      stream.expires_after(body_timeout);
      co_await net::async_write(stream, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
      linger = !ec;
      break;
    }
    parser.body_limit(limit);
    if (!parser.is_done()) {
      if (!sh.table.Enter(*conn, ConnectionPhase::kReadingBody)) break;
      stream.expires_after(body_timeout);
      if (bhttp::token_list(head[bhttp::field::expect]).exists("100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, head.version()};
        co_await bhttp::async_write(stream, cont, net::redirect_error(net::use_awaitable, ec));
        if (ec) break;
      }
      co_await bhttp::async_read(stream, buffer, parser,
                                 net::redirect_error(net::use_awaitable, ec));
      if (ec == bhttp::error::body_limit) {
        Response r = too_large_problem();
        Record(sh, req, r, started);
        auto out = Serialize(std::move(r), head.version(), false);
        stream.expires_after(body_timeout);
        co_await net::async_write(stream, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
        linger = !ec;
        break;
      }
      if (ec) break;
    }
    if (!sh.table.Enter(*conn, ConnectionPhase::kBusy)) break;
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
      stream.expires_after(body_timeout);
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
          stream.expires_after(body_timeout);
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
    stream.expires_after(body_timeout);
    co_await net::async_write(stream, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  if (linger) co_await DrainBeforeClose(stream);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
}

// Logs at most once per 10 s (per call site), with how often it was suppressed meanwhile.
class Throttled {
 public:
  template <typename F>
  void operator()(F&& write) {
    auto now = std::chrono::steady_clock::now();
    ++count_;
    if (now - last_ < std::chrono::seconds(10)) return;
    last_ = now;
    write(count_);
    count_ = 0;
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  int64_t count_ = 0;
};

bool OutOfDescriptors(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
         ec == net::error::no_memory || ec == beast::errc::too_many_files_open_in_system;
}

// Accepts until the server drains. When accept fails for want of descriptors (or memory) it
// does not retry at once, which would spin on the pending connection: it closes the idle
// connections waiting the longest, lowers the cap to what the descriptors allow, and waits a
// moment (10 ms, or 100 ms when nothing could be closed) before accepting again.
net::awaitable<void> Accept(Shared& sh, tcp::acceptor& acceptor) {
  net::steady_timer backoff(co_await net::this_coro::executor);
  Throttled exhausted_log, full_log;
  uint64_t evictions_logged = 0;
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
      if (ec == net::error::connection_aborted) continue;  // that client left; next
      auto pause = std::chrono::milliseconds(100);
      if (OutOfDescriptors(ec)) {
        size_t evicted = sh.table.ShrinkAfterDescriptorExhaustion();
        if (evicted) pause = std::chrono::milliseconds(10);
        exhausted_log([&](int64_t times) {
          log::Warn("descriptor limit reached; closing the longest idle connections",
                    {{"error", ec.message()},
                     {"times", times},
                     {"open_connections", static_cast<int64_t>(sh.table.size())},
                     {"max_connections", static_cast<int64_t>(sh.table.capacity())}});
        });
      }
      backoff.expires_after(pause);
      co_await backoff.async_wait(net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket), sh.table);
    if (!sh.table.Admit(*conn)) continue;  // every connection is busy: this one is closed
    if (uint64_t evictions = sh.table.evictions(); evictions != evictions_logged) {
      full_log([&](int64_t) {
        log::Warn("connection limit reached; closing the longest idle connections",
                  {{"evicted", static_cast<int64_t>(evictions - evictions_logged)},
                   {"max_connections", static_cast<int64_t>(sh.table.capacity())}});
        evictions_logged = evictions;
      });
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
  uint64_t descriptor_limit = DescriptorLimit();
  size_t fitting = DefaultMaxConnections(descriptor_limit, DescriptorsOpen());
  size_t max_connections =
      options.max_connections > 0 ? static_cast<size_t>(options.max_connections) : fitting;
  std::fprintf(stderr, "connections: at most %zu (descriptor limit %llu)\n", max_connections,
               static_cast<unsigned long long>(descriptor_limit));
  if (max_connections > fitting) {
    log::Warn(
        "max_connections exceeds what the descriptor limit leaves room for; it will be "
        "lowered when descriptors run out",
        {{"max_connections", static_cast<int64_t>(max_connections)},
         {"descriptor_limit", static_cast<int64_t>(descriptor_limit)}});
  }
  // Declared before the io_context: connections still queued there remove themselves from it
  // when the io_context is destroyed.
  ConnectionTable table(max_connections);
  net::io_context ioc(threads);
  Shared sh{app, options, ioc, table, threads};
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
      if (sh.table.size() == 0) {
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
    sh.table.ForEach([](ConnectionTable::Slot& slot) {
      static_cast<Connection&>(slot).CancelOnStrand(/*only_idle=*/true);
    });
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
