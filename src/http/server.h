// The HTTP/1.1 server (Boost.Beast, C++20 coroutines): keep-alive and pipelining, header and
// per-route body limits, header, body and idle timeouts, a cap on open connections (the idle
// ones make room for newcomers, see ConnectionTable), graceful shutdown on SIGINT/SIGTERM.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/net.h"
#include "http/routes.h"

namespace gh::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  int threads = 0;                        // I/O threads; 0: one per core
  // A request's headers must be complete this long after the connection was accepted (first
  // request) or after their first byte arrived (later ones): slowloris gets nowhere.
  int header_timeout_seconds = 10;
  int idle_timeout_seconds = 60;  // keep-alive connections with nothing to say
  int body_timeout_seconds = 60;  // a request body to arrive, and each write of an answer
  // Open connections at most; 0: derived from the descriptor limit (DefaultMaxConnections).
  int max_connections = 0;
  size_t header_limit = 16 * 1024;
  // Peers whose X-Forwarded-For names the client (see ClientAddress); empty: none.
  std::vector<Cidr> trusted_proxies;
  // Called once the socket listens, with the base URL actually bound.
  std::function<void(const std::string& url)> on_listening;
};

// Serves until SIGINT or SIGTERM, then finishes requests in flight and returns 0. Returns 1
// when the address cannot be bound.
int Serve(App& app, const ServerOptions& options);

}  // namespace gh::http
