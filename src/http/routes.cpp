// The application: its services, built once, and the route table of every API area.
#include "http/routes.h"

namespace gh::http {

App::App(Store& s, const Config& c, const Catalogue& cat, const GeoIp* geoip, std::string v)
    : store(s),
      config(c),
      catalogue(cat),
      version(std::move(v)),
      mail(c),
      login_throttle(c.login_max_failures_per_account, c.login_max_failures_per_ip,
                     c.login_failure_window_seconds),
      key_index(cat, {.new_ips_per_key_per_day = c.limits.new_ips_per_key_per_day,
                      .new_ips_per_publishable_key_per_day =
                          c.limits.new_ips_per_publishable_key_per_day,
                      .publishable_per_minute = c.limits.publishable_key_verifies_per_minute}),
      key_sync(s, key_index),
      key_usage(s, key_index),
      access(s, cat, identities),
      accounts(s, c, mail, identities, geoip, login_throttle,
               cat.owner_role.empty() ? cat.creator_role : cat.owner_role),
      verification(s, c, mail, identities),
      password_reset(s, c, mail, identities),
      mfa(s, identities, login_throttle),
      workspaces(s, c, cat, identities, key_sync),
      team(s, access, identities, key_sync),
      api_keys(s, access, key_sync, identities),
      ip_allowlists(s, identities, key_sync),
      invitations(s, c, mail, access, accounts, team, identities),
      projects(s, access, team, key_sync),
      sso(s, c, access, accounts, identities),
      directory(s, c, access, team, key_sync, identities, mail),
      webhooks(s, c, access),
      notifications(s, c, access, mail),
      closure(s, mail, accounts, team, key_sync, access, identities),
      audit(s, c.limits.host_events_per_workspace_per_minute),
      secure_cookies(c.PublicUrl().rfind("https://", 0) == 0),
      idempotency_keys(c.limits.idempotency_keys_per_account_per_hour, 3600) {}

void AddAllRoutes(App& app) {
  AddMetaRoutes(app);
  AddAuthRoutes(app);
  AddSsoRoutes(app);
  AddScimRoutes(app);
  AddWebhookRoutes(app);
  AddNotificationRoutes(app);
  AddMeRoutes(app);
  AddVerificationRoutes(app);
  AddWorkspaceRoutes(app);
  AddAuditRoutes(app);
  AddTeamRoutes(app);
  AddInvitationRoutes(app);
  AddProjectRoutes(app);
  AddKeyRoutes(app);
  AddOpenApiRoute(app);
}

}  // namespace gh::http
