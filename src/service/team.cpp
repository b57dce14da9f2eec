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

Team::Team(Store& store, Access& access, IdentityCache& cache, KeyIndexSync& keys,
           const Clock& clock)
    : store_(store), access_(access), cache_(cache), keys_(keys), clock_(clock) {}

void Team::ForgetAfterCommit(WriteTx& tx, const std::string& ws, bool projects) {
  tx.AfterCommit([this, ws, projects] {
    cache_.ForgetMemberships();
    if (projects) access_.ForgetProjects(ws);  // the store dropped their project roles
  });
}

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

Status Team::CheckNotAbove(const Membership& caller, const Membership& target) {
  Catalogue::Set mine = access_.PermissionsOf(caller.workspace_id, caller.role);
  Catalogue::Set theirs = access_.PermissionsOf(target.workspace_id, target.role);
  if ((theirs & ~mine).none()) return {};
  return Error{ErrorKind::kForbidden, "member_outranks_you",
               "This member holds permissions you do not; you cannot change their role, "
               "suspend them or remove them.",
               "user_id"};
}

bool Team::IsLastManager(WriteTx& tx, const std::string& ws, const Membership& target) {
  const Catalogue& c = access_.catalogue();
  if (!c.owner_role.empty() || target.role != c.creator_role) return false;
  // Only an administrator who can act counts: a suspended or deactivated one cannot.
  for (const auto& m : tx.Members(ws)) {
    if (m.membership.role == c.creator_role && m.membership.status() == "active" &&
        m.user.id != target.user_id) {
      return false;
    }
  }
  return true;
}

Result<Member> Team::ChangeRole(const Principal& p, const Membership& caller,
                                const std::string& user_id, const std::string& role) {
  const std::string& ws = caller.workspace_id;
  const Catalogue& c = access_.catalogue();
  return store_.Write([&](WriteTx& tx) -> Result<Member> {
    // Everything below is read under the workspace lock, which every change of memberships
    // takes: two admins demoting each other cannot both see the other as the spare admin.
    auto me = access_.Recheck(tx, caller, "members.manage_roles");
    if (!me) return me.error();
    auto target = tx.MemberOf(ws, user_id);
    if (!target) return Error::NotFound("member");
    if (!access_.RoleExists(ws, role)) {
      return Error::Invalid("invalid_role", "role", "Unknown role '" + role + "'.");
    }
    if (!c.owner_role.empty() && target->membership.role == c.owner_role) return OwnerProtected();
    if (Status st = CheckNotAbove(*me, target->membership); !st.ok()) return st.error();
    if (!c.owner_role.empty() && role == c.owner_role) {
      return Error::Invalid("use_transfer_ownership", "role",
                            "Ownership moves only with POST …/transfer-ownership.");
    }
    if (Status st = CheckNoEscalation(*me, access_.PermissionsOf(ws, role)); !st.ok()) {
      return st.error();
    }
    std::string from = target->membership.role;
    if (from == role) return *target;
    if (IsLastManager(tx, ws, target->membership)) {
      return LastManager(c.FindRole(c.creator_role)->name);
    }
    UnixTime now = clock_.Now();
    tx.UpdateMemberRole(ws, user_id, role);
    nlohmann::json details = {{"from", from}, {"to", role},
                              {"from_name", access_.RoleName(ws, from)},
                              {"to_name", access_.RoleName(ws, role)}};
    AppendAudit(tx, p, {ws, "member.role_changed", "user", user_id, target->user.name, "",
                        details.dump()},
                now);
    ForgetAfterCommit(tx, ws, false);
    target->membership.role = role;
    return *target;
  });
}

Result<Removal> Team::Remove(const Principal& p, const Membership& caller,
                             const std::string& user_id, const KeyHandover& keys) {
  return store_.Write([&](WriteTx& tx) -> Result<Removal> {
    auto me = access_.Recheck(tx, caller, "members.remove");
    if (!me) return me.error();
    // Nobody removes a member who can do more than they can (the owner is refused below).
    if (auto target = tx.MembershipOf(caller.workspace_id, user_id)) {
      if (target->role != access_.catalogue().owner_role) {
        if (Status st = CheckNotAbove(*me, *target); !st.ok()) return st.error();
      }
    }
    KeyHandover handover = keys;
    if (!handover.revoke && handover.transfer_to.empty()) handover.transfer_to = me->user_id;
    return RemoveInTx(tx, p, caller.workspace_id, user_id, handover, "removed", clock_.Now());
  });
}

