// Email verification: the mail sent at sign-up (and again on request) with a link that proves
// the account's owner reads its address. Until then the account cannot accept an invitation
// sent to that address, so that whoever signs up first with a colleague's address does not
// join the colleague's workspaces.
#pragma once

#include <string>

#include "core/model.h"
#include "core/result.h"
#include "core/window_limiter.h"
#include "service/config.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "service/mail.h"
#include "store/store.h"

namespace gh {

// How long a verification link works.
inline constexpr UnixTime kEmailVerificationSeconds = 24 * 3600;

// Mails `user` a verification link inside `tx` (sign-up, resend): `{public_url}/verify-email
// ?token=…`, valid 24 hours. Earlier links keep working until they expire or one is used.
void QueueEmailVerification(WriteTx& tx, MailOutbox& mail, const Config& config, const User& user,
                            UnixTime now);

class EmailVerification {
 public:
  EmailVerification(Store& store, const Config& config, MailOutbox& mail, IdentityCache& cache,
                    const Clock& clock = Clock::System());

  // POST /v1/auth/verify-email: marks the address of the link's account verified, retires its
  // other verification links and records `user.email_verified`. 404 for an unknown link, 410
  // token_used / token_expired. Needs no session: the link is the proof.
  Result<User> Verify(const std::string& token, const ClientInfo& client);

  // POST /v1/me/verify-email: a new link for the caller, recorded as
  // `user.email_verification_requested`. 409 email_already_verified; 429
  // rate_limited past limits.verification_mails_per_account_per_hour.
  Status Resend(const Principal& p);

 private:
  Store& store_;
  const Config& config_;
  MailOutbox& mail_;
  IdentityCache& cache_;
  const Clock& clock_;
  WindowLimiter resends_;  // per user id
};

}  // namespace gh
