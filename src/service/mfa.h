// Two-factor authentication with TOTP (RFC 6238): enrolment (secret, otpauth:// URI and QR
// code), confirmation by a first code (which enables it and issues ten single-use recovery
// codes, of which only hashes are kept), disabling, and the second-factor check at login.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "service/login_throttle.h"
#include "store/store.h"

namespace gh {

struct TotpEnrolment {
  std::string secret;  // base32, for typing into an authenticator app
  std::string otpauth_uri;
  std::string qr_svg;  // the URI as a QR code
};

class Mfa {
 public:
  static constexpr int kRecoveryCodes = 10;

  Mfa(Store& store, IdentityCache& cache, LoginThrottle& throttle,
      const Clock& clock = Clock::System())
      : store_(store), cache_(cache), throttle_(throttle), clock_(clock) {}

  // A new pending secret (replacing a pending one). 409 mfa_already_enabled.
  Result<TotpEnrolment> Start(const Principal& p);
  // Enables TOTP when `code` is valid for the pending secret; returns the recovery codes,
  // shown this once. 409 mfa_not_pending, 422 invalid_code.
  Result<std::vector<std::string>> Confirm(const Principal& p, const std::string& code);
  // Disables TOTP given a current code or an unused recovery code. 409 mfa_not_enabled,
  // 422 invalid_code.
  Status Disable(const Principal& p, const std::string& code);

  // Consumes a TOTP code (never the same time step twice) or an unused recovery code of a
  // user with TOTP enabled; false when it is neither.
  static bool UseSecondFactor(Store& store, const std::string& user_id, const std::string& code,
                              UnixTime now);

 private:
  // Runs `check` (which verifies a code) as one throttled guess: a wrong code (422
  // invalid_code) counts as a failed attempt, like a wrong password.
  Status Guess(const Principal& p, const std::function<Status()>& check);
  // Uses `code` (a current TOTP code or an unused recovery code) inside `tx`.
  static bool UseSecondFactorIn(WriteTx& tx, const std::string& user_id, const std::string& code,
                                UnixTime now);
  void ForgetAfterCommit(WriteTx& tx, const std::string& user_id);
  Store& store_;
  IdentityCache& cache_;
  LoginThrottle& throttle_;
  const Clock& clock_;
};

// `text` as an SVG QR code (error correction M, four modules of quiet zone).
std::string QrSvg(const std::string& text);

}  // namespace gh
