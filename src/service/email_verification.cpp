#include "service/email_verification.h"

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "service/account_tokens.h"
#include "service/audit.h"

namespace gh {

void QueueEmailVerification(WriteTx& tx, MailOutbox& mail, const Config& config, const User& user,
                            UnixTime now) {
  IssuedToken issued = IssueAccountToken(user, AccountTokenPurpose::kEmailVerification,
                                         kEmailVerificationSeconds, now);
  tx.InsertAccountToken(issued.record);
  QueueLinkMail(tx, mail, user.email, "Verify your email address",
                {"Hello " + user.name + ",", "",
                 "Confirm that " + user.email + " is the address of your Gatehouse account."},
                "Verify your email address",
                config.PublicUrl() + "/verify-email?token=" + issued.token,
                {"The link works once and expires in 24 hours. Until you verify, you cannot accept "
                 "invitations sent to this address.",
                 "If you did not create a Gatehouse account, ignore this email."},
                now);
}

EmailVerification::EmailVerification(Store& store, const Config& config, MailOutbox& mail,
                                     IdentityCache& cache, const Clock& clock)
    : store_(store),
      config_(config),
      mail_(mail),
      cache_(cache),
      clock_(clock),
      resends_(config.limits.verification_mails_per_account_per_hour, 3600) {}

Result<User> EmailVerification::Verify(const std::string& token, const ClientInfo& client) {
  if (!PlausibleToken(token)) return UnknownToken();
  std::string hash = crypto::Sha256Hex(token);
  return store_.Write([&](WriteTx& tx) -> Result<User> {
    UnixTime now = clock_.Now();
    // Locked: of two requests with the same link, the second sees it used.
    auto t = tx.LockAccountToken(hash);
    if (Status st = CheckAccountToken(t, AccountTokenPurpose::kEmailVerification, now); !st.ok()) {
      return st.error();
    }
    auto user = tx.LockUser(t->user_id);
    // The link proves one address: not the account's current one if that changed since.
    if (!user || user->deleted_at || user->email != t->email) return UnknownToken();
    tx.UseAccountToken(hash, now);
    tx.RetireAccountTokens(user->id, AccountTokenPurpose::kEmailVerification, now);
    tx.MarkEmailVerified(user->id, now);
    if (!user->email_verified_at) user->email_verified_at = now;
    Principal actor{*user, "", client};
    AppendAudit(tx, actor,
                {"", "user.email_verified", "user", user->id, user->email, "",
                 nlohmann::json{{"email", user->email}}.dump()},
                now);
    std::string id = user->id;
    tx.AfterCommit([this, id] { cache_.ForgetUser(id); });
    return *user;
  });
}

Status EmailVerification::Resend(const Principal& p) {
  UnixTime now = clock_.Now();
  // The store's row, not the principal's (possibly cached) copy.
  auto user = store_.UserById(p.user.id);
  if (!user) return Error::NotFound("user");
  if (user->email_verified_at) {
    return Error::Conflict("email_already_verified", user->email + " is verified already.");
  }
  if (int wait = resends_.Acquire(user->id, now); wait > 0) {
    Error e{ErrorKind::kRateLimited,
            "rate_limited",
            "Too many verification emails for this account. Try again later.",
            {}};
    e.retry_after_seconds = wait;
    return e;
  }
  return store_.Write([&](WriteTx& tx) -> Status {
    QueueEmailVerification(tx, mail_, config_, *user, now);
    AppendAudit(tx, p,
                {"", "user.email_verification_requested", "user", user->id, user->email, "", "{}"},
                now);
    return {};
  });
}

}  // namespace gh
