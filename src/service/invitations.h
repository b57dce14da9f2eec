// Invitations: invite by email (one at a time or from CSV), list, revoke, re-send, and the
// public side that shows and accepts an invitation. The token reaches the invitee only in
// the email; the store keeps its SHA-256.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/window_limiter.h"
#include "core/result.h"
#include "service/access.h"
#include "service/accounts.h"
#include "service/config.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "service/mail.h"
#include "service/team.h"
#include "store/store.h"

namespace gh {

struct InviteInput {
  std::string email;
  std::optional<std::string> role;
  std::vector<std::string> projects;
  std::string redirect_url;
};

// An invitation with what the API shows beside it.
struct InvitationView {
  Invitation invitation;
  std::string status;  // pending | accepted | revoked | expired
  std::string inviter_name;
  std::string workspace_name;
};

struct BulkRowResult {
  int row = 0;  // 1-based data row (the header is row 0)
  std::string email;
  std::string status;  // invited | error
  std::string code;
  std::string detail;
};

// What accepting an invitation produced.
struct Acceptance {
  std::string workspace_id;
  Membership membership;
  std::optional<NewSession> new_session;  // when the account was created by accepting
  User user;
  std::string redirect_url;
};

class Invitations {
 public:
  Invitations(Store& store, const Config& config, MailOutbox& mail, Access& access,
              Accounts& accounts, Team& team, IdentityCache& cache,
              const Clock& clock = Clock::System());

  Result<InvitationView> Invite(const Principal& p, const Membership& caller, const InviteInput& in);
  std::vector<InvitationView> List(const Membership& caller, bool include_all);
  Result<InvitationView> Revoke(const Principal& p, const Membership& caller,
                                const std::string& invitation_id);
  Result<InvitationView> Resend(const Principal& p, const Membership& caller,
                                const std::string& invitation_id);
  // CSV with header email,role,projects; at most 1,000 rows. One bad row never blocks others.
  Result<std::vector<BulkRowResult>> InviteBulk(const Principal& p, const Membership& caller,
                                                const std::string& csv);

  // Public: what the accept page shows. 404 for unknown tokens.
  Result<InvitationView> Lookup(const std::string& token);
  // Accepts as the signed-in `principal` (whose email must match), or creates the account
  // from `name` and `password` when nobody is signed in.
  Result<Acceptance> Accept(const std::string& token, const std::optional<Principal>& principal,
                            const std::optional<std::string>& name,
                            const std::optional<std::string>& password, const ClientInfo& client);

  static std::string SuccessMessage(const std::string& email) {
    return "Invitation sent to " + email + ". You can change their role after they join.";
  }

 private:
  InvitationView ViewOf(const Invitation& inv, UnixTime now);
  std::string StatusOf(const Invitation& inv, UnixTime now) const;
  Status CheckRedirect(const std::string& url) const;
  // Queues the invitation email inside `tx`.
  void QueueInvitationMail(WriteTx& tx, const Invitation& inv, const std::string& token,
                           const Principal& inviter, const std::string& workspace_name,
                           UnixTime now);
  // Under the workspace lock in `tx`: 402 member_limit_reached when members plus pending
  // invitations (plus `extra_pending`) fill the plan.
  Status CheckSeat(WriteTx& tx, const Workspace& w, UnixTime now, int64_t extra_pending);
  // Counts one invitation mail of `ws` sent by `user_id` ([limits]
  // invitation_mails_per_workspace_per_hour, per workspace and per inviting account): 429
  // too_many_invitations past either. UncountMail gives it back when nothing was sent.
  Status CountMail(const std::string& ws, const std::string& user_id, UnixTime now);
  void UncountMail(const std::string& ws, const std::string& user_id, UnixTime now);

  Store& store_;
  const Config& config_;
  MailOutbox& mail_;
  Access& access_;
  Accounts& accounts_;
  Team& team_;
  IdentityCache& cache_;
  const Clock& clock_;
  WindowLimiter mails_per_workspace_;
  WindowLimiter mails_per_inviter_;
  WindowLimiter resend_cooldown_;   // per invitation
  WindowLimiter resends_per_day_;   // per invitation
};

}  // namespace gh
