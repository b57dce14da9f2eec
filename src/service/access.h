// The authorisation engine: one place decides whether a member may do something in a
// workspace. Roles compile to bitsets (built-in roles from the catalogue, custom roles from
// the store); decisions read only memory. Changes made through this process invalidate the
// affected entries before they answer, so a role change or removal applies to the member's
// very next request; other processes sharing the store see it within IdentityCache's TTL.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalogue.h"
#include "core/model.h"
#include "core/result.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "store/store.h"

namespace gh {

class Access {
 public:
  Access(Store& store, const Catalogue& catalogue, IdentityCache& cache,
         const Clock& clock = Clock::System());

  // The caller's membership of `workspace_id`, or 404 when there is none (foreign workspaces
  // stay invisible); then 403 naming `permission` unless the caller's role grants it. An empty
  // permission only checks membership.
  Result<Membership> Authorize(const Principal& p, const std::string& workspace_id,
                               std::string_view permission);

  // What `role` (built-in id or role_… of the workspace) grants; empty for unknown roles.
  Catalogue::Set PermissionsOf(const std::string& workspace_id, const std::string& role);
  bool Can(const Membership& m, std::string_view permission);
  // Whether `role` exists in the workspace.
  bool RoleExists(const std::string& workspace_id, const std::string& role);
  // A role's display name ("Admin", or a custom role's name).
  std::string RoleName(const std::string& workspace_id, const std::string& role);

  // Every permission id `set` grants: catalogue ids, then Gatehouse's mapped ones.
  std::vector<std::string> PermissionIds(const Catalogue::Set& set) const;

  // After custom roles of a workspace change.
  void ForgetRoles(const std::string& workspace_id);

  const Catalogue& catalogue() const { return catalogue_; }

 private:
  struct CompiledRole {
    std::string id;
    std::string name;
    Catalogue::Set permissions;
  };
  struct RoleBook {
    std::vector<CompiledRole> roles;
    UnixTime loaded_at = 0;
  };
  const CompiledRole* FindCustom(const RoleBook& book, const std::string& role) const;
  RoleBook& BookOf(const std::string& workspace_id);  // requires mu_

  Store& store_;
  const Catalogue& catalogue_;
  IdentityCache& cache_;
  const Clock& clock_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, RoleBook> books_;
};

}  // namespace gh
