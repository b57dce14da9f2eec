// Members and roles of a workspace: the team list, role changes, removal, ownership transfer
// and custom roles. Every change is one transaction with its audit event, and reaches the
// authorisation engine before the call returns.
#pragma once

#include <optional>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "service/access.h"
#include "service/key_sync.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "store/store.h"

namespace gh {

// What happens to a leaving member's API keys. A key is never left alive with an owner who
// is not a member: they are revoked, or re-owned by another member.
struct KeyHandover {
  bool revoke = true;
  std::string transfer_to;  // with revoke = false: the new owner ("" = whoever removes)
};

// What a removal did to the member's keys.
struct Removal {
  int revoked_keys = 0;
  int transferred_keys = 0;
  std::string transferred_to;  // the new owner, when keys were re-owned
};

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
  Team(Store& store, Access& access, IdentityCache& cache, KeyIndexSync& keys,
       const Clock& clock = Clock::System());

  // A page of members, oldest first. `cursor` is a previous page's next_cursor.
  Result<MemberPage> Members(const Membership& caller, const std::string& cursor, int limit);
  Result<Member> ChangeRole(const Principal& p, const Membership& caller,
                            const std::string& user_id, const std::string& role);
  Result<Removal> Remove(const Principal& p, const Membership& caller, const std::string& user_id,
                         const KeyHandover& keys);
  // The removal itself, inside `tx`, for flows that remove a member as part of a larger
  // change (account deletion): checks under the workspace lock that the member is there and
  // may leave (not the owner, not the last admin), drops the membership (and with it project
  // roles), revokes or re-owns the member's keys in the workspace, records member.removed
  // with `reason`, and forgets the member's access once `tx` commits.
  Result<Removal> RemoveInTx(WriteTx& tx, const Principal& p, const std::string& workspace_id,
                             const std::string& user_id, const KeyHandover& keys,
                             const std::string& reason, UnixTime now);

  Status TransferOwnership(const Principal& p, const Membership& caller,
                           const std::string& user_id);

  // Suspends a member (permission members.remove): every request of theirs to the workspace
  // answers 403 member_suspended and their keys there verify SUSPENDED, from the next request
  // on; Unsuspend restores both. Nobody suspends themselves, the owner, someone who outranks
  // them, or the last active administrator. Audited member.suspended / member.unsuspended.
  Result<Member> Suspend(const Principal& p, const Membership& caller, const std::string& user_id,
                         const std::string& reason);
  Result<Member> Unsuspend(const Principal& p, const Membership& caller,
                           const std::string& user_id);
  // The suspension itself inside `tx` (after the caller's Recheck), for flows that suspend as
  // part of a larger change (an anomaly's "suspend"). `details` go into the audit event.
  Result<Member> SuspendInTx(WriteTx& tx, const Principal& p, const Membership& me,
                             const std::string& user_id, const std::string& reason,
                             nlohmann::json details, UnixTime now);

  std::vector<RoleView> Roles(const Membership& caller);
  Result<RoleView> CreateRole(const Principal& p, const Membership& caller, const RoleInput& in);
  Result<RoleView> UpdateRole(const Principal& p, const Membership& caller,
                              const std::string& role_id, const RoleInput& in);
  Status DeleteRole(const Principal& p, const Membership& caller, const std::string& role_id);

  // Refuses (403 privilege_escalation) a role granting anything `caller` lacks.
  Status CheckNoEscalation(const Membership& caller, const Catalogue::Set& granted);

 private:
  // Whether removing or demoting `target` would leave the workspace without anyone holding
  // the creator role (the admin-member model has no owner to fall back on). Reads through
  // `tx`, which holds the workspace lock.
  // 403 member_outranks_you when `target` holds a workspace permission `caller` does not.
  Status CheckNotAbove(const Membership& caller, const Membership& target);
  bool IsLastManager(WriteTx& tx, const std::string& workspace_id, const Membership& target);
  Result<CustomRole> ValidateRole(StoreReader& reads, const Membership& caller, CustomRole role,
                                  const RoleInput& in);
  RoleView ViewOf(const CustomRole& r);
  // Once `tx` commits: the members' cached access is dropped, so that the change applies to
  // their very next request.
  void ForgetAfterCommit(WriteTx& tx, const std::string& workspace_id, bool projects);

  Store& store_;
  Access& access_;
  IdentityCache& cache_;
  KeyIndexSync& keys_;
  const Clock& clock_;
};

}  // namespace gh
