// The server's own request and response types: what handlers see. Beast stays inside
// server.cpp, so that the rest of http/ compiles fast.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/model.h"
#include "service/context.h"

namespace gh::http {

struct Route;

struct Request {
  std::string method;
  std::string target;  // as received: path and query
  std::string path;    // percent-decoded path, no query
  std::string query;   // raw query string, no '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote_ip;

  // Filled by the router and the middleware.
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;  // path parameters
  std::string request_id;
  std::optional<Principal> principal;
  std::string session_token;  // when authenticated by cookie
  std::optional<Membership> membership;  // for routes with {ws} and a permission

  // The first header with this (lower-case) name, or "".
  std::string_view Header(std::string_view name) const;
  // A path parameter by name, or "".
  const std::string& Param(std::string_view name) const;
  // A decoded query parameter, or nullopt when absent.
  std::optional<std::string> QueryParam(std::string_view name) const;
  // A cookie by name, or "".
  std::string Cookie(std::string_view name) const;
  ClientInfo Client() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // A streamed body (sent chunked) instead of `body`: the server calls it for the next piece
  // until it returns false, and stops calling it if the client goes away. It may block on the
  // store; each piece should be small (a batch of rows), so that memory stays flat.
  std::function<bool(std::string& chunk)> stream;

  Response& Header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Percent-decodes `s` ('+' stays '+' unless `plus_is_space`). nullopt on a broken escape.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space = false);

}  // namespace gh::http