Result<Removal> Team::RemoveInTx(WriteTx& tx, const Principal& p, const std::string& ws,
                                 const std::string& user_id, const KeyHandover& keys,
                                 const std::string& reason, UnixTime now) {
  const Catalogue& c = access_.catalogue();
  if (!tx.LockWorkspace(ws)) return Error::NotFound("workspace");
  auto target = tx.MemberOf(ws, user_id);
  if (!target) return Error::NotFound("member");
  if (!c.owner_role.empty() && target->membership.role == c.owner_role) return OwnerProtected();
  if (IsLastManager(tx, ws, target->membership)) {
    return LastManager(c.FindRole(c.creator_role)->name);
  }
  Removal out;
  std::vector<ApiKey> changed;
  if (keys.revoke) {
    changed = tx.RevokeKeysOfOwner(ws, user_id, now);
    out.revoked_keys = static_cast<int>(changed.size());
  } else {
    // The new owner must be a member who stays: keys re-owned by someone leaving too (or by
    // a stranger) would be alive without a member behind them.
    auto heir = IsWellFormedId(keys.transfer_to, "usr") ? tx.MembershipOf(ws, keys.transfer_to)
                                                        : std::nullopt;
    if (keys.transfer_to == user_id || !heir || heir->deactivated_at || heir->suspended_at) {
      return Error::Invalid("invalid_transfer_to", "transfer_to",
                            "transfer_to must be another active member of the workspace.");
    }
    changed = tx.TransferKeysOfOwner(ws, user_id, keys.transfer_to, now);
    out.transferred_keys = static_cast<int>(changed.size());
    out.transferred_to = keys.transfer_to;
  }
  tx.DeleteMembership(ws, user_id);
  nlohmann::json details = {{"role", target->membership.role},
                            {"email", target->user.email},
                            {"revoke_keys", keys.revoke},
                            {"revoked_keys", out.revoked_keys}};
  if (!keys.revoke) {
    details["transferred_keys"] = out.transferred_keys;
    details["transfer_to"] = keys.transfer_to;
  }
  if (reason != "removed") details["reason"] = reason;
  AppendAudit(tx, p, {ws, "member.removed", "user", user_id, target->user.name, "",
                      details.dump()},
              now);
  keys_.PutAfterCommit(tx, std::move(changed));
  ForgetAfterCommit(tx, ws, true);
  return out;
}

Result<Member> Team::Suspend(const Principal& p, const Membership& caller,
                             const std::string& user_id, const std::string& reason) {
  auto why = validation::SingleLineText(reason, 0, 500, "invalid_reason", "reason",
                                        "reason is at most 500 characters on one line.");
  if (!why) return why.error();
  return store_.Write([&](WriteTx& tx) -> Result<Member> {
    auto me = access_.Recheck(tx, caller, "members.remove");
    if (!me) return me.error();
    return SuspendInTx(tx, p, *me, user_id, *why, nlohmann::json::object(), clock_.Now());
  });
}

Result<Member> Team::SuspendInTx(WriteTx& tx, const Principal& p, const Membership& me,
                                 const std::string& user_id, const std::string& reason,
                                 nlohmann::json details, UnixTime now) {
  const std::string& ws = me.workspace_id;
  const Catalogue& c = access_.catalogue();
  auto target = IsWellFormedId(user_id, "usr") ? tx.MemberOf(ws, user_id) : std::nullopt;
  if (!target) return Error::NotFound("member");
  if (user_id == me.user_id) {
    return Error::Invalid("cannot_suspend_self", "user_id", "You cannot suspend yourself.");
  }
  if (!c.owner_role.empty() && target->membership.role == c.owner_role) {
    return Error::Conflict("owner_protected",
                           "The owner cannot be suspended; transfer ownership first.");
  }
  if (Status st = CheckNotAbove(me, target->membership); !st.ok()) return st.error();
  if (target->membership.suspended_at) {
    return Error::Conflict("already_suspended", "The member is suspended already.");
  }
  // Without an owner, the workspace keeps at least one administrator who can act.
  if (c.owner_role.empty() && target->membership.role == c.creator_role) {
    int active = 0;
    for (const auto& m : tx.Members(ws)) {
      if (m.membership.role == c.creator_role && m.membership.status() == "active" &&
          m.user.id != user_id) {
        ++active;
      }
    }
    if (active == 0) return LastManager(c.FindRole(c.creator_role)->name);
  }
  tx.SetMembershipSuspension(ws, user_id, now, reason);
  target->membership.suspended_at = now;
  target->membership.suspended_reason = reason;
  auto keys = tx.HoldKeysOfOwner(ws, user_id, target->membership.KeyHold(), now);
  details["email"] = target->user.email;
  details["keys"] = keys.size();
  if (!reason.empty()) details["reason"] = reason;
  AppendAudit(tx, p, {ws, "member.suspended", "user", user_id, target->user.name, "",
                      details.dump()},
              now);
  keys_.PutAfterCommit(tx, std::move(keys));
  ForgetAfterCommit(tx, ws, false);
  return *target;
}

