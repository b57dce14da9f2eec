#include "http/routes.h"

#include <chrono>
#include <cstdio>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/time.h"
#include "service/audit_export.h"

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
    auto p = app.api_keys.Authenticate(std::string(authz.substr(7)), req.method, req.path,
                                       req.Client());
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
    return Error{ErrorKind::kForbidden, "csrf_token_invalid",
                 "Missing or wrong X-CSRF-Token header for a cookie-authenticated request.", {}};
  }
  return {};
}

std::string IdempotencyRequestHash(const Request& req) {
  return crypto::Sha256Hex(req.method + " " + req.target + "\n" + req.body);
}

Response RunHandler(App& app, Request& req) {
  const Route& route = *req.route;
  if (route.access == Access::kOptionalAuth) {
    bool has_credentials = !req.Cookie("gh_session").empty() || !req.Header("authorization").empty();
    if (has_credentials && Authenticate(app, req).ok()) {
      if (Status st = CheckCsrf(req); !st.ok()) return Problem(st.error(), req);
    } else {
      req.principal.reset();
      req.session_token.clear();
    }
  } else if (route.access != Access::kPublic) {
    if (Status st = Authenticate(app, req); !st.ok()) return Problem(st.error(), req);
    if (Status st = CheckCsrf(req); !st.ok()) return Problem(st.error(), req);
  }
  if (req.principal && !req.principal->api_key_id.empty()) {
    // A secret key manages its own workspace only, and is no key to its owner's account.
    bool workspace_route = route.access == Access::kWorkspace || route.access == Access::kMember;
    if (workspace_route && req.Param("ws") != req.principal->api_key_workspace_id) {
      return Problem(Error::NotFound("workspace"), req);
    }
    if (!workspace_route && route.path != "/v1/check") {
      return Problem({ErrorKind::kForbidden, "api_key_not_allowed",
                      "API keys cannot call this endpoint; sign in instead.", {}},
                     req);
    }
  }
  if (route.access == Access::kWorkspace || route.access == Access::kMember) {
    auto m = app.access.Authorize(*req.principal, req.Param("ws"), route.permission);
    if (!m) return Problem(m.error(), req);
    req.membership = std::move(*m);
  }
  std::string idem_key(req.Header("idempotency-key"));
  if (idem_key.empty() || !IsMutating(req.method) || !req.principal) return route.handler(req);

  if (idem_key.size() > 255) {
    return Problem(Error::BadRequest("invalid_idempotency_key",
                                     "Idempotency-Key must be at most 255 characters."),
                   req);
  }
  std::string scope = req.principal->user.id;
  std::string hash = IdempotencyRequestHash(req);
  // Reserve the key first, so that concurrent repeats cannot both run the handler.
  bool reserved = app.store.Write([&](WriteTx& tx) {
    return tx.SaveIdempotentResponse(scope, idem_key, {hash, 0, "", "", Clock::System().Now()});
  });
  if (!reserved) {
    auto prior = app.store.FindIdempotentResponse(scope, idem_key);
    if (!prior) {  // the first request failed and released the key: answer it as new
      return Problem({ErrorKind::kConflict, "idempotency_key_in_progress",
                      "A request with this Idempotency-Key is being retried; try again.", {}},
                     req);
    }
    if (prior->request_hash != hash) {
      return Problem(Error::Invalid("idempotency_key_reused", "Idempotency-Key",
                                    "This Idempotency-Key was used for a different request."),
                     req);
    }
    if (prior->status == 0) {
      return Problem({ErrorKind::kConflict, "idempotency_key_in_progress",
                      "A request with this Idempotency-Key is still being processed.", {}},
                     req);
    }
    Response r;
    r.status = prior->status;
    r.content_type = prior->content_type;
    r.body = prior->body;
    r.Header("Idempotent-Replayed", "true");
    return r;
  }
  Response r;
  try {
    r = route.handler(req);
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

App::App(Store& s, const Config& c, const Catalogue& cat, std::string v)
    : store(s),
      config(c),
      catalogue(cat),
      version(std::move(v)),
      mail(c),
      key_index(cat),
      key_sync(s, key_index),
      key_usage(s, key_index),
      access(s, cat, identities),
      accounts(s, c, mail, identities),
      mfa(s, identities),
      workspaces(s, c, cat, identities, key_sync),
      team(s, access, identities, key_sync),
      api_keys(s, access, key_sync, identities),
      ip_allowlists(s, identities, key_sync),
      invitations(s, c, mail, access, accounts, team, identities),
      projects(s, access, team, key_sync),
      closure(s, mail, accounts, team, key_sync, access, identities),
      audit(s),
      secure_cookies(c.PublicUrl().rfind("https://", 0) == 0) {}

void AddAllRoutes(App& app) {
  AddMetaRoutes(app);
  AddAuthRoutes(app);
  AddMeRoutes(app);
  AddWorkspaceRoutes(app);
  AddAuditRoutes(app);
  AddTeamRoutes(app);
  AddInvitationRoutes(app);
  AddProjectRoutes(app);
  AddKeyRoutes(app);
  AddOpenApiRoute(app);
}

Response Dispatch(App& app, Request& req) {
  if (req.request_id.empty()) req.request_id = RequestIdFor(req);
  Response res;
  try {
    if (!req.route) {
      Match m = app.router.Find(req.method, req.path);
      if (!m.route && !m.allow.empty()) {
        res = Problem({ErrorKind::kMethodNotAllowed, "method_not_allowed",
                       "Use one of: " + m.allow + ".", {}},
                      req);
        res.Header("Allow", m.allow);
      } else if (!m.route) {
        if (auto page = app.web.Serve(req)) {
          // Labelled as one route in metrics and the access log, whatever the file.
          static const Route kDashboard{.method = "GET", .path = "(dashboard)"};
          FinishResponse(req, *page);
          req.route = &kDashboard;
          return std::move(*page);
        }
        res = Problem({ErrorKind::kNotFound, "route_not_found", "No such endpoint.", {}}, req);
      }
      req.route = m.route;
      req.params = std::move(m.params);
    }
    if (req.route) res = RunHandler(app, req);
  } catch (const StoreError& e) {
    std::fprintf(stderr, "{\"level\":\"error\",\"request_id\":\"%s\",\"error\":\"store: %s\"}\n",
                 req.request_id.c_str(), e.what());
    res = Problem({ErrorKind::kUnavailable, "store_unavailable",
                   "The data store did not answer. Try again.", {}},
                  req);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "{\"level\":\"error\",\"request_id\":\"%s\",\"error\":\"%s\"}\n",
                 req.request_id.c_str(), e.what());
    res = Problem({ErrorKind::kInternal, "internal_error", "Something went wrong on our side.", {}},
                  req);
  }
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

Json UserJson(const User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"name", u.name},
          {"avatar_url", u.avatar_url.empty() ? Json(nullptr) : Json(u.avatar_url)},
          {"theme", u.theme},
          {"language", u.language},
          {"created_at", FormatRfc3339(u.created_at)},
          {"last_login_at", u.last_login_at ? Json(FormatRfc3339(*u.last_login_at)) : Json(nullptr)}};
}

