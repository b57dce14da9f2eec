// Directory sync: the SCIM 2.0 server (RFC 7643/7644) a workspace's directory (Okta, Entra ID)
// provisions its people through, and the settings behind it (bearer tokens, group → role
// mappings).
//
// A SCIM user is a member of the workspace: creating one links a verified account of that
// email (or creates an account without a password) and adds the membership; `active: false`
// deactivates the membership at once (requests refused, SSO sessions there ended, keys held
// so that they verify REVOKED); DELETE removes the member the way the API does (keys revoked).
// A member's role is the highest role mapped from their groups, else the least privileged
// built-in role, and is re-evaluated on every change of their groups. Every change is one
// transaction under the workspace lock, with its audit events.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "core/window_limiter.h"
#include "service/access.h"
#include "service/config.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "service/key_sync.h"
#include "service/mail.h"
#include "service/team.h"
#include "store/store.h"

namespace gh {

struct ScimTokenIssued {
  ScimToken token;
  std::string secret;  // "scim_…", shown once
};

struct ScimGroupMapping {
  std::string group;  // a group's displayName (matched case-insensitively)
  std::string role;
  struct ProjectGrant {
    std::string project_id;
    std::string role;
  };
  std::vector<ProjectGrant> projects;
};

// A SCIM request authenticated by a workspace's token.
struct ScimCaller {
  std::string workspace_id;
  std::string token_id;
  std::string token_name;
  ClientInfo client;
};

// The query of a SCIM list or read (RFC 7644 §3.4.2).
struct ScimQuery {
  std::string filter;
  int64_t start_index = 1;  // 1-based
  int64_t count = 100;
  std::string attributes;           // comma-separated
  std::string excluded_attributes;  // comma-separated
};

// A SCIM answer: status, body (null for 204) and the resource's ETag when there is one.
struct ScimAnswer {
  int status = 200;
  nlohmann::json body;
  std::string etag;
  std::string location;
};

class Directory {
 public:
  // Pages and bounds.
  static constexpr int64_t kMaxResults = 1000;
  static constexpr int kMaxOperations = 1000;
  static constexpr size_t kMaxMembersPerRequest = 10000;
  static constexpr size_t kMaxResourceBytes = 64 * 1024;  // a stored resource, members aside
  static constexpr int kMaxTokensPerWorkspace = 20;
  static constexpr size_t kMaxMappings = 100;

  Directory(Store& store, const Config& config, Access& access, Team& team, KeyIndexSync& keys,
            IdentityCache& cache, MailOutbox& mail, const Clock& clock = Clock::System());

  // Settings (permission directory.configure).
  Result<ScimTokenIssued> CreateToken(const Principal& p, const Membership& caller,
                                      const std::string& name);
  std::vector<ScimToken> Tokens(const Membership& caller);
  Status RevokeToken(const Principal& p, const Membership& caller, const std::string& token_id);
  std::vector<ScimGroupMapping> Mappings(const std::string& workspace_id);
  // Replaces the mappings (a JSON array) and re-evaluates every directory member's role.
  Result<std::vector<ScimGroupMapping>> PutMappings(const Principal& p, const Membership& caller,
                                                    const nlohmann::json& body);
  std::string BaseUrl(const std::string& workspace_id) const;

  // Reactivates a member the directory deactivated, by hand. `override_directory` must be set:
  // the directory will deactivate them again on its next push unless it is changed too.
  Status Reactivate(const Principal& p, const Membership& caller, const std::string& user_id,
                    bool override_directory);

  // The SCIM protocol. Authenticate answers 401 (or 429 after repeated failures from the
  // address) with a SCIM error; the others answer every outcome as a ScimAnswer, errors in
  // SCIM's shape.
  std::variant<ScimCaller, ScimAnswer> Authenticate(const std::string& workspace_id,
                                                    std::string_view authorization,
                                                    const ClientInfo& client);
  ScimAnswer ListUsers(const ScimCaller& c, const ScimQuery& q);
  ScimAnswer GetUser(const ScimCaller& c, const std::string& id, const ScimQuery& q);
  ScimAnswer CreateUser(const ScimCaller& c, const nlohmann::json& body);
  ScimAnswer ReplaceUser(const ScimCaller& c, const std::string& id, const nlohmann::json& body,
                         std::string_view if_match);
  ScimAnswer PatchUser(const ScimCaller& c, const std::string& id, const nlohmann::json& body,
                       std::string_view if_match);
  ScimAnswer DeleteUser(const ScimCaller& c, const std::string& id, std::string_view if_match);
  ScimAnswer ListGroups(const ScimCaller& c, const ScimQuery& q);
  ScimAnswer GetGroup(const ScimCaller& c, const std::string& id, const ScimQuery& q);
  ScimAnswer CreateGroup(const ScimCaller& c, const nlohmann::json& body);
  ScimAnswer ReplaceGroup(const ScimCaller& c, const std::string& id, const nlohmann::json& body,
                          std::string_view if_match);
  ScimAnswer PatchGroup(const ScimCaller& c, const std::string& id, const nlohmann::json& body,
                        std::string_view if_match);
  ScimAnswer DeleteGroup(const ScimCaller& c, const std::string& id, std::string_view if_match);
  ScimAnswer ServiceProviderConfig(const std::string& workspace_id) const;
  ScimAnswer ResourceTypes(const std::string& workspace_id) const;
  ScimAnswer Schemas() const;

  struct Impl;  // one change's transaction and effects (directory.cpp)

 private:
  // PUT and PATCH: `change` turns the current resource (SCIM JSON) into the new one.
  ScimAnswer WriteUserWith(const ScimCaller& c, const std::string& id, std::string_view if_match,
                           const std::function<Status(nlohmann::json&)>& change);
  ScimAnswer WriteGroupWith(const ScimCaller& c, const std::string& id, std::string_view if_match,
                            const std::function<Status(nlohmann::json&)>& change);

  Store& store_;
  const Config& config_;
  Access& access_;
  Team& team_;
  KeyIndexSync& keys_;
  IdentityCache& cache_;
  MailOutbox& mail_;
  const Clock& clock_;
  WindowLimiter auth_failures_;  // per client address
  WindowLimiter requests_;       // per workspace
};

// A SCIM error answer: {"schemas":[Error], "status":"400", "scimType":…, "detail":…}.
ScimAnswer ScimError(int status, std::string_view scim_type, std::string_view detail);

}  // namespace gh
