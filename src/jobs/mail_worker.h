// Delivers the mail outbox over SMTP (libcurl; STARTTLS when the server offers it), retrying
// with backoff and giving up after Config::mail_give_up_hours. Without an SMTP server it
// only announces stored mail in the log (recipient and subject, never the body: invitation
// links carry secrets), so `gatehouse mail list` is where to read it.
#pragma once

#include <string>

#include "core/model.h"
#include "jobs/periodic_thread.h"
#include "service/config.h"
#include "service/mail.h"
#include "store/store.h"

namespace gh {

class MailWorker {
 public:
  // Subscribes to `outbox` while it runs, to deliver mail as soon as a change that queued it
  // commits.
  MailWorker(Store& store, const Config& config, MailOutbox& outbox,
             const Clock& clock = Clock::System());
  ~MailWorker();

  // Runs a background thread that wakes every second, or at once after Wake().
  void Start();
  void Stop();
  void Wake() { thread_.Wake(); }

  // Handles every due message once; returns how many were delivered.
  int RunOnce();

  // The RFC 5322 message for `m`: headers, then text and HTML alternatives in base64.
  static std::string Render(const MailMessage& m, const std::string& from);

 private:
  // Sends one message; returns "" on success or the error.
  std::string Send(const MailMessage& m);

  Store& store_;
  const Config& config_;
  MailOutbox& outbox_;
  const Clock& clock_;
  PeriodicThread thread_;
};

}  // namespace gh
