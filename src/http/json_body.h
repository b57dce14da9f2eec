// JSON at the HTTP edge: reading request bodies strictly and writing responses and RFC 9457
// problems.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "core/result.h"
#include "http/request.h"

namespace gh::http {

using Json = nlohmann::json;

// Parses the body as a JSON object whose keys are all in `allowed`. Errors: 415 when the
// content type is not JSON, 400 `malformed_json` / `invalid_utf8`, 400 `duplicate_key` (an
// object at any depth naming a key twice; the field is its path), 422 `unknown_field`.
// An empty body is read as {} so that routes with only optional fields accept it.
Result<Json> ParseObject(const Request& req, std::initializer_list<std::string_view> allowed);

// Reads typed fields from a parsed object, remembering the first error.
class Fields {
 public:
  explicit Fields(const Json& j) : j_(j) {}
  std::optional<std::string> Str(const char* key);
  // Like Str, but a missing or null field is an error (422 `required`).
  std::optional<std::string> RequiredStr(const char* key);
  std::optional<int64_t> Int(const char* key);
  bool ok() const { return !error_; }
  const Error& error() const { return *error_; }

 private:
  void Fail(Error e) {
    if (!error_) error_ = std::move(e);
  }
  const Json& j_;
  std::optional<Error> error_;
};

Response JsonResponse(int status, const Json& body);
// 204 with no body.
Response NoContent();

// For hand-rendered hot responses (core/json_text.h).
using gh::AppendJsonString;
// A problem+json response for `e`; `instance` is the request path.
Response Problem(const Error& e, const Request& req);
int StatusOf(ErrorKind kind);

}  // namespace gh::http
