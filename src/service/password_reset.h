// Password reset: "Forgot password?" mails a single-use link valid one hour; the link sets a new
// password, ends every session of the account and proves its address. Asking for a link never
// tells whether the address has an account: same answer, same time, and the limits that
// refuse a request do so silently.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
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

// How long a reset link works.
inline constexpr UnixTime kPasswordResetSeconds = 3600;

struct PasswordResetDone {
  User user;
  int revoked_sessions = 0;
  bool second_factor_removed = false;
};

class PasswordReset {
 public:
  // At most this many requests wait for ProcessRequests; more are dropped (silently, like any
  // refusal). The per-IP limit keeps one client far below it.
  static constexpr size_t kMaxQueued = 10000;

  PasswordReset(Store& store, const Config& config, MailOutbox& mail, IdentityCache& cache,
                const Clock& clock = Clock::System());

  // POST /v1/auth/password-reset. Checks the address's form (422 invalid_email), counts the
  // request against limits.password_resets_per_ip_per_hour and
  // limits.password_resets_per_account_per_hour and, when both allow it, queues it for
  // ProcessRequests. It reads nothing from the store, so it answers in the same time whether
  // or not the address is registered: a look-up and a write in the request would not (on
  // PostgreSQL a commit that wrote something waits for the WAL flush; one that wrote nothing
  // does not).
  Status Request(const std::string& email, const ClientInfo& client);

  // Handles the queued requests, oldest first: each that names a live account gets a link
  // (`{public_url}/reset-password?token=…`) by mail and a `user.password_reset_requested`
  // event. Returns how many links were mailed. Run by the "password reset requests" job.
  int ProcessRequests();

  // Called after a request is queued (the job's Wake); set while the job runs.
  void Subscribe(std::function<void()> wake);
  void Unsubscribe();

  // POST /v1/auth/password-reset/confirm: 404 unknown link, 410 token_used / token_expired,
  // 422 invalid_password (on new_password). Sets the password, uses the link and retires the
  // account's other reset links, ends every session, marks the address verified (the link
  // proves it; on an account never verified it also removes the second factor, which whoever
  // squatted the address may have set), records `user.password_reset` and mails the user.
  Result<PasswordResetDone> Confirm(const std::string& token, const std::string& new_password,
                                    const ClientInfo& client);

 private:
  struct Queued {
    std::string email;  // normalised
    ClientInfo client;
  };
  // One request in its own transaction; true when it mailed a link.
  bool Handle(const Queued& q);

  Store& store_;
  const Config& config_;
  MailOutbox& mail_;
  IdentityCache& cache_;
  const Clock& clock_;
  WindowLimiter per_ip_;       // AddressRateKey(ip)
  WindowLimiter per_account_;  // the normalised address, registered or not

  std::mutex mu_;
  std::deque<Queued> queue_;
  std::function<void()> wake_;
  bool dropping_ = false;  // the queue filled up since it was last emptied (logged once)
};

}  // namespace gh
