// What an SSO connection's body says, validated into canonical settings (the JSON the store
// keeps in sso_connections.settings), and read back. No store, no network: the callers give
// the checks that need them (does a role or project exist).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/model.h"
#include "core/result.h"

namespace gh {

inline constexpr size_t kMaxSsoDomains = 50;
inline constexpr size_t kMaxSsoRoleMappings = 100;
inline constexpr size_t kMaxSsoDefaultProjects = 50;
inline constexpr size_t kMaxSsoConnectionsPerWorkspace = 20;

struct SsoDefaultProject {
  std::string project_id;
  std::string role;
};

struct SsoSettings {
  // SAML 2.0
  std::string idp_entity_id;
  std::string idp_sso_url;
  std::vector<std::string> idp_certificates;  // PEM, each a parsed X.509 certificate
  bool allow_idp_initiated = false;
  // OIDC and OAuth
  std::string issuer;  // OAuth providers without ID tokens (GitHub): empty
  std::string client_id;
  std::vector<std::string> scopes;
  // Where each value comes from: a SAML attribute name or an OIDC claim.
  std::string attr_email, attr_first_name, attr_last_name, attr_role, attr_groups;
  std::vector<std::pair<std::string, std::string>> role_mapping;  // attribute value -> role
  std::string default_role;                                       // "" : the lowest built-in role
  std::vector<SsoDefaultProject> default_projects;
  bool jit = true;

  nlohmann::json ToJson() const;
  static SsoSettings FromJson(const std::string& text);
};

// The checks that need the workspace: whether a role may be given by SSO (exists, and is not
// the owner's) and whether a project exists.
struct SsoWorkspaceChecks {
  std::function<bool(const std::string& role)> role_ok;
  std::function<bool(const std::string& project_id)> project_exists;
};

// Applies a POST (creating: every required field) or PATCH body to `conn` and `settings`.
// Returns whether anything a login depends on changed (the caller moves settings_version).
// 422 with the field at fault for anything invalid; `status` is not handled here.
Result<bool> ApplySsoInput(const nlohmann::json& body, bool creating,
                           const SsoWorkspaceChecks& checks, SsoConnection& conn,
                           SsoSettings& settings, std::string& client_secret);

// The lower-cased domain of an email address ("" when there is none).
std::string EmailDomain(const std::string& email);

}  // namespace gh
