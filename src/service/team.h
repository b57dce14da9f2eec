// Members and roles of a workspace: the team list, role changes, removal, ownership transfer
// and custom roles. Every change is one transaction with its audit event, and reaches the
// authorisation engine before the call returns.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "service/access.h"
#include "service/config.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "store/store.h"

namespace gh {

// Runs inside the removal's transaction when a member leaves with revoke_keys=true; returns
// how many keys it revoked. The API keys area registers one.
using RevokeKeysHook =
    std::function<int(WriteTx& tx, const std::string& workspace_id, const std::string& user_id)>;

struct RoleInput {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> permissions;
};

struct MemberPage {
  std::vector<Member> members;
  std::string next_cursor;  // empty on the last page
  int64_t total = 0;
};

// A role as GET …/roles shows it.
struct RoleView {
  std::string id;
  std::string name;
  std::string description;
  bool builtin = false;
  std::vector<std::string> permissions;
  int64_t member_count = 0;
};

class Team {
 public:
  Team(Store& store, const Config& config, Access& access, IdentityCache& cache,
       const Clock& clock = Clock::System());

  // A page of members, oldest first. `cursor` is a previous page's next_cursor.
  Result<MemberPage> Members(const Membership& caller, const std::string& cursor, int limit);
  Result<Member> ChangeRole(const Principal& p, const Membership& caller,
                            const std::string& user_id, const std::string& role);
  // Returns the number of API keys revoked.
  Result<int> Remove(const Principal& p, const Membership& caller, const std::string& user_id,
                     bool revoke_keys);
  // The removal itself, inside `tx`, for flows that remove a member as part of a larger
  // change (account deletion): drops the membership (and with it project roles), revokes the
  // member's keys in the workspace when asked, and records member.removed with `reason`.
  // Call ForgetRemoved(workspace) after the commit. Returns the number of keys revoked.
  int RemoveInTx(WriteTx& tx, const Principal& p, const Member& target, bool revoke_keys,
                 const std::string& reason, UnixTime now);
  void ForgetRemoved(const std::string& workspace_id);

  Status TransferOwnership(const Principal& p, const Membership& caller,
                           const std::string& user_id);

  std::vector<RoleView> Roles(const Membership& caller);
  Result<RoleView> CreateRole(const Principal& p, const Membership& caller, const RoleInput& in);
  Result<RoleView> UpdateRole(const Principal& p, const Membership& caller,
                              const std::string& role_id, const RoleInput& in);
  Status DeleteRole(const Principal& p, const Membership& caller, const std::string& role_id);

  // Refuses (403 privilege_escalation) a role granting anything `caller` lacks.
  Status CheckNoEscalation(const Membership& caller, const Catalogue::Set& granted);

  void SetRevokeKeysHook(RevokeKeysHook hook) { revoke_keys_ = std::move(hook); }

 private:
  // Whether removing or demoting `target` would leave the workspace without anyone holding
  // the creator role (the admin-member model has no owner to fall back on).
  bool IsLastManager(const std::string& workspace_id, const Membership& target);
  Result<CustomRole> ValidateRole(const Membership& caller, CustomRole role, const RoleInput& in);
  RoleView ViewOf(const CustomRole& r);

  Store& store_;
  const Config& config_;
  Access& access_;
  IdentityCache& cache_;
  const Clock& clock_;
  RevokeKeysHook revoke_keys_;
};

}  // namespace gh
