// The middleware every request runs through, in order: request id, route lookup,
// authentication (session cookie or API key), CSRF, workspace authorisation, idempotency, the
// handler, problem+json for failures, and the headers every response carries.
#include "http/middleware.h"

#include <cstdio>

#include "core/crypto.h"
#include "core/log.h"
#include "core/time.h"
#include "http/routes.h"

namespace gh::http {
namespace {

bool IsMutating(std::string_view method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

}  // namespace

std::string RequestIdFor(const Request& req) {
  std::string_view in = req.Header("x-request-id");
  bool sane = !in.empty() && in.size() <= 128;
  for (char c : in) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    sane = sane && ok;
  }
  if (sane) return std::string(in);
  // Unique, not secret: a random per-thread prefix and a counter.
  thread_local std::string prefix = crypto::Hex(crypto::RandomBytes(6));
  thread_local uint64_t counter = 0;
  char buf[48];
  std::snprintf(buf, sizeof buf, "req_%s%08llx", prefix.c_str(),
                static_cast<unsigned long long>(++counter));
  return buf;
}

namespace {

// Authenticates the caller from the session cookie or an Authorization header.
Status Authenticate(App& app, Request& req) {
  std::string_view authz = req.Header("authorization");
  if (!authz.empty()) {
    if (authz.substr(0, 7) != "Bearer " && authz.substr(0, 7) != "bearer ") {
      return Error::Unauthenticated("invalid_authorization",
                                    "Use 'Authorization: Bearer <secret API key>'.");
    }
    auto p =
        app.api_keys.Authenticate(std::string(authz.substr(7)), req.method, req.path, req.Client());
    if (!p) return p.error();
    req.principal = std::move(*p);
    return {};
  }
  std::string token = req.Cookie("gh_session");
  if (token.empty()) return Error::Unauthenticated("unauthenticated", "Sign in to continue.");
  auto p = app.accounts.Authenticate(token, req.Client());
  if (!p) return p.error();
  req.principal = std::move(*p);
  req.session_token = std::move(token);
  return {};
}

// Cookie-authenticated mutations must echo the session's CSRF token in X-CSRF-Token.
Status CheckCsrf(const Request& req) {
  if (req.session_token.empty() || !IsMutating(req.method)) return {};
  std::string expected = Accounts::CsrfTokenFor(req.session_token);
  if (!crypto::ConstantTimeEquals(req.Header("x-csrf-token"), expected)) {
    return Error{ErrorKind::kForbidden,
                 "csrf_token_invalid",
                 "Missing or wrong X-CSRF-Token header for a cookie-authenticated request.",
                 {}};
  }
  return {};
}

std::string IdempotencyRequestHash(const Request& req) {
  return crypto::Sha256Hex(req.method + " " + req.target + "\n" + req.body);
}

// The one place where an Error becomes an answer: problem+json, whether a handler, the
// middleware or a caught exception returned it.
Response Render(Result<Response> answer, const Request& req) {
  if (!answer) return Problem(answer.error(), req);
  return std::move(answer).value();
}

// The routes outside a workspace that a session made by SSO may call: who am I, which
// workspaces (filtered to its own by the handler), sign out, and the public ones.
bool SsoSessionMayCall(const Route& route) {
  if (route.access == Access::kPublic || route.access == Access::kOptionalAuth) return true;
  static const std::pair<std::string_view, std::string_view> kAllowed[] = {
      {"GET", "/v1/me"},          {"PATCH", "/v1/me"},       {"GET", "/v1/workspaces"},
      {"POST", "/v1/auth/logout"}, {"GET", "/v1/me/sessions"},
      // The inbox: its handlers keep an SSO session to its own workspace.
      {"GET", "/v1/me/notifications"}, {"POST", "/v1/me/notifications/{ntf}/read"},
      {"POST", "/v1/me/notifications/read-all"}};
  for (const auto& [m, p] : kAllowed) {
    if (route.method == m && route.path == p) return true;
  }
  return false;
}

// Authenticates, checks CSRF and the workspace permission, then runs the handler, once per
// Idempotency-Key. Errors are returned, for Dispatch to render; a handler's answer to be kept
// for an Idempotency-Key is rendered here, since the stored answer is the one replayed.
Result<Response> RunHandler(App& app, Request& req) {
  const Route& route = *req.route;
  if (route.access == Access::kOptionalAuth) {
    bool has_credentials =
        !req.Cookie("gh_session").empty() || !req.Header("authorization").empty();
    if (has_credentials && Authenticate(app, req).ok()) {
      if (Status st = CheckCsrf(req); !st.ok()) return st.error();
    } else {
      req.principal.reset();
      req.session_token.clear();
    }
  } else if (route.access != Access::kPublic) {
    if (Status st = Authenticate(app, req); !st.ok()) return st.error();
    if (Status st = CheckCsrf(req); !st.ok()) return st.error();
  }
  if (req.principal && !req.principal->api_key_id.empty()) {
    // A secret key manages its own workspace only, and is no key to its owner's account.
    bool workspace_route = route.access == Access::kWorkspace || route.access == Access::kMember;
    if (workspace_route && req.Param("ws") != req.principal->api_key_workspace_id) {
      return Error::NotFound("workspace");
    }
    if (!workspace_route && route.path != "/v1/check") {
      return Error{ErrorKind::kForbidden,
                   "api_key_not_allowed",
                   "API keys cannot call this endpoint; sign in instead.",
                   {}};
    }
  }
  if (req.principal && !req.principal->scope_workspace_id.empty()) {
    // A session made by a workspace's SSO is that workspace's: its IdP vouches for nothing
    // else. Other workspaces stay invisible, and the account's own settings (password,
    // second factor, sessions, deletion) need a session the person made themselves.
    bool workspace_route = route.access == Access::kWorkspace || route.access == Access::kMember;
    if (workspace_route && req.Param("ws") != req.principal->scope_workspace_id) {
      return Error::NotFound("workspace");
    }
    if (!workspace_route && !SsoSessionMayCall(route)) {
      return Error{ErrorKind::kForbidden, "sso_session_scope",
                   "This session was made by single sign-on for one workspace; sign in with "
                   "your password to manage your account.",
                   {}};
    }
  }
  if (route.access == Access::kWorkspace || route.access == Access::kMember) {
    auto m = app.access.Authorize(*req.principal, req.Param("ws"), route.permission);
    if (!m) return m.error();
    req.membership = std::move(*m);
  }
  std::string idem_key(req.Header("idempotency-key"));
  if (idem_key.empty() || !IsMutating(req.method) || !req.principal) return route.handler(req);

  if (idem_key.size() > 255) {
    return Error::BadRequest("invalid_idempotency_key",
                             "Idempotency-Key must be at most 255 characters.");
  }
  std::string scope = req.principal->user.id;
  std::string hash = IdempotencyRequestHash(req);
  UnixTime now = Clock::System().Now();
  // A key already stored is replayed (or refused) from its row.
  auto answer_stored = [&]() -> Result<Response> {
    auto prior = app.store.FindIdempotentResponse(scope, idem_key);
    if (!prior) {  // the first request failed and released the key: answer it as new
      return Error{ErrorKind::kConflict,
                   "idempotency_key_in_progress",
                   "A request with this Idempotency-Key is being retried; try again.",
                   {}};
    }
    if (prior->request_hash != hash) {
      return Error::Invalid("idempotency_key_reused", "Idempotency-Key",
                            "This Idempotency-Key was used for a different request.");
    }
    if (prior->status == 0) {
      return Error{ErrorKind::kConflict,
                   "idempotency_key_in_progress",
                   "A request with this Idempotency-Key is still being processed.",
                   {}};
    }
    Response r;
    r.status = prior->status;
    r.content_type = prior->content_type;
    r.body = prior->body;
    r.Header("Idempotent-Replayed", "true");
    return r;
  };
  // Each new key is a stored answer for 24 hours: an account keeps a bounded number of them.
  // Repeats of a stored key cost nothing.
  if (int wait = app.idempotency_keys.Acquire(scope, now); wait > 0) {
    if (app.store.FindIdempotentResponse(scope, idem_key)) return answer_stored();
    Error e{ErrorKind::kRateLimited, "rate_limited",
            "Too many new Idempotency-Keys from this account; retry later or send the request "
            "without one.",
            {}};
    e.retry_after_seconds = wait;
    return e;
  }
  // Reserve the key first, so that concurrent repeats cannot both run the handler.
  bool reserved = app.store.Write([&](WriteTx& tx) {
    return tx.SaveIdempotentResponse(scope, idem_key, {hash, 0, "", "", now});
  });
  if (!reserved) {
    app.idempotency_keys.Release(scope, now);  // a repeat stores nothing new
    return answer_stored();
  }
  Response r;
  try {
    r = Render(route.handler(req), req);
  } catch (...) {
    app.store.Write([&](WriteTx& tx) { tx.DeleteIdempotentResponse(scope, idem_key); });
    throw;
  }
  app.store.Write([&](WriteTx& tx) {
    if (r.status < 500) {
      std::string stored = r.body;
      if (route.secret_response) {
        Json body = Json::parse(r.body, nullptr, false);
        if (body.is_object()) {
          for (const char* field : {"key", "secret", "otpauth_uri", "qr_svg", "recovery_codes"}) {
            body.erase(field);
          }
        }
        stored = body.is_discarded() ? "{}" : body.dump();
      }
      tx.CompleteIdempotentResponse(scope, idem_key, {hash, r.status, r.content_type, stored, 0});
    } else {
      tx.DeleteIdempotentResponse(scope, idem_key);  // a server failure may be retried
    }
  });
  return r;
}

}  // namespace

int64_t PurgeIdempotencyKeys(Store& store, UnixTime now) {
  constexpr int kBatch = 1000;
  int64_t total = 0;
  while (true) {
    int64_t n = store.Write([&](WriteTx& tx) {
      return tx.PurgeIdempotentResponses(now - kIdempotencyKeyLifetime, kBatch);
    });
    total += n;
    if (n < kBatch) return total;
  }
}

Response Dispatch(App& app, Request& req) {
  if (req.request_id.empty()) req.request_id = RequestIdFor(req);
  Result<Response> answer = Response{};
  std::string allow;  // for a 405: the methods the path does take
  try {
    if (!req.route) {
      Match m = app.router.Find(req.method, req.path);
      if (!m.route && !m.allow.empty()) {
        answer = Error{
            ErrorKind::kMethodNotAllowed, "method_not_allowed", "Use one of: " + m.allow + ".", {}};
        allow = std::move(m.allow);
      } else if (!m.route) {
        if (auto page = app.web.Serve(req)) {
          // Labelled as one route in metrics and the access log, whatever the file.
          static const Route kDashboard{.method = "GET", .path = "(dashboard)"};
          FinishResponse(req, *page);
          req.route = &kDashboard;
          return std::move(*page);
        }
        answer = Error{ErrorKind::kNotFound, "route_not_found", "No such endpoint.", {}};
      }
      req.route = m.route;
      req.params = std::move(m.params);
    }
    if (req.route) answer = RunHandler(app, req);
  } catch (const StoreError& e) {
    log::Error("store failed", {{"request_id", req.request_id}, {"error", e.what()}});
    answer = Error{ErrorKind::kUnavailable,
                   "store_unavailable",
                   "The data store did not answer. Try again.",
                   {}};
  } catch (const std::exception& e) {
    log::Error("request failed", {{"request_id", req.request_id}, {"error", e.what()}});
    answer = Error{ErrorKind::kInternal, "internal_error", "Something went wrong on our side.", {}};
  }
  Response res = Render(std::move(answer), req);
  if (!allow.empty()) res.Header("Allow", allow);
  FinishResponse(req, res);
  return res;
}

const std::vector<std::pair<std::string_view, std::string_view>>& SecurityHeaders(
    const Response& res) {
  static const std::vector<std::pair<std::string_view, std::string_view>> kApi = {
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "strict-origin-when-cross-origin"},
      {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"}};
  static const std::vector<std::pair<std::string_view, std::string_view>> kHtml = {
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "strict-origin-when-cross-origin"},
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"}};
  return res.content_type.rfind("text/html", 0) == 0 ? kHtml : kApi;
}

void FinishResponse(const Request& req, Response& res) {
  res.Header("X-Request-Id", req.request_id);
  bool has_cache = false;
  for (const auto& [k, v] : res.headers) has_cache = has_cache || k == "Cache-Control";
  if (!has_cache) res.Header("Cache-Control", "no-store");
}

std::string AccessLogLine(const Request& req, const Response& res, int64_t micros) {
  // Built by hand: this runs once per request. Every value is either ours (route template,
  // ids, numbers) or sanitised (request id, method from the parser); none needs escaping but
  // the method, which Beast restricts to token characters.
  thread_local UnixTime cached_at = -1;
  thread_local std::string ts;
  UnixTime now = Clock::System().Now();
  if (now != cached_at) {
    cached_at = now;
    ts = FormatRfc3339(now);
  }
  std::string line;
  line.reserve(256);
  line += R"({"ts":")";
  line += ts;
  line += R"(","level":"info","msg":"request","method":")";
  line += req.method;
  line += R"(","route":")";
  line += req.route ? req.route->path : "(unmatched)";
  line += R"(","status":)";
  line += std::to_string(res.status);
  line += R"(,"duration_us":)";
  line += std::to_string(micros);
  line += R"(,"request_id":")";
  line += req.request_id;
  line += R"(","ip":")";
  line += req.remote_ip;
  line += '"';
  if (req.principal) {
    line += R"(,"user_id":")";
    line += req.principal->user.id;
    line += '"';
  }
  line += '}';
  return line;
}

}  // namespace gh::http
