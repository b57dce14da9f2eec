#include "service/team.h"

#include <nlohmann/json.hpp>

#include "core/cursor.h"
#include "core/ids.h"
#include "core/validation.h"
#include "service/audit.h"

namespace gh {
namespace {

Error OwnerProtected() {
  return Error::Conflict("owner_protected",
                         "The owner cannot be removed or demoted; transfer ownership first.");
}

Error LastManager(const std::string& role_name) {
  return Error::Conflict("last_admin", "The workspace needs at least one " + role_name + ".");
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Team::Team(Store& store, const Config& config, Access& access, IdentityCache& cache,
           const Clock& clock)
    : store_(store), config_(config), access_(access), cache_(cache), clock_(clock) {}

Result<MemberPage> Team::Members(const Membership& caller, const std::string& cursor, int limit) {
  const std::string& ws = caller.workspace_id;
  UnixTime now = clock_.Now();
  auto all = cache_.Members(ws, now);
  if (!all) {
    all = std::make_shared<const std::vector<Member>>(store_.Members(ws));
    cache_.PutMembers(ws, all, now);
  }
  // Keyset on (joined_at, membership id), the list's order: stable while members come and go.
  size_t start = 0;
  if (!cursor.empty()) {
    auto position = DecodeMemberCursor(cursor);
    if (!position) {
      return Error::BadRequest("invalid_cursor", "The cursor is not valid.", "cursor");
    }
    UnixTime joined = position->joined_at;
    const std::string& id = position->id;
    auto after = [&](const Member& m) {
      return m.membership.joined_at > joined ||
             (m.membership.joined_at == joined && m.membership.id > id);
    };
    while (start < all->size() && !after((*all)[start])) ++start;
  }
  MemberPage page;
  page.total = static_cast<int64_t>(all->size());
  size_t end = std::min(all->size(), start + static_cast<size_t>(limit));
  page.members.assign(all->begin() + static_cast<std::ptrdiff_t>(start),
                      all->begin() + static_cast<std::ptrdiff_t>(end));
  if (end < all->size()) {
    const Membership& last = page.members.back().membership;
    page.next_cursor = EncodeMemberCursor({last.joined_at, last.id});
  }
  return page;
}

Status Team::CheckNoEscalation(const Membership& caller, const Catalogue::Set& granted) {
  Catalogue::Set held = access_.PermissionsOf(caller.workspace_id, caller.role);
  Catalogue::Set excess = granted & ~held;
  if (excess.none()) return {};
  auto ids = access_.catalogue().Ids(excess);
  return Error{ErrorKind::kForbidden, "privilege_escalation",
               "You cannot grant permissions you do not hold yourself: " + ids.front() +
                   (ids.size() > 1 ? " and " + std::to_string(ids.size() - 1) + " more" : "") +
                   ".",
               "permissions"};
}

bool Team::IsLastManager(const std::string& ws, const Membership& target) {
  const Catalogue& c = access_.catalogue();
  if (!c.owner_role.empty() || target.role != c.creator_role) return false;
  return store_.CountMembersWithRole(ws, c.creator_role) <= 1;
}

Result<Member> Team::ChangeRole(const Principal& p, const Membership& caller,
                                const std::string& user_id, const std::string& role) {
  const std::string& ws = caller.workspace_id;
  const Catalogue& c = access_.catalogue();
  auto target = store_.MemberOf(ws, user_id);
  if (!target) return Error::NotFound("member");
  if (!access_.RoleExists(ws, role)) {
    return Error::Invalid("invalid_role", "role", "Unknown role '" + role + "'.");
  }
  if (!c.owner_role.empty() && target->membership.role == c.owner_role) return OwnerProtected();
  if (!c.owner_role.empty() && role == c.owner_role) {
    return Error::Invalid("use_transfer_ownership", "role",
                          "Ownership moves only with POST …/transfer-ownership.");
  }
  if (Status st = CheckNoEscalation(caller, access_.PermissionsOf(ws, role)); !st.ok()) {
    return st.error();
  }
  std::string from = target->membership.role;
  if (from == role) return *target;
  if (IsLastManager(ws, target->membership)) return LastManager(c.FindRole(c.creator_role)->name);
  UnixTime now = clock_.Now();
  auto tx = store_.Begin();
  tx->UpdateMemberRole(ws, user_id, role);
  nlohmann::json details = {{"from", from}, {"to", role},
                            {"from_name", access_.RoleName(ws, from)},
                            {"to_name", access_.RoleName(ws, role)}};
  AppendAudit(*tx, p, {ws, "member.role_changed", "user", user_id, target->user.name, "",
                       details.dump()},
              now);
  tx->Commit();
  cache_.ForgetMemberships();
  target->membership.role = role;
  return *target;
}

Result<int> Team::Remove(const Principal& p, const Membership& caller, const std::string& user_id,
                         bool revoke_keys) {
  const std::string& ws = caller.workspace_id;
  const Catalogue& c = access_.catalogue();
  auto target = store_.MemberOf(ws, user_id);
  if (!target) return Error::NotFound("member");
  if (!c.owner_role.empty() && target->membership.role == c.owner_role) return OwnerProtected();
  if (IsLastManager(ws, target->membership)) return LastManager(c.FindRole(c.creator_role)->name);
  UnixTime now = clock_.Now();
  auto tx = store_.Begin();
  int revoked = RemoveInTx(*tx, p, *target, revoke_keys, "removed", now);
  tx->Commit();
  ForgetRemoved(ws);
  return revoked;
}

int Team::RemoveInTx(WriteTx& tx, const Principal& p, const Member& target, bool revoke_keys,
                     const std::string& reason, UnixTime now) {
  const std::string& ws = target.membership.workspace_id;
  const std::string& user_id = target.membership.user_id;
  int revoked = 0;
  if (revoke_keys && revoke_keys_) revoked = revoke_keys_(tx, ws, user_id);
  tx.DeleteMembership(ws, user_id);
  nlohmann::json details = {{"role", target.membership.role},
                            {"email", target.user.email},
                            {"revoke_keys", revoke_keys},
                            {"revoked_keys", revoked}};
  if (reason != "removed") details["reason"] = reason;
  AppendAudit(tx, p, {ws, "member.removed", "user", user_id, target.user.name, "",
                      details.dump()},
              now);
  return revoked;
}

void Team::ForgetRemoved(const std::string& ws) {
  cache_.ForgetMemberships();
  access_.ForgetProjects(ws);  // the store dropped their project roles with the membership
}

Status Team::TransferOwnership(const Principal& p, const Membership& caller,
                               const std::string& user_id) {
  const std::string& ws = caller.workspace_id;
  const Catalogue& c = access_.catalogue();
  if (c.owner_role.empty()) {
    return Error::Invalid("not_supported", "user_id",
                          "The " + c.id + " preset has no owner role to transfer.");
  }
  if (caller.role != c.owner_role) {
    return Error::Forbidden("Only the owner can transfer ownership.");
  }
  if (user_id == caller.user_id) {
    return Error::Invalid("invalid_user", "user_id", "You are the owner already.");
  }
  auto target = store_.MemberOf(ws, user_id);
  if (!target) return Error::Invalid("not_a_member", "user_id", "That user is not a member.");
  // The former owner keeps managing the workspace as the strongest non-owner built-in role.
  std::string demoted_to = c.FindRole("admin") ? "admin" : c.default_invite_role;
  UnixTime now = clock_.Now();
  auto tx = store_.Begin();
  tx->UpdateMemberRole(ws, user_id, c.owner_role);
  tx->UpdateMemberRole(ws, caller.user_id, demoted_to);
  nlohmann::json details = {{"from_user_id", caller.user_id},
                            {"to_user_id", user_id},
                            {"previous_role", target->membership.role},
                            {"former_owner_role", demoted_to}};
  AppendAudit(*tx, p, {ws, "workspace.ownership_transferred", "user", user_id, target->user.name,
                       "", details.dump()},
              now);
  tx->Commit();
  cache_.ForgetMemberships();
  return {};
}

RoleView Team::ViewOf(const CustomRole& r) {
  return {r.id, r.name, r.description, false, r.permissions,
          store_.CountMembersWithRole(r.workspace_id, r.id)};
}

std::vector<RoleView> Team::Roles(const Membership& caller) {
  const std::string& ws = caller.workspace_id;
  std::vector<RoleView> out;
  for (const auto& r : access_.catalogue().roles) {
    out.push_back({r.id, r.name, r.description, true, access_.catalogue().Ids(r.permissions),
                   store_.CountMembersWithRole(ws, r.id)});
  }
  for (const auto& r : store_.CustomRoles(ws)) out.push_back(ViewOf(r));
  return out;
}

Result<CustomRole> Team::ValidateRole(const Membership& caller, CustomRole role,
                                      const RoleInput& in) {
  if (in.name) {
    std::string name = validation::Trim(*in.name);
    if (name.empty() || validation::CodePoints(name) > 50 || !validation::IsValidUtf8(name)) {
      return Error::Invalid("invalid_name", "name", "A role name has 1 to 50 characters.");
    }
    for (const auto& builtin : access_.catalogue().roles) {
      if (Lower(builtin.name) == Lower(name) || Lower(builtin.id) == Lower(name)) {
        return Error::Conflict("role_name_taken", "'" + name + "' is a built-in role.", "name");
      }
    }
    // Names are matched case-insensitively wherever they are looked up (bulk CSV invitations),
    // so two roles may not differ only in case.
    for (const auto& other : store_.CustomRoles(caller.workspace_id)) {
      if (other.id != role.id && Lower(other.name) == Lower(name)) {
        return Error::Conflict("role_name_taken", "A role named '" + other.name + "' exists.",
                               "name");
      }
    }
    role.name = name;
  }
  if (in.description) {
    if (validation::CodePoints(*in.description) > 500 || !validation::IsValidUtf8(*in.description)) {
      return Error::Invalid("invalid_description", "description",
                            "A description has at most 500 characters.");
    }
    role.description = *in.description;
  }
  if (in.permissions) {
    auto set = access_.catalogue().SetOf(*in.permissions);
    if (!set) return set.error();
    if (Status st = CheckNoEscalation(caller, *set); !st.ok()) return st.error();
    role.permissions = access_.catalogue().Ids(*set);  // canonical order, no duplicates
  }
  return role;
}

Result<RoleView> Team::CreateRole(const Principal& p, const Membership& caller,
                                  const RoleInput& in) {
  if (!in.name) return Error::Invalid("required", "name", "'name' is required.");
  if (!in.permissions) return Error::Invalid("required", "permissions", "'permissions' is required.");
  UnixTime now = clock_.Now();
  CustomRole r;
  r.id = NewId("role");
  r.workspace_id = caller.workspace_id;
  r.created_at = now;
  r.updated_at = now;
  auto valid = ValidateRole(caller, r, in);
  if (!valid) return valid.error();
  auto tx = store_.Begin();
  if (Status st = tx->InsertCustomRole(*valid); !st.ok()) return st.error();
  nlohmann::json details = {{"name", valid->name}, {"permissions", valid->permissions}};
  AppendAudit(*tx, p, {r.workspace_id, "role.created", "role", r.id, valid->name, "",
                       details.dump()},
              now);
  tx->Commit();
  access_.ForgetRoles(r.workspace_id);
  return ViewOf(*valid);
}

Result<RoleView> Team::UpdateRole(const Principal& p, const Membership& caller,
                                  const std::string& role_id, const RoleInput& in) {
  const std::string& ws = caller.workspace_id;
  if (access_.catalogue().FindRole(role_id)) {
    return Error::Conflict("builtin_role", "Built-in roles cannot be changed.");
  }
  auto current = store_.CustomRoleById(ws, role_id);
  if (!current) return Error::NotFound("role");
  // Editing a role that holds more than the caller would hand out its excess again.
  auto held = access_.catalogue().SetOf(current->permissions);
  if (held.ok()) {
    if (Status st = CheckNoEscalation(caller, *held); !st.ok()) return st.error();
  }
  auto valid = ValidateRole(caller, *current, in);
  if (!valid) return valid.error();
  UnixTime now = clock_.Now();
  valid->updated_at = now;
  auto tx = store_.Begin();
  if (Status st = tx->UpdateCustomRole(*valid); !st.ok()) return st.error();
  nlohmann::json details = {{"from", {{"name", current->name}, {"permissions", current->permissions}}},
                            {"to", {{"name", valid->name}, {"permissions", valid->permissions}}}};
  AppendAudit(*tx, p, {ws, "role.updated", "role", role_id, valid->name, "", details.dump()}, now);
  tx->Commit();
  access_.ForgetRoles(ws);
  return ViewOf(*valid);
}

Status Team::DeleteRole(const Principal& p, const Membership& caller, const std::string& role_id) {
  const std::string& ws = caller.workspace_id;
  if (access_.catalogue().FindRole(role_id)) {
    return Error::Conflict("builtin_role", "Built-in roles cannot be deleted.");
  }
  auto current = store_.CustomRoleById(ws, role_id);
  if (!current) return Error::NotFound("role");
  if (store_.CountMembersWithRole(ws, role_id) > 0) {
    return Error::Conflict("role_in_use", "Members hold this role; give them another role first.");
  }
  for (const auto& pm : store_.ProjectMembers(ws)) {
    if (pm.role == role_id) {
      return Error::Conflict("role_in_use", "Members hold this role inside a project.");
    }
  }
  for (const auto& inv : store_.Invitations(ws, true, clock_.Now())) {
    if (inv.role == role_id) {
      return Error::Conflict("role_in_use", "A pending invitation grants this role; revoke it first.");
    }
  }
  UnixTime now = clock_.Now();
  auto tx = store_.Begin();
  tx->DeleteCustomRole(ws, role_id);
  AppendAudit(*tx, p, {ws, "role.deleted", "role", role_id, current->name, "", "{}"}, now);
  tx->Commit();
  access_.ForgetRoles(ws);
  return {};
}

}  // namespace gh
