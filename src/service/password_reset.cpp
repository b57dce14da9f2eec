#include "service/password_reset.h"

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/log.h"
#include "core/validation.h"
#include "service/account_tokens.h"
#include "service/audit.h"

namespace gh {

PasswordReset::PasswordReset(Store& store, const Config& config, MailOutbox& mail,
                             IdentityCache& cache, const Clock& clock)
    : store_(store),
      config_(config),
      mail_(mail),
      cache_(cache),
      clock_(clock),
      per_ip_(config.limits.password_resets_per_ip_per_hour, 3600),
      per_account_(config.limits.password_resets_per_account_per_hour, 3600) {}

Status PasswordReset::Request(const std::string& email_in, const ClientInfo& client) {
  auto email = validation::NormalizeEmail(email_in);
  if (!email) return email.error();
  UnixTime now = clock_.Now();
  // Counted for every address, registered or not. The address is counted only when the IP
  // allows the request, so one client cannot use up someone's links with refused requests.
  if (per_ip_.Acquire(AddressRateKey(client.ip), now) > 0) return {};
  if (per_account_.Acquire(*email, now) > 0) return {};
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      if (!dropping_) log::Warn("password reset requests dropped: the queue is full");
      dropping_ = true;
      return {};
    }
    queue_.push_back({*email, client});
    wake = wake_;
  }
  if (wake) wake();
  return {};
}

void PasswordReset::Subscribe(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

void PasswordReset::Unsubscribe() {
  std::lock_guard lock(mu_);
  wake_ = nullptr;
}

int PasswordReset::ProcessRequests() {
  int mailed = 0;
  for (;;) {
    Queued q;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        dropping_ = false;
        return mailed;
      }
      q = std::move(queue_.front());
      queue_.pop_front();
    }
    if (Handle(q)) ++mailed;
  }
}

bool PasswordReset::Handle(const Queued& q) {
  return store_.Write([&](WriteTx& tx) -> bool {
    auto user = tx.UserByEmail(q.email);
    if (!user || user->deleted_at) return false;
    UnixTime now = clock_.Now();
    IssuedToken issued =
        IssueAccountToken(*user, AccountTokenPurpose::kPasswordReset, kPasswordResetSeconds, now);
    tx.InsertAccountToken(issued.record);
    QueueLinkMail(
        tx, mail_, user->email, "Reset your Gatehouse password",
        {"Hello " + user->name + ",", "",
         "Someone (you, we hope) asked to reset the password of your Gatehouse account " +
             user->email + " at " + FormatRfc3339(now) + " (UTC) from " + q.client.ip + "."},
        "Choose a new password", config_.PublicUrl() + "/reset-password?token=" + issued.token,
        {"The link works once and expires in 1 hour. Setting a new password signs out every "
         "session of your account.",
         "If you did not ask for this, ignore this email: your password stays as it is."},
        now);
    Principal actor{*user, "", q.client};
    AppendAudit(tx, actor,
                {"", "user.password_reset_requested", "user", user->id, user->email, "", "{}"},
                now);
    return true;
  });
}

Result<PasswordResetDone> PasswordReset::Confirm(const std::string& token,
                                                 const std::string& new_password,
                                                 const ClientInfo& client) {
  if (!PlausibleToken(token)) return UnknownToken();
  std::string hash = crypto::Sha256Hex(token);
  // Checked before the slow hashing, and again under the lock below.
  if (Status st = CheckAccountToken(store_.AccountTokenByHash(hash),
                                    AccountTokenPurpose::kPasswordReset, clock_.Now());
      !st.ok()) {
    return st.error();
  }
  if (Status st = validation::CheckPassword(new_password); !st.ok()) {
    Error e = st.error();
    e.field = "new_password";
    return e;
  }
  std::string phc =
      crypto::HashPassword(new_password, {static_cast<uint64_t>(config_.argon2_ops),
                                          static_cast<size_t>(config_.argon2_mem_kib) * 1024});
  return store_.Write([&](WriteTx& tx) -> Result<PasswordResetDone> {
    UnixTime now = clock_.Now();
    // Locked: of two requests with the same link, the second waits here and then sees it
    // used (SQLite: the transaction holds the write lock already).
    auto t = tx.LockAccountToken(hash);
    if (Status st = CheckAccountToken(t, AccountTokenPurpose::kPasswordReset, now); !st.ok()) {
      return st.error();
    }
    auto user = tx.LockUser(t->user_id);
    if (!user || user->deleted_at || user->email != t->email) return UnknownToken();
    if (!tx.UseAccountToken(hash, now)) {
      return CheckAccountToken(tx.LockAccountToken(hash), AccountTokenPurpose::kPasswordReset, now)
          .error();
    }
    tx.RetireAccountTokens(user->id, AccountTokenPurpose::kPasswordReset, now);
    PasswordResetDone done;
    bool was_verified = user->email_verified_at.has_value();
    user->password_hash = phc;
    user->updated_at = now;
    tx.UpdateUser(*user);
    tx.MarkEmailVerified(user->id, now);
    if (!was_verified) {
      user->email_verified_at = now;
      if (user->mfa_enabled) {
        tx.DeleteTotp(user->id);
        user->mfa_enabled = false;
        done.second_factor_removed = true;
      }
    }
    done.revoked_sessions = tx.RevokeOtherSessions(user->id, "", now);
    Principal actor{*user, "", client};
    nlohmann::json details = {{"revoked_sessions", done.revoked_sessions},
                              {"email_verified", !was_verified},
                              {"second_factor_removed", done.second_factor_removed}};
    AppendAudit(tx, actor,
                {"", "user.password_reset", "user", user->id, user->email, "", details.dump()},
                now);
    int n = done.revoked_sessions;
    QueueNotice(
        tx, mail_, user->email, "Your password was changed",
        {"Hello " + user->name + ",", "",
         "The password of your Gatehouse account " + user->email + " was reset at " +
             FormatRfc3339(now) + " (UTC) from " + client.ip +
             " with a link mailed to this address.",
         std::to_string(n) + " " + (n == 1 ? "session was" : "sessions were") + " signed out.", "",
         "If you did not reset it, someone can read your email: secure your mailbox, "
         "then reset the password again at " +
             config_.PublicUrl() + "/forgot-password and contact your workspace administrator."},
        now);
    std::string id = user->id;
    tx.AfterCommit([this, id] { cache_.ForgetUser(id); });
    done.user = *user;
    return done;
  });
}

}  // namespace gh