Result<Member> Team::Unsuspend(const Principal& p, const Membership& caller,
                               const std::string& user_id) {
  const std::string& ws = caller.workspace_id;
  return store_.Write([&](WriteTx& tx) -> Result<Member> {
    auto me = access_.Recheck(tx, caller, "members.remove");
    if (!me) return me.error();
    auto target = IsWellFormedId(user_id, "usr") ? tx.MemberOf(ws, user_id) : std::nullopt;
    if (!target) return Error::NotFound("member");
    if (!target->membership.suspended_at) {
      return Error::Conflict("not_suspended", "The member is not suspended.");
    }
    // Whom one may not suspend, one may not unsuspend either.
    if (Status st = CheckNotAbove(*me, target->membership); !st.ok()) return st.error();
    UnixTime now = clock_.Now();
    UnixTime since = *target->membership.suspended_at;
    tx.SetMembershipSuspension(ws, user_id, std::nullopt, "");
    target->membership.suspended_at.reset();
    target->membership.suspended_reason.clear();
    // A member the directory deactivated meanwhile keeps their keys held, as deactivated.
    auto keys = tx.HoldKeysOfOwner(ws, user_id, target->membership.KeyHold(), now);
    nlohmann::json details = {{"email", target->user.email},
                              {"keys", keys.size()},
                              {"suspended_seconds", now - since}};
    AppendAudit(tx, p, {ws, "member.unsuspended", "user", user_id, target->user.name, "",
                        details.dump()},
                now);
    keys_.PutAfterCommit(tx, std::move(keys));
    ForgetAfterCommit(tx, ws, false);
    return *target;
  });
}

