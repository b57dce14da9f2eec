// The yardstick for the HTTP figures: the smallest Boost.Beast server that answers every
// request with a constant JSON body (one I/O thread, keep-alive, C++20 coroutines). What it
// does on a machine is the ceiling for any route of gatehouse there, so bench/run.sh measures
// it first and the verify figure can be read against it.
//   baseline_server 127.0.0.1 8089
#include <utility>  // before asio: its awaitable.hpp uses std::exchange without it (Boost 1.81)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

net::awaitable<void> Serve(tcp::socket socket) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    http::request<http::string_body> req;
    co_await http::async_read(socket, buffer, req, net::redirect_error(net::use_awaitable, ec));
    if (ec) break;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.keep_alive(req.keep_alive());
    res.body() = R"({"valid":true,"code":"VALID"})";
    res.prepare_payload();
    co_await http::async_write(socket, res, net::redirect_error(net::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

net::awaitable<void> Listen(tcp::acceptor acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(net::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    net::co_spawn(acceptor.get_executor(), Serve(std::move(socket)), net::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: baseline_server ADDRESS PORT\n");
    return 2;
  }
  net::io_context io{1};
  tcp::endpoint at{net::ip::make_address(argv[1]),
                   static_cast<unsigned short>(std::atoi(argv[2]))};
  net::co_spawn(io, Listen(tcp::acceptor{io, at}), net::detached);
  std::printf("baseline server on http://%s:%s\n", argv[1], argv[2]);
  std::fflush(stdout);
  io.run();
}
