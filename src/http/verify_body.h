// The body of POST /v1/keys/verify, the gateway's hot path: a fast reader for the usual shape
// and the general JSON reader for everything else.
#pragma once

#include <optional>
#include <string_view>

#include "core/result.h"
#include "http/json_body.h"
#include "http/request.h"

namespace gh::http {

// The fields of a verify body. The views point into the request body or into `holder`.
struct VerifyBody {
  std::optional<std::string_view> key, endpoint, method, ip;
};

// The verify body in its usual shape: a flat object of string fields without escapes or
// non-ASCII bytes, each of key/endpoint/method/ip at most once. Anything else (escapes, other
// types, unknown or repeated fields, malformed JSON) returns nullopt and takes the general
// parser, which gives the precise problem (a repeated field: 400 `duplicate_key`, since a
// gateway that read the first value must not be answered about the last). This is the
// gateway's hot path: no allocation.
std::optional<VerifyBody> ParsePlainVerifyBody(std::string_view b);

// The verify body through the general parser: exact problems for every malformed shape.
// `holder` keeps the parsed JSON alive for the returned views.
Result<VerifyBody> ParseVerifyBody(const Request& req, Json& holder);

}  // namespace gh::http
