#include "service/login_throttle.h"

namespace gh {

int LoginThrottle::Begin(const std::string& account, const std::string& ip, UnixTime now,
                         Attempt& out) {
  out = {account, AddressRateKey(ip), now};
  if (int wait = by_account_.Acquire(out.account, now); wait > 0) return wait;
  if (int wait = by_ip_.Acquire(out.address, now); wait > 0) {
    by_account_.Release(out.account, now);
    return wait;
  }
  return 0;
}

void LoginThrottle::Succeeded(const Attempt& a) {
  by_account_.Reset(a.account);
  by_ip_.Release(a.address, a.at);
}

void LoginThrottle::Withdrawn(const Attempt& a) {
  by_account_.Release(a.account, a.at);
  by_ip_.Release(a.address, a.at);
}

Error TooManyAttempts(std::string message, int retry_after_seconds) {
  Error e{ErrorKind::kRateLimited, "too_many_attempts", std::move(message), {}};
  e.retry_after_seconds = retry_after_seconds;
  return e;
}

}  // namespace gh
