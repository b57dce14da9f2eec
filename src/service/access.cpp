#include "service/access.h"

#include "core/ids.h"

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

std::vector<std::string> Access::PermissionIds(const Catalogue::Set& set) const {
  std::vector<std::string> out = catalogue_.Ids(set);
  for (auto sp : kSystemPermissions) {
    std::string id(sp);
    if (catalogue_.system_map.count(id) && gh::Can(set, catalogue_.Resolve(id))) out.push_back(id);
  }
  return out;
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
  for (const auto& w : *list) {
    if (w.workspace.id == ws) m = &w.membership;
  }
  if (!m) return Error::NotFound("workspace");
  if (!permission.empty() && !Can(*m, permission)) {
    return Error::Forbidden("Your role (" + RoleName(ws, m->role) + ") lacks the permission " +
                            std::string(permission) + ".");
  }
  return *m;
}

}  // namespace gh
