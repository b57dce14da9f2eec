#include "service/access.h"

#include <algorithm>

#include "core/ids.h"
#include "core/key_rules.h"
#include "service/ip_allowlist.h"

namespace gh {
namespace {
constexpr UnixTime kRoleBookTtl = 2;
}

Access::Access(Store& store, const Catalogue& catalogue, IdentityCache& cache, const Clock& clock)
    : store_(store), catalogue_(catalogue), cache_(cache), clock_(clock) {}

Access::RoleBook& Access::BookOf(const std::string& ws) {
  UnixTime now = clock_.Now();
  auto it = books_.find(ws);
  if (it != books_.end() && now - it->second.loaded_at < kRoleBookTtl) return it->second;
  RoleBook book;
  book.loaded_at = now;
  for (const auto& r : store_.CustomRoles(ws)) {
    auto set = catalogue_.SetOf(r.permissions);
    // A permission the catalogue no longer has (a deployment changed its file) grants nothing.
    Catalogue::Set granted;
    if (set.ok()) {
      granted = *set;
    } else {
      for (const auto& p : r.permissions) {
        if (auto one = catalogue_.SetOf({p}); one.ok()) granted |= *one;
      }
    }
    book.roles.push_back({r.id, r.name, granted});
  }
  if (books_.size() > 10000) books_.clear();
  return books_[ws] = std::move(book);
}

const Access::CompiledRole* Access::FindCustom(const RoleBook& book, const std::string& role) const {
  for (const auto& r : book.roles) {
    if (r.id == role) return &r;
  }
  return nullptr;
}

Catalogue::Set Access::PermissionsOf(const std::string& ws, const std::string& role) {
  if (const Catalogue::Role* r = catalogue_.FindRole(role)) return r->permissions;
  if (role.rfind("role_", 0) != 0) return {};
  std::lock_guard lock(mu_);
  const CompiledRole* custom = FindCustom(BookOf(ws), role);
  return custom ? custom->permissions : Catalogue::Set{};
}

bool Access::RoleExists(const std::string& ws, const std::string& role) {
  if (catalogue_.FindRole(role)) return true;
  if (role.rfind("role_", 0) != 0) return false;
  std::lock_guard lock(mu_);
  return FindCustom(BookOf(ws), role) != nullptr;
}

std::string Access::RoleName(const std::string& ws, const std::string& role) {
  if (const Catalogue::Role* r = catalogue_.FindRole(role)) return r->name;
  std::lock_guard lock(mu_);
  const CompiledRole* custom = FindCustom(BookOf(ws), role);
  return custom ? custom->name : role;
}

bool Access::Can(const Membership& m, std::string_view permission) {
  return gh::Can(PermissionsOf(m.workspace_id, m.role), catalogue_.Resolve(permission));
}

void Access::ForgetRoles(const std::string& ws) {
  std::lock_guard lock(mu_);
  books_.erase(ws);
}

const ProjectBook::Entry* ProjectBook::Find(std::string_view project_id) const {
  for (const auto& p : projects) {
    if (p.id == project_id) return &p;
  }
  return nullptr;
}

const std::string* ProjectBook::RoleOf(const std::string& user_id,
                                       std::string_view project_id) const {
  for (const auto& a : AssignmentsOf(user_id)) {
    if (a.project_id == project_id) return &a.role;
  }
  return nullptr;
}

const std::vector<ProjectBook::Assignment>& ProjectBook::AssignmentsOf(
    const std::string& user_id) const {
  static const std::vector<Assignment> kNone;
  auto it = by_user.find(user_id);
  return it == by_user.end() ? kNone : it->second;
}

std::shared_ptr<const ProjectBook> Access::ProjectsOf(const std::string& ws) {
  UnixTime now = clock_.Now();
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    auto it = project_books_.find(ws);
    if (it != project_books_.end() && now - it->second->loaded_at < kRoleBookTtl) {
      return it->second;
    }
    generation = project_generation_;
  }
  // Loaded without the lock: other workspaces' decisions do not wait for this one's queries.
  auto book = std::make_shared<ProjectBook>();
  book->loaded_at = now;
  for (auto& p : store_.Projects(ws)) {
    book->projects.push_back({std::move(p.id), std::move(p.name)});
  }
  absl::flat_hash_map<std::string, size_t> rank;  // project id -> position by name
  for (size_t i = 0; i < book->projects.size(); ++i) rank[book->projects[i].id] = i;
  for (auto& pm : store_.ProjectMembers(ws)) {
    if (!rank.count(pm.project_id)) continue;  // created after the project list was read
    book->by_user[pm.user_id].push_back({std::move(pm.project_id), std::move(pm.role)});
  }
  for (auto& [user, list] : book->by_user) {
    std::sort(list.begin(), list.end(), [&](const auto& a, const auto& b) {
      return rank[a.project_id] < rank[b.project_id];
    });
  }
  std::lock_guard lock(mu_);
  if (generation == project_generation_) {
    if (project_books_.size() > 10000) project_books_.clear();
    project_books_[ws] = book;
  }
  return book;
}