Status Team::TransferOwnership(const Principal& p, const Membership& caller,
                               const std::string& user_id) {
  const std::string& ws = caller.workspace_id;
  const Catalogue& c = access_.catalogue();
  if (c.owner_role.empty()) {
    return Error::Invalid("not_supported", "user_id",
                          "The " + c.id + " preset has no owner role to transfer.");
  }
  if (user_id == caller.user_id) {
    return Error::Invalid("invalid_user", "user_id", "You are the owner already.");
  }
  return store_.Write([&](WriteTx& tx) -> Status {
    // The caller is the owner now, under the workspace lock: of two transfers racing, the
    // second finds its caller demoted and is refused, so there is always exactly one owner.
    auto me = access_.Recheck(tx, caller, "");
    if (!me) return me.error();
    if (me->role != c.owner_role) return Error::Forbidden("Only the owner can transfer ownership.");
    auto target = tx.MemberOf(ws, user_id);
    if (!target) return Error::Invalid("not_a_member", "user_id", "That user is not a member.");
    if (target->membership.deactivated_at) {
      return Error::Invalid("member_deactivated", "user_id",
                            "That member is deactivated by the workspace's directory.");
    }
    if (target->membership.suspended_at) {
      return Error::Invalid("member_suspended", "user_id", "That member is suspended.");
    }
    // The former owner keeps managing the workspace as the strongest non-owner built-in role.
    std::string demoted_to = c.FindRole("admin") ? "admin" : c.default_invite_role;
    UnixTime now = clock_.Now();
    tx.UpdateMemberRole(ws, user_id, c.owner_role);
    tx.UpdateMemberRole(ws, caller.user_id, demoted_to);
    nlohmann::json details = {{"from_user_id", caller.user_id},
                              {"to_user_id", user_id},
                              {"previous_role", target->membership.role},
                              {"former_owner_role", demoted_to}};
    AppendAudit(tx, p, {ws, "workspace.ownership_transferred", "user", user_id,
                        target->user.name, "", details.dump()},
                now);
    ForgetAfterCommit(tx, ws, false);
    return {};
  });
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

Result<CustomRole> Team::ValidateRole(StoreReader& reads, const Membership& caller,
                                      CustomRole role, const RoleInput& in) {
  if (in.name) {
    auto valid = validation::RoleName(*in.name);
    if (!valid) return valid.error();
    std::string name = *valid;
    for (const auto& builtin : access_.catalogue().roles) {
      if (Lower(builtin.name) == Lower(name) || Lower(builtin.id) == Lower(name)) {
        return Error::Conflict("role_name_taken", "'" + name + "' is a built-in role.", "name");
      }
    }
    // Names are matched case-insensitively wherever they are looked up (bulk CSV invitations),
    // so two roles may not differ only in case.
    for (const auto& other : reads.CustomRoles(caller.workspace_id)) {
      if (other.id != role.id && Lower(other.name) == Lower(name)) {
        return Error::Conflict("role_name_taken", "A role named '" + other.name + "' exists.",
                               "name");
      }
    }
    role.name = name;
  }
  if (in.description) {
    auto description = validation::MultiLineText(
        *in.description, 500, "invalid_description", "description",
        "A description has at most 500 characters and no control characters but line breaks.");
    if (!description) return description.error();
    role.description = *description;
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
  const std::string& ws = caller.workspace_id;
  auto created = store_.Write([&](WriteTx& tx) -> Result<CustomRole> {
    auto me = access_.Recheck(tx, caller, "roles.manage");
    if (!me) return me.error();
    UnixTime now = clock_.Now();
    CustomRole r;
    r.id = NewId("role");
    r.workspace_id = ws;
    r.created_at = now;
    r.updated_at = now;
    auto valid = ValidateRole(tx, *me, r, in);
    if (!valid) return valid.error();
    if (Status st = tx.InsertCustomRole(*valid); !st.ok()) return st.error();
    nlohmann::json details = {{"name", valid->name}, {"permissions", valid->permissions}};
    AppendAudit(tx, p, {ws, "role.created", "role", r.id, valid->name, "", details.dump()}, now);
    tx.AfterCommit([this, ws] { access_.ForgetRoles(ws); });
    return valid;
  });
  if (!created) return created.error();
  return ViewOf(*created);
}

Result<RoleView> Team::UpdateRole(const Principal& p, const Membership& caller,
                                  const std::string& role_id, const RoleInput& in) {
  const std::string& ws = caller.workspace_id;
  if (access_.catalogue().FindRole(role_id)) {
    return Error::Conflict("builtin_role", "Built-in roles cannot be changed.");
  }
  auto updated = store_.Write([&](WriteTx& tx) -> Result<CustomRole> {
    auto me = access_.Recheck(tx, caller, "roles.manage");
    if (!me) return me.error();
    auto current = tx.CustomRoleById(ws, role_id);
    if (!current) return Error::NotFound("role");
    // Editing a role that holds more than the caller would hand out its excess again.
    auto held = access_.catalogue().SetOf(current->permissions);
    if (held.ok()) {
      if (Status st = CheckNoEscalation(*me, *held); !st.ok()) return st.error();
    }
    auto valid = ValidateRole(tx, *me, *current, in);
    if (!valid) return valid.error();
    UnixTime now = clock_.Now();
    valid->updated_at = now;
    if (Status st = tx.UpdateCustomRole(*valid); !st.ok()) return st.error();
    nlohmann::json details = {
        {"from", {{"name", current->name}, {"permissions", current->permissions}}},
        {"to", {{"name", valid->name}, {"permissions", valid->permissions}}}};
    AppendAudit(tx, p, {ws, "role.updated", "role", role_id, valid->name, "", details.dump()},
                now);
    tx.AfterCommit([this, ws] { access_.ForgetRoles(ws); });
    return valid;
  });
  if (!updated) return updated.error();
  return ViewOf(*updated);
}

Status Team::DeleteRole(const Principal& p, const Membership& caller, const std::string& role_id) {
  const std::string& ws = caller.workspace_id;
  if (access_.catalogue().FindRole(role_id)) {
    return Error::Conflict("builtin_role", "Built-in roles cannot be deleted.");
  }
  return store_.Write([&](WriteTx& tx) -> Status {
    // Under the workspace lock, which role changes, project roles and invitations take too:
    // nobody is given the role between the check and the deletion.
    auto me = access_.Recheck(tx, caller, "roles.manage");
    if (!me) return me.error();
    auto current = tx.CustomRoleById(ws, role_id);
    if (!current) return Error::NotFound("role");
    if (tx.CountMembersWithRole(ws, role_id) > 0) {
      return Error::Conflict("role_in_use", "Members hold this role; give them another role first.");
    }
    for (const auto& pm : tx.ProjectMembers(ws)) {
      if (pm.role == role_id) {
        return Error::Conflict("role_in_use", "Members hold this role inside a project.");
      }
    }
    UnixTime now = clock_.Now();
    for (const auto& inv : tx.Invitations(ws, true, now)) {
      if (inv.role == role_id) {
        return Error::Conflict("role_in_use",
                               "A pending invitation grants this role; revoke it first.");
      }
    }
    tx.DeleteCustomRole(ws, role_id);
    AppendAudit(tx, p, {ws, "role.deleted", "role", role_id, current->name, "", "{}"}, now);
    tx.AfterCommit([this, ws] { access_.ForgetRoles(ws); });
    return {};
  });
}

}  // namespace gh
