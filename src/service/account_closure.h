// Account deletion: a user closes their own account.
//
// Refused while the user owns a workspace (they transfer or delete it first). Otherwise, in
// one transaction: each membership is removed through the team removal path (member.removed
// with reason account_deleted in that workspace's log, project roles and the member's keys
// there going with it), the keys they created anywhere else are revoked, every session is
// signed out, TOTP and recovery codes are deleted, and the user row is anonymised (see
// WriteTx::AnonymiseUser) so that the email can sign up again while audit events keep the
// actor id, name and email they recorded. Invitations the user sent stay valid: they were
// sent on behalf of the workspace. user.deleted goes to the account-level log.
#pragma once

#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "service/access.h"
#include "service/accounts.h"
#include "service/key_sync.h"
#include "service/mail.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "service/team.h"
#include "store/store.h"

namespace gh {

struct ClosedAccount {
  int workspaces_left = 0;
  int revoked_keys = 0;
  int revoked_sessions = 0;
};

class AccountClosure {
 public:
  AccountClosure(Store& store, MailOutbox& mail, Accounts& accounts, Team& team,
                 KeyIndexSync& keys, Access& access, IdentityCache& cache,
                 const Clock& clock = Clock::System());

  // The workspaces `user_id` owns (or, in presets without an owner role, is the last holder
  // of the creator role in): they stand in the way of deleting the account.
  std::vector<Workspace> OwnedWorkspaces(StoreReader& reads, const std::string& user_id);

  // Deletes the caller's account. 422 confirmation_required unless `confirm` is "DELETE",
  // 403 invalid_current_password (throttled) for a wrong `password`, 409 owns_workspaces.
  Result<ClosedAccount> Close(const Principal& p, const std::string& password,
                              const std::string& confirm);

 private:
  Store& store_;
  MailOutbox& mail_;
  Accounts& accounts_;
  Team& team_;
  KeyIndexSync& keys_;
  Access& access_;
  IdentityCache& cache_;
  const Clock& clock_;
};

}  // namespace gh
