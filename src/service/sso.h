// Single sign-on: a workspace's connections (SAML 2.0, OIDC, OAuth presets), the login that
// starts at GET /v1/sso/authorize and ends at the ACS or the OIDC callback, test logins, and
// just-in-time provisioning. Protocol checks are src/sso's (pure); this file keeps what they
// cannot: outstanding requests (used once, in the transaction that signs the person in), the
// assertion replay cache, the connection's current settings, and the workspace's invariants.
//
// Sessions made here are SSO sessions of one workspace (Session::scope_workspace_id): the
// IdP of a workspace vouches for nothing beyond it, so an SSO login never opens the person's
// other workspaces or their account settings (http/middleware.cpp).
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "core/window_limiter.h"
#include "service/access.h"
#include "service/accounts.h"
#include "service/config.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "service/sso_settings.h"
#include "sso/oidc.h"
#include "store/store.h"

namespace gh {

struct SsoConnectionView {
  SsoConnection connection;
  SsoSettings settings;
};

// Where GET /v1/sso/authorize sends the browser, and the cookie that binds the answer to this
// browser: always for OIDC; for SAML only when the public URL is https (the ACS is a
// cross-site POST, which carries only SameSite=None cookies, and those must be Secure).
struct SsoStart {
  std::string url;
  std::string browser_cookie;
};

// What a finished SSO round trip did.
struct SsoOutcome {
  std::string connection_id;
  std::string workspace_id;
  bool test = false;
  bool failed = false;
  std::string reason;  // when failed: a stable code (signature_invalid, email_domain, …)
  std::string detail;
  std::optional<NewSession> session;  // a login that succeeded
  std::string redirect_url;           // where the browser goes next
};

// Who logs in, as the IdP said it (after every check).
struct SsoProfile {
  std::string subject;
  std::string email;
  std::string first_name;
  std::string last_name;
  std::vector<std::string> role_values;  // of the mapped role attribute/claim
  std::vector<std::string> groups;
  nlohmann::json attributes = nlohmann::json::object();
  std::string assertion_id;  // SAML: for the replay cache
  UnixTime assertion_expires_at = 0;
};

class Sso {
 public:
  Sso(Store& store, const Config& config, gh::Access& access, Accounts& accounts,
      IdentityCache& cache, const Clock& clock = Clock::System());

  // Connections (permission sso.configure, checked by the route). `body` is the request's
  // JSON object.
  Result<SsoConnectionView> Create(const Principal& p, const Membership& caller,
                                   const nlohmann::json& body);
  std::vector<SsoConnectionView> List(const std::string& workspace_id);
  Result<SsoConnectionView> Get(const std::string& workspace_id, const std::string& id);
  // Settings and/or {status: active|inactive}: 409 sso_untested until a test login succeeded
  // with the current settings; 409 sso_enforced for the last active connection of a
  // workspace that enforces SSO.
  Result<SsoConnectionView> Update(const Principal& p, const Membership& caller,
                                   const std::string& id, const nlohmann::json& body);
  Status Delete(const Principal& p, const Membership& caller, const std::string& id);
  // A test login: the IdP URL to follow. Its outcome lands in the connection's last_test.
  Result<std::string> StartTest(const Principal& p, const Membership& caller,
                                const std::string& id);

  // The SP values of a connection.
  std::string EntityId(const std::string& id) const;
  std::string AcsUrl(const std::string& id) const;
  std::string MetadataUrl(const std::string& id) const;
  std::string RedirectUri(const std::string& id) const;
  Result<std::string> SpMetadata(const std::string& id);

  // GET /v1/sso/authorize: exactly one of connection, email, workspace names the connection.
  Result<SsoStart> Authorize(const std::string& connection, const std::string& email,
                             const std::string& workspace, const std::string& redirect_url,
                             const ClientInfo& client);
  // `browser_cookie`: the gh_sso cookie the request carried (checked when authorize set one).
  Result<SsoOutcome> SamlAcs(const std::string& id, const std::string& saml_response,
                             const std::string& browser_cookie, const ClientInfo& client);
  Result<SsoOutcome> OidcCallback(const std::string& id, const std::string& code,
                                  const std::string& state, const std::string& error,
                                  const std::string& browser_cookie, const ClientInfo& client);

 private:
  struct Discovery {
    sso::ProviderMetadata metadata;
    UnixTime fetched_at = 0;
  };
  Result<SsoConnectionView> Load(const std::string& workspace_id, const std::string& id);
  SsoWorkspaceChecks ChecksFor(const std::string& workspace_id);
  Status Limit(const ClientInfo& client, UnixTime now);
  Result<std::string> StartLogin(const SsoConnection& conn, const SsoSettings& s, bool test,
                                 const std::string& redirect_url, const std::string& login_hint,
                                 std::string* browser_cookie);
  Result<sso::ProviderMetadata> ProviderOf(const SsoConnection& conn, const SsoSettings& s,
                                           UnixTime now);
  Result<SsoProfile> OidcProfile(const SsoConnection& conn, const SsoSettings& s,
                                 const SsoRequest& request, const std::string& code, UnixTime now);
  // The end of every round trip, in one transaction: uses the request, checks what only the
  // store knows, then records a failure, a test outcome, or signs the person in.
  Result<SsoOutcome> Finish(const std::string& connection_id, const std::string& request_id,
                            Result<SsoProfile> profile, const ClientInfo& client);
  std::string RoleFor(const std::string& workspace_id, const SsoSettings& s,
                      const SsoProfile& profile, bool* mapped);
  std::string BreakGlassRole() const;

  Store& store_;
  const Config& config_;
  gh::Access& access_;
  Accounts& accounts_;
  IdentityCache& cache_;
  const Clock& clock_;
  WindowLimiter per_ip_;
  WindowLimiter failures_recorded_;
  sso::JwksCache jwks_;
  std::mutex discovery_mu_;
  std::unordered_map<std::string, Discovery> discovery_;
};

// The attribute values an SSO answer carried, as the connection's last_test shows them.
nlohmann::json SsoAttributesJson(const std::map<std::string, std::vector<std::string>>& attrs);

}  // namespace gh