std::string Access::RoleIn(const Membership& m, const std::string& project_id) {
  // The owner has full access everywhere: no project role can lock them out of a project.
  if (!catalogue_.owner_role.empty() && m.role == catalogue_.owner_role) return m.role;
  auto book = ProjectsOf(m.workspace_id);
  const std::string* role = book->RoleOf(m.user_id, project_id);
  return role ? *role : m.role;
}

Catalogue::Set Access::PermissionsIn(const Membership& m, const std::string& project_id) {
  return PermissionsOf(m.workspace_id, RoleIn(m, project_id));
}

bool Access::CanIn(const Membership& m, const std::string& project_id,
                   std::string_view permission) {
  return gh::Can(PermissionsIn(m, project_id), catalogue_.Resolve(permission));
}

bool Access::SeesAllProjects(const Membership& m) { return Can(m, "projects.view_all"); }

bool Access::CanSeeProject(const Membership& m, const std::string& project_id) {
  auto book = ProjectsOf(m.workspace_id);
  if (!book->Find(project_id)) return false;
  return SeesAllProjects(m) || book->RoleOf(m.user_id, project_id) != nullptr;
}

std::vector<std::string> Access::VisibleProjects(const Membership& m) {
  auto book = ProjectsOf(m.workspace_id);
  std::vector<std::string> out;
  if (SeesAllProjects(m)) {
    for (const auto& p : book->projects) out.push_back(p.id);
  } else {
    for (const auto& a : book->AssignmentsOf(m.user_id)) out.push_back(a.project_id);
  }
  return out;
}

void Access::ForgetProjects(const std::string& ws) {
  std::lock_guard lock(mu_);
  project_books_.erase(ws);
  ++project_generation_;
}

std::vector<std::string> Access::PermissionIds(const Catalogue::Set& set) const {
  std::vector<std::string> out = catalogue_.Ids(set);
  for (auto sp : kSystemPermissions) {
    std::string id(sp);
    if (catalogue_.system_map.count(id) && gh::Can(set, catalogue_.Resolve(id))) out.push_back(id);
  }
  return out;
}

Result<CheckAnswer> Access::Check(const std::string& ws, const CheckSubject& subject,
                                  const std::string& project_id, std::string_view permission) {
  auto no = [](std::string reason) { return CheckAnswer{false, "", std::move(reason)}; };
  std::string user_id = subject.id;
  bool is_key = subject.type == CheckSubject::Type::kApiKey;
  if (is_key) {
    auto k = IsWellFormedId(subject.id, "key") ? store_.ApiKeyById(ws, subject.id) : std::nullopt;
    if (!k) return no("The API key does not exist in this workspace.");
    switch (StateOf(*k, clock_.Now())) {
      case KeyState::kRevoked:
        return no("The API key is revoked.");
      case KeyState::kSuspended:
        return no("The API key's owner is suspended in this workspace.");
      case KeyState::kExpired:
        return no("The API key has expired.");
      case KeyState::kLive:
        break;
    }
    if (k->type != KeyType::kSecret) return no("Publishable keys hold no permissions.");
    user_id = k->owner_id;
  }
  auto m = IsWellFormedId(user_id, "usr") ? store_.MembershipOf(ws, user_id) : std::nullopt;
  if (!m) {
    return no(is_key ? "The key's owner is no longer a member."
                     : "The user is not a member of the workspace.");
  }
  if (m->deactivated_at) return no("The member is deactivated by the workspace's directory.");
  if (m->suspended_at) return no("The member is suspended in this workspace.");
  bool in_project = !project_id.empty();
  if (in_project && (!IsWellFormedId(project_id, "prj") || !store_.ProjectById(ws, project_id))) {
    return Error::Invalid("invalid_project", "project_id", "Unknown project.");
  }
  // Inside a project the member acts with their project role there, when they hold one.
  std::string role = in_project ? RoleIn(*m, project_id) : m->role;
  std::string role_name = RoleName(ws, role);
  bool allowed = in_project ? CanIn(*m, project_id, permission) : Can(*m, permission);
  std::string verb = allowed ? " grants " : " does not grant ";
  return CheckAnswer{allowed, role, "The role " + role_name + verb + std::string(permission) + "."};
}

