#include "service/account_closure.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "service/audit.h"
#include "service/mail.h"

namespace gh {

AccountClosure::AccountClosure(Store& store, MailOutbox& mail, Accounts& accounts, Team& team,
                               KeyIndexSync& keys, Access& access, IdentityCache& cache,
                               const Clock& clock)
    : store_(store),
      mail_(mail),
      accounts_(accounts),
      team_(team),
      keys_(keys),
      access_(access),
      cache_(cache),
      clock_(clock) {}

std::vector<Workspace> AccountClosure::OwnedWorkspaces(StoreReader& reads,
                                                       const std::string& user_id) {
  const Catalogue& c = access_.catalogue();
  std::vector<Workspace> owned;
  for (const auto& w : reads.WorkspacesOfUser(user_id)) {
    const std::string& role = w.membership.role;
    bool owns = c.owner_role.empty()
                    ? role == c.creator_role &&
                          reads.CountActiveMembersWithRole(w.workspace.id, role) -
                                  (w.membership.status() == "active" ? 1 : 0) <=
                              0
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
  const User& u = p.user;
  return store_.Write([&](WriteTx& tx) -> Result<ClosedAccount> {
    // The user's row first (an invitation accepted meanwhile waits, then finds the account
    // gone), then each workspace in id order, whose lock RemoveInTx takes: ownership given
    // to this user meanwhile is seen here, and refuses the deletion.
    if (!tx.LockUser(u.id)) return Error::NotFound("user");
    auto owned = OwnedWorkspaces(tx, u.id);
    if (!owned.empty()) {
      std::string names;
      for (const auto& w : owned) names += (names.empty() ? "" : ", ") + w.name;
      return Error::Conflict("owns_workspaces",
                             "You own " + std::to_string(owned.size()) +
                                 (owned.size() == 1 ? " workspace" : " workspaces") + " (" +
                                 names + "). Transfer ownership or delete " +
                                 (owned.size() == 1 ? "it" : "them") +
                                 " before deleting your account.");
    }
    UnixTime now = clock_.Now();
    ClosedAccount out;
    std::vector<std::string> left;
    for (const auto& w : tx.WorkspacesOfUser(u.id)) left.push_back(w.workspace.id);
    std::sort(left.begin(), left.end());
    for (const auto& ws : left) {
      auto removed = team_.RemoveInTx(tx, p, ws, u.id, KeyHandover{}, "account_deleted", now);
      if (!removed) return removed.error();
      out.revoked_keys += removed->revoked_keys;
    }
    out.workspaces_left = static_cast<int>(left.size());
    // Keys made in workspaces the user had already left: a key acts as its creator.
    auto rest = tx.RevokeAllKeysOfOwner(u.id, now);
    out.revoked_keys += static_cast<int>(rest.size());
    keys_.PutAfterCommit(tx, std::move(rest));
    out.revoked_sessions = tx.RevokeOtherSessions(u.id, "", now);
    tx.DeleteTotp(u.id);
    nlohmann::json details = {{"workspaces_left", left},
                              {"revoked_keys", out.revoked_keys},
                              {"revoked_sessions", out.revoked_sessions}};
    AppendAudit(tx, p, {"", "user.deleted", "user", u.id, u.email, "", details.dump()}, now);
    std::string text = "Hello " + u.name + ",\r\n\r\nThe Gatehouse account " + u.email +
                       " was deleted at your request. You have left " +
                       std::to_string(out.workspaces_left) +
                       " workspace(s) and every session and API key of yours was revoked."
                       "\r\n\r\nIf you did not ask for this, contact your workspace "
                       "administrator.\r\n";
    mail_.Queue(tx, u.email, "Your account was deleted", text, "", now);
    tx.AnonymiseUser(u.id, now);
    std::string user_id = u.id;
    tx.AfterCommit([this, user_id] { cache_.ForgetUser(user_id); });
    return out;
  });
}

}  // namespace gh