Json WorkspaceJson(const WorkspaceView& v) {
  const Workspace& w = v.workspace;
  Json logo = nullptr;
  if (!w.logo_content_type.empty()) {
    logo = "/v1/workspaces/" + w.id + "/logo?v=" + std::to_string(w.logo_updated_at);
  }
  return {{"id", w.id},
          {"name", w.name},
          {"logo_url", logo},
          {"region", w.region},
          {"timezone", w.timezone},
          {"language", w.language},
          {"plan", w.plan},
          {"subscription_status", w.subscription_status},
          {"member_count", v.member_count},
          {"member_limit", v.member_limit},
          {"audit_retention_days", w.audit_retention_days},
          {"require_mfa", w.require_mfa},
          {"ip_allowlist_enabled", w.ip_allowlist_enabled},
          {"role", v.role},
          {"created_at", FormatRfc3339(w.created_at)},
          {"updated_at", FormatRfc3339(w.updated_at)}};
}

Json SessionJson(const Session& s, const std::string& current) {
  return {{"id", s.id},
          {"current", s.id == current},
          {"device", s.device},
          {"browser", s.browser},
          {"ip", s.ip},
          {"location", s.country.empty()
                           ? Json(nullptr)
                           : Json{{"country", s.country},
                                  {"country_name", GeoIp::CountryName(s.country)}}},
          {"created_at", FormatRfc3339(s.created_at)},
          {"last_active_at", FormatRfc3339(s.last_active_at)},
          {"expires_at", FormatRfc3339(std::min(s.idle_expires_at, s.absolute_expires_at))}};
}

Json AuditEventJson(const AuditEvent& e) { return AuditEventToJson(e); }

std::string SessionCookie(const App& app, const std::string& token, int64_t max_age) {
  std::string c = "gh_session=" + token + "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" +
                  std::to_string(max_age);
  if (app.secure_cookies) c += "; Secure";
  return c;
}

Result<int> PageLimit(const Request& req) {
  auto raw = req.QueryParam("limit");
  if (!raw) return 50;
  int v = 0;
  bool ok = !raw->empty() && raw->size() <= 4;
  for (char c : *raw) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) v = v * 10 + (c - '0');
  }
  if (!ok || v < 1 || v > 200) {
    return Error::Invalid("invalid_limit", "limit", "limit must be a whole number from 1 to 200.");
  }
  return v;
}

}  // namespace gh::http
