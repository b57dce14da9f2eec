// Result<T>: the value of a fallible domain call, or the Error that stopped it.
//
// Expected failures (validation, not found, conflicts) travel as values; the HTTP layer turns
// an Error into an RFC 9457 problem in one place. Exceptions are kept for bugs and for
// unrecoverable states such as a lost database.
#pragma once

#include <string>
#include <utility>
#include <vector>
#include <utility>
#include <variant>

namespace gh {

// What kind of failure an Error is; the HTTP layer maps each kind to one status code.
enum class ErrorKind {
  kBadRequest,        // 400: malformed request
  kUnauthenticated,   // 401
  kPaymentRequired,   // 402: plan limit
  kForbidden,         // 403
  kNotFound,          // 404: missing or not visible to the caller
  kMethodNotAllowed,  // 405
  kConflict,          // 409
  kGone,              // 410
  kTooLarge,          // 413
  kUnsupportedMedia,  // 415
  kInvalid,           // 422: validation
  kRateLimited,       // 429
  kBadGateway,        // 502: a service Gatehouse called answered with a refusal
  kUnavailable,       // 503
  kInternal,          // 500
};

// A failure with a stable machine `code` (e.g. "invalid_email"), a human message, and the
// request field at fault when there is one.
struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string code;
  std::string message;
  std::string field;
  int retry_after_seconds = 0;  // for kRateLimited
  // Further members of the problem body, as strings ({"sso_url", "…"} with sso_required).
  std::vector<std::pair<std::string, std::string>> extensions = {};

  static Error Invalid(std::string code, std::string field, std::string message) {
    return {ErrorKind::kInvalid, std::move(code), std::move(message), std::move(field)};
  }
  static Error NotFound(std::string what = "resource") {
    return {ErrorKind::kNotFound, "not_found", "The " + what + " does not exist.", {}};
  }
  static Error Conflict(std::string code, std::string message, std::string field = {}) {
    return {ErrorKind::kConflict, std::move(code), std::move(message), std::move(field)};
  }
  static Error Forbidden(std::string message) {
    return {ErrorKind::kForbidden, "forbidden", std::move(message), {}};
  }
  static Error Unauthenticated(std::string code, std::string message) {
    return {ErrorKind::kUnauthenticated, std::move(code), std::move(message), {}};
  }
  static Error BadRequest(std::string code, std::string message, std::string field = {}) {
    return {ErrorKind::kBadRequest, std::move(code), std::move(message), std::move(field)};
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace gh
