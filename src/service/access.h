// The authorisation engine: one place decides whether a member may do something in a
// workspace. Roles compile to bitsets (built-in roles from the catalogue, custom roles from
// the store); decisions read only memory. Changes made through this process invalidate the
// affected entries before they answer, so a role change or removal applies to the member's
// very next request; other processes sharing the store see it within IdentityCache's TTL.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <memory>
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

// The projects of one workspace and the project roles its members hold, as one immutable
// snapshot: readers keep it while they use it, without holding any lock.
struct ProjectBook {
  struct Entry {
    std::string id;
    std::string name;
  };
  // A member's role inside one project.
  struct Assignment {
    std::string project_id;
    std::string role;
  };
  std::vector<Entry> projects;  // by name
  absl::flat_hash_map<std::string, std::vector<Assignment>> by_user;  // in project-name order
  UnixTime loaded_at = 0;

  // The project with this id, or null.
  const Entry* Find(std::string_view project_id) const;
  // The role `user_id` holds inside `project_id`, or null when they hold none there.
  const std::string* RoleOf(const std::string& user_id, std::string_view project_id) const;
  // Every project role of `user_id` (empty when none).
  const std::vector<Assignment>& AssignmentsOf(const std::string& user_id) const;
};

// The answer of POST /v1/check.
struct CheckAnswer {
  bool allowed = false;
  std::string role;  // the role the subject acts with there; "" when it has none
  std::string reason;
};

// Who /v1/check asks about.
struct CheckSubject {
  enum class Type { kUser, kApiKey } type = Type::kUser;
  std::string id;
};

class Access {
 public:
  Access(Store& store, const Catalogue& catalogue, IdentityCache& cache,
         const Clock& clock = Clock::System());

  // The caller's membership of `workspace_id`, or 404 when there is none (foreign workspaces
  // stay invisible); then 403 naming `permission` unless the caller's role grants it. An empty
  // permission only checks membership.
  Result<Membership> Authorize(const Principal& p, const std::string& workspace_id,
                               std::string_view permission);

  // The caller's membership as `tx` reads it under the workspace's lock, for a unit of work
  // whose checks must hold until it commits: 404 when the workspace or the membership is
  // gone, 403 when `permission` (unless empty) is no longer granted.
  Result<Membership> Recheck(WriteTx& tx, const Membership& caller, std::string_view permission);

  // The host product's question: may `subject` use `permission` in the workspace (inside
  // `project_id` when not empty)? A key answers for its owner while it is live (the same
  // StateOf that verification uses; a key whose owner left is revoked with the membership).
  // 422 invalid_project for a project the workspace does not have.
  Result<CheckAnswer> Check(const std::string& workspace_id, const CheckSubject& subject,
                            const std::string& project_id, std::string_view permission);

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

  // --- Projects -------------------------------------------------------------------------
  // A member's permissions inside a project are those of their role there when they have one
  // (it overrides the workspace role, both ways), else those of their workspace role. The
  // workspace owner (when the preset has one) acts as owner in every project.
  // Visibility is workspace-wide: `projects.view_all` (from the workspace role) shows every
  // project; everyone else sees only the projects they hold a role in.

  // The workspace's projects and project roles: cached per workspace for the same TTL as
  // custom roles, and dropped by ForgetProjects on every change made through this process.
  std::shared_ptr<const ProjectBook> ProjectsOf(const std::string& workspace_id);
  // The role `m` acts with inside `project_id`: their project role, else their workspace role.
  std::string RoleIn(const Membership& m, const std::string& project_id);
  // What `m` may do inside `project_id` (see above). Does not check visibility.
  Catalogue::Set PermissionsIn(const Membership& m, const std::string& project_id);
  bool CanIn(const Membership& m, const std::string& project_id, std::string_view permission);
  // Whether the project exists in m's workspace and `m` may see it.
  bool CanSeeProject(const Membership& m, const std::string& project_id);
  // The ids of the projects `m` may see, by project name.
  std::vector<std::string> VisibleProjects(const Membership& m);
  // After projects or project roles of a workspace change (or a member leaves).
  void ForgetProjects(const std::string& workspace_id);

  const Catalogue& catalogue() const { return catalogue_; }

  // 403 member_suspended.
  static Error Suspended();

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

  bool SeesAllProjects(const Membership& m);

  Store& store_;
  const Catalogue& catalogue_;
  IdentityCache& cache_;
  const Clock& clock_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, RoleBook> books_;
  absl::flat_hash_map<std::string, std::shared_ptr<const ProjectBook>> project_books_;
  // Bumped by every ForgetProjects, so that a book loaded across an invalidation is not kept.
  uint64_t project_generation_ = 0;
};

}  // namespace gh
