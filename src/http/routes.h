// The application as the HTTP layer sees it: the services, the route table, and Dispatch,
// which runs the middleware (request id, authentication, CSRF, workspace permission,
// idempotency, problem+json, metrics, access log) around each handler.
#pragma once

#include <memory>
#include <string>

#include "http/json_body.h"
#include "http/router.h"
#include "http/web_assets.h"
#include "service/access.h"
#include "service/account_closure.h"
#include "service/accounts.h"
#include "service/api_keys.h"
#include "service/key_index.h"
#include "service/key_sync.h"
#include "service/key_usage.h"
#include "service/mail.h"
#include "service/audit.h"
#include "service/config.h"
#include "service/invitations.h"
#include "service/ip_allowlist.h"
#include "service/projects.h"
#include "service/team.h"
#include "service/mfa.h"
#include "service/workspaces.h"
#include "store/store.h"

namespace gh::http {

struct App {
  App(Store& store, const Config& config, const Catalogue& catalogue, std::string version);

  Store& store;
  const Config& config;
  const Catalogue& catalogue;
  std::string version;
  IdentityCache identities;
  MailOutbox mail;
  KeyIndex key_index;
  KeyIndexSync key_sync;
  KeyUsageWriter key_usage;
  gh::Access access;
  Accounts accounts;
  Mfa mfa;
  Workspaces workspaces;
  Team team;
  ApiKeys api_keys;
  IpAllowlists ip_allowlists;
  Invitations invitations;
  Projects projects;
  AccountClosure closure;
  AuditLog audit;
  Router router;
  // The dashboard's build output, served at / for what no API route matches (empty: none).
  WebAssets web;
  bool secure_cookies = false;  // public URL is https
};

// Registers every route of every API area.
void AddMetaRoutes(App& app);
void AddAuthRoutes(App& app);
void AddMeRoutes(App& app);
void AddWorkspaceRoutes(App& app);
void AddAuditRoutes(App& app);
void AddTeamRoutes(App& app);
void AddInvitationRoutes(App& app);
void AddProjectRoutes(App& app);
void AddKeyRoutes(App& app);
void AddOpenApiRoute(App& app);
void AddAllRoutes(App& app);

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

// Rendering of domain records.
Json UserJson(const User& u);
Json WorkspaceJson(const WorkspaceView& v);
Json SessionJson(const Session& s, const std::string& current_session_id);
Json AuditEventJson(const AuditEvent& e);
// Set-Cookie value for a new session token (or an expired one to clear it).
std::string SessionCookie(const App& app, const std::string& token, int64_t max_age_seconds);

// The optional `limit` query parameter: 1..200, default 50; 422 `invalid_limit` otherwise.
Result<int> PageLimit(const Request& req);

}  // namespace gh::http
