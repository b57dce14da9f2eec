// The permission catalogue and its built-in roles, compiled to bitsets.
//
// A catalogue (one of presets/*.toml, or a deployment's own file) lists categories of
// permissions and the built-in roles that hold them. Gatehouse's routes ask for its own
// "system" permissions (see kSystemPermissions); a catalogue either defines each of them or
// maps it onto one of its own permissions, so that every preset decides who may do what.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <absl/container/flat_hash_map.h>
#include <vector>

#include "core/result.h"

namespace gh {

// The permissions Gatehouse's own routes require.
inline constexpr std::string_view kSystemPermissions[] = {
    "workspace.view",     "workspace.edit",      "workspace.delete",
    "workspace.transfer_ownership",
    "members.view",       "members.invite",      "members.remove",
    "members.manage_roles", "invitations.view",  "roles.manage",
    "billing.view",
    "api_keys.create",    "api_keys.view_own",   "api_keys.view_all",
    "api_keys.revoke_own", "api_keys.revoke_all",
    "audit_log.view",     "audit_log.export",    "audit_log.record",   "logs.view_pii",
    "projects.view_all",  "projects.manage",
    "sso.configure",      "ip_allowlist.manage",
};

class Catalogue {
 public:
  static constexpr size_t kMaxPermissions = 256;
  using Set = std::bitset<kMaxPermissions>;

  struct Permission {
    std::string id;
    std::string name;
    std::string description;
  };
  struct Category {
    std::string id;
    std::string name;
    std::vector<Permission> permissions;
  };
  struct Role {
    std::string id;
    std::string name;
    std::string description;
    std::vector<std::string> permission_ids;  // as written; "*" for all
    bool invitable = true;
    Set permissions;  // compiled by Compile()
  };

  std::string id;
  std::string name;
  std::string creator_role;
  std::string owner_role;  // empty when the catalogue has no unique owner
  std::string default_invite_role;
  std::vector<std::string> invite_roles;  // empty: every invitable role
  std::vector<std::string> publishable_endpoints;
  std::vector<Category> categories;
  std::vector<Role> roles;
  // System permission -> catalogue permission ("" means nobody holds it).
  std::unordered_map<std::string, std::string> system_map;

  // Checks references and builds the indexes and role bitsets. The error names what is wrong.
  Status Compile();

  // The bit of a permission a route or a caller names: a catalogue permission, or a system
  // permission through system_map. nullopt when nobody can hold it (or it is unknown).
  std::optional<size_t> Resolve(std::string_view permission) const;
  // Whether `permission` is a catalogue or system permission.
  bool Knows(std::string_view permission) const;

  const Role* FindRole(std::string_view role_id) const;
  // Compiles a list of catalogue permission ids; 422 `unknown_permission` naming the first
  // unknown one.
  Result<Set> SetOf(const std::vector<std::string>& ids) const;
  // The catalogue permission ids in `set`, in catalogue order.
  std::vector<std::string> Ids(const Set& set) const;
  // Whether `role_id` may be given in an invitation.
  bool Invitable(std::string_view role_id) const;

  size_t size() const { return permission_ids_.size(); }

 private:
  std::vector<std::string> permission_ids_;  // bit -> id
  absl::flat_hash_map<std::string, size_t> index_;  // catalogue permission -> bit
  // Every name Resolve accepts (catalogue and system permissions) -> bit, or nullopt for
  // "nobody"; looked up by string_view without copies.
  absl::flat_hash_map<std::string, std::optional<size_t>> resolved_;
};

// The single authorisation decision: whether `granted` holds the permission at `bit`.
inline bool Can(const Catalogue::Set& granted, std::optional<size_t> bit) {
  return bit && granted.test(*bit);
}

}  // namespace gh
