// Outgoing HTTP for the OIDC/OAuth back channel (discovery, JWKS, token exchange, userinfo):
// libcurl, blocking, bounded in time and size, no redirects followed, http(s) only. Callers
// run it off the I/O threads (routes marked slow) and check the URL's scheme and host first
// (sso::IsAllowedEndpoint).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gh {

struct HttpCall {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // POST only
  long timeout_seconds = 10;
  size_t max_response_bytes = 1 << 20;
};

struct HttpAnswer {
  long status = 0;
  std::string content_type;
  std::string body;
};

// The answer, whatever its status; an Error (kind kUnavailable, code "upstream_unreachable")
// only when no HTTP answer came (connection refused, timeout, too large, not http(s)).
Result<HttpAnswer> Fetch(const HttpCall& call);

// application/x-www-form-urlencoded of the pairs, in order.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace gh
