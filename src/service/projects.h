// Projects of a workspace and the roles members hold inside them.
//
// Visibility: members whose workspace role grants `projects.view_all` see every project;
// everyone else sees only the projects they hold a role in, and any other project is "not
// found" (never "forbidden"), so that its existence does not leak.
//
// Authority: creating a project needs `projects.manage` from the workspace role (no project
// exists yet to hold a role in). Changing, deleting and staffing a project needs
// `projects.manage` inside that project (Access::PermissionsIn): a developer who is admin in
// Staging manages Staging only, and an admin who was given a narrower role in a project is
// narrowed there too. Nobody grants, in a project, permissions they do not hold in it.
//
// Every change is one store transaction with its audit event (project_id set), and reaches
// the authorisation engine (Access::ForgetProjects) before the call returns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "service/access.h"
#include "service/context.h"
#include "service/key_sync.h"
#include "service/team.h"
#include "store/store.h"

namespace gh {

// Fields of a create or update. For the limits, the outer optional says whether the field was
// given, the inner one is its value (nullopt clears it).
struct ProjectInput {
  std::optional<std::string> name;
  std::optional<std::string> environment;
  std::optional<std::optional<int64_t>> rate_limit_per_minute;
  std::optional<std::optional<int64_t>> rate_limit_per_month;
};

// A project member as GET …/projects/{prj} shows them.
struct ProjectMemberView {
  std::string user_id;
  std::string name;
  std::string email;
  std::string role;
  std::string role_name;
  UnixTime added_at = 0;
};

// A project as the caller sees it.
struct ProjectView {
  Project project;
  std::string role;                        // the role the caller acts with inside the project
  Catalogue::Set permissions;              // what that role grants
  std::vector<ProjectMemberView> members;  // filled by Get only
};

// A page of the projects the caller sees.
struct ProjectPage {
  std::vector<ProjectView> projects;
  std::string next_cursor;  // empty on the last page
  int64_t total = 0;
};

class Projects {
 public:
  Projects(Store& store, Access& access, Team& team, KeyIndexSync& keys,
           const Clock& clock = Clock::System());

  // A page of the projects the caller may see, by name (bytewise, then id). `cursor` is a
  // previous page's next_cursor; 400 `invalid_cursor` when it is not one.
  Result<ProjectPage> List(const Membership& caller, const std::string& cursor, int limit);
  // 404 when the project does not exist or the caller may not see it.
  Result<ProjectView> Get(const Membership& caller, const std::string& project_id);
  // The caller's role must grant projects.manage (the route checks it).
  Result<ProjectView> Create(const Principal& p, const Membership& caller, const ProjectInput& in);
  Result<ProjectView> Update(const Principal& p, const Membership& caller,
                             const std::string& project_id, const ProjectInput& in);
  // 409 `project_has_keys` while live API keys belong to the project.
  Status Delete(const Principal& p, const Membership& caller, const std::string& project_id);

  // Gives `user_id` (a workspace member) `role` inside the project, or changes it. Roles are
  // the workspace's built-in and custom roles, but not the owner role (ownership is
  // workspace-wide); the owner takes no project role (409 owner_protected).
  Result<ProjectMemberView> PutMember(const Principal& p, const Membership& caller,
                                      const std::string& project_id, const std::string& user_id,
                                      const std::string& role);
  // Takes the member's project role away: they act with their workspace role there again
  // (and no longer see the project unless their role sees every project).
  Status RemoveMember(const Principal& p, const Membership& caller, const std::string& project_id,
                      const std::string& user_id);

 private:
  // The project when the caller may see it; 404 otherwise.
  Result<Project> Visible(const Membership& caller, const std::string& project_id);
  // 403 unless the caller holds projects.manage inside the project.
  Status CheckManage(const Membership& caller, const Project& project);
  // 403 privilege_escalation unless the caller holds, inside the project, all of `granted`.
  Status CheckNoEscalationIn(const Membership& caller, const std::string& project_id,
                             const Catalogue::Set& granted);
  Result<Project> Apply(StoreReader& reads, const Membership& caller, Project project,
                        const ProjectInput& in);
  // The caller's membership as it is now and the project, read under the workspace lock,
  // when the caller may still see the project (404 otherwise) and manage it (403 otherwise).
  struct Managed {
    Membership caller;
    Project project;
  };
  Result<Managed> LockManaged(WriteTx& tx, const Membership& caller, const std::string& project_id);
  ProjectView ViewOf(const Membership& caller, Project project);
  // Once `tx` commits, the workspace's project book is dropped and, when the project's default
  // limits changed or it is gone, its keys are compiled again.
  void ChangedAfterCommit(WriteTx& tx, const std::string& workspace_id, bool keys);

  Store& store_;
  Access& access_;
  Team& team_;
  KeyIndexSync& keys_;
  const Clock& clock_;
};

// Whether `environment` is development, staging or production.
bool IsProjectEnvironment(const std::string& environment);

}  // namespace gh
