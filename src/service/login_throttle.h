// Counts failed logins per account and per IP in a sliding window, so that password guessing
// gets 429 with Retry-After. In memory: each gatehouse process throttles on its own.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/time.h"

namespace gh {

class LoginThrottle {
 public:
  LoginThrottle(int max_per_account, int max_per_ip, int window_seconds)
      : max_account_(max_per_account), max_ip_(max_per_ip), window_(window_seconds) {}

  // Seconds to wait before another attempt is allowed, or 0 when allowed now.
  int RetryAfter(const std::string& account, const std::string& ip, UnixTime now);
  void RecordFailure(const std::string& account, const std::string& ip, UnixTime now);
  // A successful login clears the account's failures (not the IP's).
  void RecordSuccess(const std::string& account);

 private:
  int Check(std::deque<UnixTime>& q, int max, UnixTime now) const;

  int max_account_;
  int max_ip_;
  int window_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<UnixTime>> by_account_;
  std::unordered_map<std::string, std::deque<UnixTime>> by_ip_;
};

}  // namespace gh
