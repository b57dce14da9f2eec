// The route table: every route with its method, path template, access rule and handler, so
// the whole API surface is reviewable in one place and testable by enumeration.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/request.h"

namespace gh::http {

// Translates the request, calls a service and renders its answer. An Error returned here is
// rendered as problem+json by the middleware (RunHandler), in one place for every route.
using Handler = std::function<Result<Response>(Request&)>;

// Who may call a route. Every route says one of these explicitly.
enum class Access {
  kPublic,         // anyone, no credentials
  kOptionalAuth,   // anyone; a signed-in caller is recognised (and CSRF-checked)
  kAuthenticated,  // any signed-in caller, acting on their own account
  kMember,         // any member of {ws}, whatever their role
  kWorkspace,      // a member of {ws} whose role grants `permission`
};

struct Route {
  std::string method;        // GET, POST, PATCH, PUT, DELETE
  std::string path;          // template, e.g. /v1/workspaces/{ws}
  std::string operation_id;  // for OpenAPI and logs
  std::string summary;
  Access access = Access::kPublic;
  std::string permission;  // required with kWorkspace
  size_t body_limit = 64 * 1024;
  std::string body_type = "application/json";  // or multipart/form-data, text/csv, "" for none
  bool slow = false;  // CPU-heavy (password hashing): runs off the I/O threads
  // Waits for a write shared with other requests (the audit log's group commit): runs on the
  // store pool, off the I/O threads, so that waiting requests do not hold a connection's
  // thread and requests arriving meanwhile can join the same transaction.
  bool group_commit = false;
  // The response carries secrets ("key", or the TOTP enrolment's "secret", "otpauth_uri",
  // "qr_svg", "recovery_codes"): an Idempotency-Key replay answers without them, since only
  // hashes of secrets may be stored.
  bool secret_response = false;
  std::string tag;  // OpenAPI grouping
  Handler handler;
};

struct Match {
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;
  std::string allow;  // when the path matched but the method did not: the allowed methods
};

class Router {
 public:
  void Add(Route route);
  // Looks up `method` + decoded `path`; HEAD finds the GET route.
  Match Find(std::string_view method, std::string_view path) const;
  const std::vector<Route>& Routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;  // routes_[i]'s template, split once
};

// Splits "/a/b/c" into {"a","b","c"}; a trailing slash yields an empty last segment.
std::vector<std::string_view> SplitPath(std::string_view path);

}  // namespace gh::http
