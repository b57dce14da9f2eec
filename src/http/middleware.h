// The middleware around every handler: request id, authentication, CSRF, workspace permission,
// idempotency, problem+json, and what every response and access log line carries.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.h"
#include "http/request.h"

namespace gh {
class Store;
}  // namespace gh

namespace gh::http {

struct App;

// The request's id: a caller-supplied X-Request-Id when it is short and plain, else a new one.
std::string RequestIdFor(const Request& req);

// Runs the request through the middleware and its handler. Never throws.
Response Dispatch(App& app, Request& req);

// Idempotency-Key answers (and reservations a crash left behind) are kept this long.
inline constexpr UnixTime kIdempotencyKeyLifetime = 24 * 3600;
// Deletes the answers older than kIdempotencyKeyLifetime, in transactions of 1,000 rows;
// returns how many. `gatehouse serve` runs it at start and then hourly.
int64_t PurgeIdempotencyKeys(Store& store, UnixTime now);

// Request id and cache policy that every response carries (no-store unless set).
void FinishResponse(const Request& req, Response& res);
// The security headers every response carries; the server adds them when writing.
const std::vector<std::pair<std::string_view, std::string_view>>& SecurityHeaders(
    const Response& res);

// One JSON line for the access log (no secrets: no cookies, bodies or tokens).
std::string AccessLogLine(const Request& req, const Response& res, int64_t micros);

}  // namespace gh::http
