#include "service/projects.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "core/cursor.h"
#include "core/ids.h"
#include "core/validation.h"
#include "service/audit.h"

namespace gh {
namespace {

constexpr int64_t kMaxRateLimit = 1'000'000'000'000;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

nlohmann::json LimitJson(const std::optional<int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json ProjectJson(const Project& p) {
  return {{"name", p.name},
          {"environment", p.environment},
          {"rate_limit",
           {{"per_minute", LimitJson(p.rate_limit_per_minute)},
            {"per_month", LimitJson(p.rate_limit_per_month)}}}};
}

Status CheckLimit(const std::optional<std::optional<int64_t>>& limit, const char* field) {
  if (!limit || !*limit) return {};
  if (**limit < 1 || **limit > kMaxRateLimit) {
    return Error::Invalid("invalid_rate_limit", field,
                          std::string(field) + " is a whole number from 1 to 10^12, or null.");
  }
  return {};
}

}  // namespace

bool IsProjectEnvironment(const std::string& environment) {
  return environment == "development" || environment == "staging" || environment == "production";
}

Projects::Projects(Store& store, Access& access, Team& team, KeyIndexSync& keys,
                   const Clock& clock)
    : store_(store), access_(access), team_(team), keys_(keys), clock_(clock) {}

Result<Projects::Managed> Projects::LockManaged(WriteTx& tx, const Membership& caller,
                                                const std::string& project_id) {
  if (!IsWellFormedId(project_id, "prj")) return Error::NotFound("project");
  auto me = access_.Recheck(tx, caller, "");
  if (!me) return me.error();
  if (!access_.CanSeeProject(*me, project_id)) return Error::NotFound("project");
  auto p = tx.ProjectById(caller.workspace_id, project_id);
  if (!p) return Error::NotFound("project");
  if (Status st = CheckManage(*me, *p); !st.ok()) return st.error();
  return Managed{std::move(*me), std::move(*p)};
}

Result<Project> Projects::Visible(const Membership& caller, const std::string& project_id) {
  if (!IsWellFormedId(project_id, "prj") || !access_.CanSeeProject(caller, project_id)) {
    return Error::NotFound("project");
  }
  auto p = store_.ProjectById(caller.workspace_id, project_id);
  if (!p) return Error::NotFound("project");  // deleted by another process meanwhile
  return *p;
}

Status Projects::CheckManage(const Membership& caller, const Project& project) {
  if (access_.CanIn(caller, project.id, "projects.manage")) return {};
  return Error::Forbidden(
      "Your role in " + project.name + " (" +
      access_.RoleName(caller.workspace_id, access_.RoleIn(caller, project.id)) +
      ") lacks the permission projects.manage.");
}

Status Projects::CheckNoEscalationIn(const Membership& caller, const std::string& project_id,
                                     const Catalogue::Set& granted) {
  // Team's rule, applied to the role the caller acts with inside the project.
  Membership in_project = caller;
  in_project.role = access_.RoleIn(caller, project_id);
  return team_.CheckNoEscalation(in_project, granted);
}

Result<Project> Projects::Apply(StoreReader& reads, const Membership& caller, Project project,
                                const ProjectInput& in) {
  if (in.name) {
    auto name = validation::ProjectName(*in.name);
    if (!name) return name.error();
    for (const auto& other : reads.Projects(caller.workspace_id)) {
      // Names are matched case-insensitively where people type them (bulk CSV invitations).
      if (other.id != project.id && Lower(other.name) == Lower(*name)) {
        return Error::Conflict("project_name_taken",
                               "A project named '" + other.name + "' exists already.", "name");
      }
    }
    project.name = *name;
  }
  if (in.environment) {
    if (!IsProjectEnvironment(*in.environment)) {
      return Error::Invalid("invalid_environment", "environment",
                            "environment is development, staging or production.");
    }
    project.environment = *in.environment;
  }
  if (Status st = CheckLimit(in.rate_limit_per_minute, "rate_limit.per_minute"); !st.ok()) {
    return st.error();
  }
  if (Status st = CheckLimit(in.rate_limit_per_month, "rate_limit.per_month"); !st.ok()) {
    return st.error();
  }
  if (in.rate_limit_per_minute) project.rate_limit_per_minute = *in.rate_limit_per_minute;
  if (in.rate_limit_per_month) project.rate_limit_per_month = *in.rate_limit_per_month;
  return project;
}

ProjectView Projects::ViewOf(const Membership& caller, Project project) {
  ProjectView v;
  v.role = access_.RoleIn(caller, project.id);
  v.permissions = access_.PermissionsOf(caller.workspace_id, v.role);
  v.project = std::move(project);
  return v;
}

void Projects::ChangedAfterCommit(WriteTx& tx, const std::string& workspace_id, bool keys) {
  tx.AfterCommit([this, workspace_id] { access_.ForgetProjects(workspace_id); });
  if (keys) keys_.ReindexAfterCommit(tx, workspace_id);
}

Result<ProjectPage> Projects::List(const Membership& caller, const std::string& cursor, int limit) {
  // Keyset on (name, id), compared bytewise: the store's collation may differ per backend.
  std::optional<std::pair<std::string, std::string>> after;
  if (!cursor.empty()) {
    auto position = DecodeProjectCursor(cursor);
    if (!position) {
      return Error::BadRequest("invalid_cursor", "The cursor is not valid.", "cursor");
    }
    after.emplace(std::move(position->name), std::move(position->id));
  }
  auto visible = access_.VisibleProjects(caller);
  std::vector<Project> all;
  if (!visible.empty()) {
    for (auto& p : store_.Projects(caller.workspace_id)) {
      if (std::find(visible.begin(), visible.end(), p.id) != visible.end())
        all.push_back(std::move(p));
    }
  }
  std::sort(all.begin(), all.end(), [](const Project& a, const Project& b) {
    return std::tie(a.name, a.id) < std::tie(b.name, b.id);
  });
  ProjectPage page;
  page.total = static_cast<int64_t>(all.size());
  for (auto& p : all) {
    if (after && std::tie(p.name, p.id) <= std::tie(after->first, after->second)) continue;
    if (page.projects.size() == static_cast<size_t>(limit)) {
      const Project& last = page.projects.back().project;
      page.next_cursor = EncodeProjectCursor({last.name, last.id});
      break;
    }
    page.projects.push_back(ViewOf(caller, std::move(p)));
  }
  return page;
}

Result<ProjectView> Projects::Get(const Membership& caller, const std::string& project_id) {
  auto p = Visible(caller, project_id);
  if (!p) return p.error();
  const std::string& ws = caller.workspace_id;
  ProjectView v = ViewOf(caller, std::move(*p));
  auto members = store_.Members(ws);
  for (const auto& pm : store_.ProjectMembers(ws)) {
    if (pm.project_id != project_id) continue;
    ProjectMemberView m{pm.user_id, "", "", pm.role, access_.RoleName(ws, pm.role), pm.added_at};
    for (const auto& member : members) {
      if (member.user.id == pm.user_id) {
        m.name = member.user.name;
        m.email = member.user.email;
      }
    }
    v.members.push_back(std::move(m));
  }
  return v;
}

Result<ProjectView> Projects::Create(const Principal& p, const Membership& caller,
                                     const ProjectInput& in) {
  if (!in.name) return Error::Invalid("required", "name", "'name' is required.");
  auto created = store_.Write([&](WriteTx& tx) -> Result<ProjectView> {
    auto me = access_.Recheck(tx, caller, "projects.manage");
    if (!me) return me.error();
    UnixTime now = clock_.Now();
    Project project;
    project.id = NewId("prj");
    project.workspace_id = caller.workspace_id;
    project.created_at = now;
    project.updated_at = now;
    auto valid = Apply(tx, *me, project, in);
    if (!valid) return valid.error();
    // A creator who does not see every project would lose sight of the project at once:
    // they join it with their workspace role.
    bool join = !access_.Can(*me, "projects.view_all");
    if (Status st = tx.InsertProject(*valid); !st.ok()) return st.error();
    if (join) tx.PutProjectMember({valid->id, valid->workspace_id, me->user_id, me->role, now});
    AppendAudit(tx, p,
                {valid->workspace_id, "project.created", "project", valid->id, valid->name,
                 valid->id, ProjectJson(*valid).dump()},
                now);
    ChangedAfterCommit(tx, valid->workspace_id, false);
    ProjectView v;
    v.project = *valid;
    return v;
  });
  if (!created) return created.error();
  return ViewOf(caller, std::move(created->project));
}

Result<ProjectView> Projects::Update(const Principal& p, const Membership& caller,
                                     const std::string& project_id, const ProjectInput& in) {
  auto updated = store_.Write([&](WriteTx& tx) -> Result<Project> {
    auto m = LockManaged(tx, caller, project_id);
    if (!m) return m.error();
    auto valid = Apply(tx, m->caller, m->project, in);
    if (!valid) return valid.error();
    nlohmann::json from = ProjectJson(m->project), to = ProjectJson(*valid);
    if (from == to) return valid;
    UnixTime now = clock_.Now();
    valid->updated_at = now;
    if (Status st = tx.UpdateProject(*valid); !st.ok()) return st.error();
    AppendAudit(tx, p,
                {valid->workspace_id, "project.updated", "project", valid->id, valid->name,
                 valid->id, nlohmann::json{{"from", from}, {"to", to}}.dump()},
                now);
    bool limits = valid->rate_limit_per_minute != m->project.rate_limit_per_minute ||
                  valid->rate_limit_per_month != m->project.rate_limit_per_month;
    ChangedAfterCommit(tx, valid->workspace_id, limits);
    return valid;
  });
  if (!updated) return updated.error();
  return ViewOf(caller, std::move(*updated));
}

Status Projects::Delete(const Principal& p, const Membership& caller,
                        const std::string& project_id) {
  return store_.Write([&](WriteTx& tx) -> Status {
    auto m = LockManaged(tx, caller, project_id);
    if (!m) return m.error();
    // The store would turn the project's keys into workspace-wide keys (ON DELETE SET NULL):
    // a key scoped to one project must never outlive that scope. Read under the workspace
    // lock, which key creation takes too.
    for (const auto& k : tx.ApiKeys(caller.workspace_id)) {
      if (k.project_id == project_id && !k.revoked_at) {
        return Error::Conflict("project_has_keys",
                               "The project has live API keys; revoke them first.");
      }
    }
    UnixTime now = clock_.Now();
    if (!tx.DeleteProject(caller.workspace_id, project_id)) return Error::NotFound("project");
    AppendAudit(tx, p,
                {caller.workspace_id, "project.deleted", "project", project_id, m->project.name,
                 project_id, ProjectJson(m->project).dump()},
                now);
    ChangedAfterCommit(tx, caller.workspace_id, true);
    return {};
  });
}

Result<ProjectMemberView> Projects::PutMember(const Principal& p, const Membership& caller,
                                              const std::string& project_id,
                                              const std::string& user_id, const std::string& role) {
  const std::string& ws = caller.workspace_id;
  return store_.Write([&](WriteTx& tx) -> Result<ProjectMemberView> {
    auto m = LockManaged(tx, caller, project_id);
    if (!m) return m.error();
    const Membership& me = m->caller;
    const Project& project = m->project;
    auto target = IsWellFormedId(user_id, "usr") ? tx.MemberOf(ws, user_id) : std::nullopt;
    if (!target) return Error::NotFound("member");
    const Catalogue& c = access_.catalogue();
    if (!c.owner_role.empty() && target->membership.role == c.owner_role) {
      return Error::Conflict("owner_protected", "The owner has full access to every project.");
    }
    if (!access_.RoleExists(ws, role) || (!c.owner_role.empty() && role == c.owner_role)) {
      return Error::Invalid("invalid_role", "role",
                            !access_.RoleExists(ws, role)
                                ? "Unknown role '" + role + "'."
                                : "Ownership is workspace-wide; it is no role inside a project.");
    }
    // The caller must hold, in the project, what the member can do there now and after.
    Catalogue::Set before;
    if (access_.CanSeeProject(target->membership, project_id)) {
      before = access_.PermissionsIn(target->membership, project_id);
    }
    if ((before & ~access_.PermissionsIn(me, project_id)).any()) {
      return Error::Forbidden("This member can do more in " + project.name +
                              " than you; you cannot change their access there.");
    }
    if (Status st = CheckNoEscalationIn(me, project_id, access_.PermissionsOf(ws, role));
        !st.ok()) {
      return st.error();
    }
    std::optional<std::string> from;
    UnixTime now = clock_.Now();
    UnixTime added_at = now;  // a changed role keeps the date the member was first added
    for (const auto& pm : tx.ProjectMembers(ws)) {
      if (pm.project_id == project_id && pm.user_id == user_id) {
        from = pm.role;
        added_at = pm.added_at;
      }
    }
    ProjectMemberView view{user_id, target->user.name,          target->user.email,
                           role,    access_.RoleName(ws, role), added_at};
    if (from && *from == role) return view;
    nlohmann::json details = {{"role", role},
                              {"role_name", view.role_name},
                              {"from", from ? nlohmann::json(*from) : nlohmann::json(nullptr)},
                              {"project_name", project.name}};
    tx.PutProjectMember({project_id, ws, user_id, role, now});
    AppendAudit(tx, p,
                {ws, "project.member_added", "user", user_id, target->user.name, project_id,
                 details.dump()},
                now);
    ChangedAfterCommit(tx, ws, false);
    return view;
  });
}

Status Projects::RemoveMember(const Principal& p, const Membership& caller,
                              const std::string& project_id, const std::string& user_id) {
  const std::string& ws = caller.workspace_id;
  return store_.Write([&](WriteTx& tx) -> Status {
    auto m = LockManaged(tx, caller, project_id);
    if (!m) return m.error();
    const Project& project = m->project;
    auto target = IsWellFormedId(user_id, "usr") ? tx.MemberOf(ws, user_id) : std::nullopt;
    std::optional<std::string> role;
    if (target) {
      for (const auto& pm : tx.ProjectMembers(ws)) {
        if (pm.project_id == project_id && pm.user_id == user_id) role = pm.role;
      }
    }
    if (!role) return Error::NotFound("project member");
    const Catalogue::Set mine = access_.PermissionsIn(m->caller, project_id);
    if ((access_.PermissionsOf(ws, *role) & ~mine).any()) {
      return Error::Forbidden("This member can do more in " + project.name +
                              " than you; you cannot change their access there.");
    }
    // Without the project role, a member who sees every project acts there with their
    // workspace role again; anyone else loses sight of the project.
    if (access_.Can(target->membership, "projects.view_all")) {
      if (Status st = CheckNoEscalationIn(m->caller, project_id,
                                          access_.PermissionsOf(ws, target->membership.role));
          !st.ok()) {
        return st.error();
      }
    }
    UnixTime now = clock_.Now();
    nlohmann::json details = {{"role", *role}, {"project_name", project.name}};
    if (!tx.DeleteProjectMember(project_id, user_id)) return Error::NotFound("project member");
    AppendAudit(tx, p,
                {ws, "project.member_removed", "user", user_id, target->user.name, project_id,
                 details.dump()},
                now);
    ChangedAfterCommit(tx, ws, false);
    return {};
  });
}

}  // namespace gh