Error Access::Suspended() {
  return Error{ErrorKind::kForbidden, "member_suspended",
               "Your membership of this workspace is suspended. Ask an administrator of the "
               "workspace.",
               {}};
}

Result<Membership> Access::Recheck(WriteTx& tx, const Membership& caller,
                                   std::string_view permission) {
  const std::string& ws = caller.workspace_id;
  if (!tx.LockWorkspace(ws)) return Error::NotFound("workspace");
  auto m = tx.MembershipOf(ws, caller.user_id);
  if (!m) return Error::NotFound("workspace");
  if (m->deactivated_at) {
    return Error{ErrorKind::kForbidden, "member_deactivated",
                 "Your membership of this workspace is deactivated by its directory.", {}};
  }
  if (m->suspended_at) return Suspended();
  if (!permission.empty() && !Can(*m, permission)) {
    return Error::Forbidden("Your role (" + RoleName(ws, m->role) + ") lacks the permission " +
                            std::string(permission) + ".");
  }
  return *m;
}

Result<Membership> Access::Authorize(const Principal& p, const std::string& ws,
                                     std::string_view permission) {
  if (!IsWellFormedId(ws, "ws")) return Error::NotFound("workspace");
  UnixTime now = clock_.Now();
  auto list = cache_.Memberships(p.user.id, now);
  if (!list) {
    list = std::make_shared<const std::vector<WorkspaceWithRole>>(store_.WorkspacesOfUser(p.user.id));
    cache_.PutMemberships(p.user.id, list, now);
  }
  const Membership* m = nullptr;
  const Workspace* workspace = nullptr;
  for (const auto& w : *list) {
    if (w.workspace.id == ws) {
      m = &w.membership;
      workspace = &w.workspace;
    }
  }
  if (!m) return Error::NotFound("workspace");
  // A member the directory deactivated keeps nothing of the workspace but the right to be
  // told so; reactivation restores everything.
  if (m->deactivated_at) {
    return Error{ErrorKind::kForbidden, "member_deactivated",
                 "Your membership of this workspace is deactivated by its directory. Ask an "
                 "administrator of the workspace.",
                 {}};
  }
  // Suspended by an admin: refused until unsuspended (the session elsewhere is untouched).
  if (m->suspended_at) return Suspended();
  bool require_mfa = workspace->require_mfa;
  // The IP allowlist binds sessions and API keys alike: it is about where a request comes
  // from, not how it authenticated. The member still sees the workspace in their lists.
  if (!IpAllowedIn(*workspace, p.client.ip)) {
    return Error{ErrorKind::kForbidden, "ip_not_allowed",
                 "This workspace accepts requests only from its IP allowlist, and your address (" +
                     (p.client.ip.empty() ? std::string("unknown") : p.client.ip) +
                     ") is not on it.",
                 {}};
  }
  // A workspace that requires two-factor authentication admits people who have it; API keys
  // are credentials of their own and are not asked for it.
  if (require_mfa && !p.user.mfa_enabled && p.api_key_id.empty()) {
    return Error{ErrorKind::kForbidden, "mfa_enrollment_required",
                 "This workspace requires two-factor authentication. Turn it on for your "
                 "account (POST /v1/me/mfa/totp) to continue.",
                 {}};
  }
  // A workspace that enforces SSO admits sessions its own SSO made. The owner keeps password
  // access (break-glass; the sign-in is audited), and API keys are credentials of their own.
  if (workspace->sso_enforced && p.api_key_id.empty() && p.scope_workspace_id != ws) {
    const std::string& glass =
        catalogue_.owner_role.empty() ? catalogue_.creator_role : catalogue_.owner_role;
    if (m->role != glass) {
      Error e{ErrorKind::kForbidden, "sso_required",
              "This workspace requires single sign-on. Sign in through your identity provider.",
              {}};
      e.extensions = {{"sso_url", "/v1/sso/authorize?workspace=" + ws}};
      return e;
    }
  }
  if (!permission.empty() && !Can(*m, permission)) {
    return Error::Forbidden("Your role (" + RoleName(ws, m->role) + ") lacks the permission " +
                            std::string(permission) + ".");
  }
  return *m;
}

}  // namespace gh
