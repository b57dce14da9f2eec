// The application as the HTTP layer sees it: the services and the route table. Requests run
// through it by Dispatch (http/middleware.h: request id, authentication, CSRF, workspace
// permission, idempotency, problem+json, access log around each handler), included here for
// the server and main, which hold an App to dispatch to.
#pragma once

#include <memory>
#include <string>

#include "http/json_body.h"
#include "http/middleware.h"
#include "http/router.h"
#include "http/web_assets.h"
#include "core/window_limiter.h"
#include "service/access.h"
#include "service/account_closure.h"
#include "service/accounts.h"
#include "service/api_keys.h"
#include "service/audit.h"
#include "service/config.h"
#include "service/directory.h"
#include "service/webhooks.h"
#include "service/email_verification.h"
#include "service/invitations.h"
#include "service/ip_allowlist.h"
#include "service/key_index.h"
#include "service/key_sync.h"
#include "service/key_usage.h"
#include "service/mail.h"
#include "service/mfa.h"
#include "service/notifications.h"
#include "service/password_reset.h"
#include "service/projects.h"
#include "service/sso.h"
#include "service/team.h"
#include "service/workspaces.h"
#include "store/store.h"

namespace gh::http {

struct App {
  // `geoip` (may be null) locates sign-ins; like the store, it must outlive the App.
  App(Store& store, const Config& config, const Catalogue& catalogue, const GeoIp* geoip,
      std::string version);

  Store& store;
  const Config& config;
  const Catalogue& catalogue;
  std::string version;
  IdentityCache identities;
  MailOutbox mail;
  LoginThrottle login_throttle;  // passwords and second factors, on every route that checks them
  KeyIndex key_index;
  KeyIndexSync key_sync;
  KeyUsageWriter key_usage;
  gh::Access access;
  Accounts accounts;
  EmailVerification verification;
  PasswordReset password_reset;
  Mfa mfa;
  Workspaces workspaces;
  Team team;
  ApiKeys api_keys;
  IpAllowlists ip_allowlists;
  Invitations invitations;
  Projects projects;
  Sso sso;
  Directory directory;
  Webhooks webhooks;
  Notifications notifications;
  AccountClosure closure;
  AuditLog audit;
  Router router;
  // The dashboard's build output, served at / for what no API route matches (empty: none).
  WebAssets web;
  bool secure_cookies = false;  // public URL is https
  // New Idempotency-Key reservations per account (limits.idempotency_keys_per_account_per_hour).
  WindowLimiter idempotency_keys;
};

// Registers every route of every API area.
void AddMetaRoutes(App& app);
void AddAuthRoutes(App& app);
void AddMeRoutes(App& app);
void AddVerificationRoutes(App& app);
void AddWorkspaceRoutes(App& app);
void AddAuditRoutes(App& app);
void AddTeamRoutes(App& app);
void AddInvitationRoutes(App& app);
void AddProjectRoutes(App& app);
void AddKeyRoutes(App& app);
void AddSsoRoutes(App& app);
void AddScimRoutes(App& app);
void AddWebhookRoutes(App& app);
void AddNotificationRoutes(App& app);
void AddOpenApiRoute(App& app);
void AddAllRoutes(App& app);

}  // namespace gh::http
