// Throttles guessing of passwords and second factors, per account and per client address
// (an IPv6 /64 counts as one address), in a sliding window: every route that checks a password
// or a second factor takes an attempt here first, so 429 with Retry-After comes after the
// configured number of failures whichever route they were made on. In memory: each gatehouse
// process throttles on its own.
#pragma once

#include <string>

#include "core/result.h"
#include "core/time.h"
#include "core/window_limiter.h"

namespace gh {

class LoginThrottle {
 public:
  LoginThrottle(int max_per_account, int max_per_ip, int window_seconds)
      : by_account_(max_per_account, window_seconds), by_ip_(max_per_ip, window_seconds) {}

  // One guess about to be checked. Taking it counts it as a failure straight away (so that
  // a burst of concurrent guesses cannot all pass one check before any is counted); the
  // caller takes it back with Succeeded or Withdrawn.
  struct Attempt {
    std::string account;
    std::string address;
    UnixTime at = 0;
  };
  // The attempt, or the seconds to wait (>= 1) when the account or the address has used up
  // its failures.
  int Begin(const std::string& account, const std::string& ip, UnixTime now, Attempt& out);
  // The guess was right: the account's failures are forgotten and the address's attempt given
  // back (a shared office address does not run out through successful sign-ins).
  void Succeeded(const Attempt& a);
  // Nothing was guessed (a sign-in that stops to ask for the second factor): given back.
  void Withdrawn(const Attempt& a);

 private:
  WindowLimiter by_account_;
  WindowLimiter by_ip_;
};

// 429 too_many_attempts with Retry-After.
Error TooManyAttempts(std::string message, int retry_after_seconds);

}  // namespace gh
