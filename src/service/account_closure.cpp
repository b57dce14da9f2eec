#include "service/account_closure.h"

#include <nlohmann/json.hpp>

#include "service/audit.h"
#include "service/mail.h"

namespace gh {

AccountClosure::AccountClosure(Store& store, const Config& config, Accounts& accounts, Team& team,
                               ApiKeys& keys, Access& access, IdentityCache& cache,
                               const Clock& clock)
    : store_(store),
      config_(config),
      accounts_(accounts),
      team_(team),
      keys_(keys),
      access_(access),
      cache_(cache),
      clock_(clock) {}

std::vector<Workspace> AccountClosure::OwnedWorkspaces(const std::string& user_id) {
  const Catalogue& c = access_.catalogue();
  std::vector<Workspace> owned;
  for (const auto& w : store_.WorkspacesOfUser(user_id)) {
    const std::string& role = w.membership.role;
    bool owns = c.owner_role.empty()
                    ? role == c.creator_role &&
                          store_.CountMembersWithRole(w.workspace.id, role) <= 1
                    : role == c.owner_role;
    if (owns) owned.push_back(w.workspace);
  }
  return owned;
}

Result<ClosedAccount> AccountClosure::Close(const Principal& p, const std::string& password,
                                            const std::string& confirm) {
  if (confirm != "DELETE") {
    return Error::Invalid("confirmation_required", "confirm",
                          "Type DELETE to confirm deleting your account.");
  }
  if (Status st = accounts_.ConfirmPassword(p, password, "password"); !st.ok()) {
    return st.error();
  }
  auto owned = OwnedWorkspaces(p.user.id);
  if (!owned.empty()) {
    std::string names;
    for (const auto& w : owned) names += (names.empty() ? "" : ", ") + w.name;
    return Error::Conflict("owns_workspaces",
                           "You own " + std::to_string(owned.size()) +
                               (owned.size() == 1 ? " workspace" : " workspaces") + " (" + names +
                               "). Transfer ownership or delete " +
                               (owned.size() == 1 ? "it" : "them") +
                               " before deleting your account.");
  }
  UnixTime now = clock_.Now();
  const User& u = p.user;
  ClosedAccount out;
  std::vector<std::string> left;
  auto tx = store_.Begin();
  for (const auto& w : store_.WorkspacesOfUser(u.id)) {
    auto member = store_.MemberOf(w.workspace.id, u.id);
    if (!member) continue;
    out.revoked_keys += team_.RemoveInTx(*tx, p, *member, true, "account_deleted", now);
    left.push_back(w.workspace.id);
  }
  out.workspaces_left = static_cast<int>(left.size());
  // Keys made in workspaces the user had already left: a key acts as its creator.
  out.revoked_keys += keys_.RevokeEverywhere(*tx, u.id, now);
  out.revoked_sessions = tx->RevokeOtherSessions(u.id, "", now);
  tx->DeleteTotp(u.id);
  nlohmann::json details = {{"workspaces_left", left},
                            {"revoked_keys", out.revoked_keys},
                            {"revoked_sessions", out.revoked_sessions}};
  AppendAudit(*tx, p, {"", "user.deleted", "user", u.id, u.email, "", details.dump()}, now);
  std::string text = "Hello " + u.name + ",\r\n\r\nThe Gatehouse account " + u.email +
                     " was deleted at your request. You have left " +
                     std::to_string(out.workspaces_left) +
                     " workspace(s) and every session and API key of yours was revoked.\r\n\r\n"
                     "If you did not ask for this, contact your workspace administrator.\r\n";
  QueueMail(*tx, config_, u.email, "Your account was deleted", text, "", now);
  tx->AnonymiseUser(u.id, now);
  tx->Commit();
  for (const auto& ws : left) team_.ForgetRemoved(ws);
  cache_.ForgetUser(u.id);
  return out;
}

}  // namespace gh
