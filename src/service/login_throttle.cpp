#include "service/login_throttle.h"

#include <algorithm>

namespace gh {

int LoginThrottle::Check(std::deque<UnixTime>& q, int max, UnixTime now) const {
  while (!q.empty() && q.front() <= now - window_) q.pop_front();
  if (static_cast<int>(q.size()) < max) return 0;
  return static_cast<int>(std::max<UnixTime>(1, q.front() + window_ - now));
}

int LoginThrottle::RetryAfter(const std::string& account, const std::string& ip, UnixTime now) {
  std::lock_guard lock(mu_);
  int wait = 0;
  if (auto it = by_account_.find(account); it != by_account_.end()) {
    wait = std::max(wait, Check(it->second, max_account_, now));
  }
  if (auto it = by_ip_.find(ip); it != by_ip_.end()) {
    wait = std::max(wait, Check(it->second, max_ip_, now));
  }
  return wait;
}

void LoginThrottle::RecordFailure(const std::string& account, const std::string& ip,
                                  UnixTime now) {
  std::lock_guard lock(mu_);
  // Bound memory under a spray of distinct accounts or IPs: forget the oldest entries.
  if (by_account_.size() > 100000) by_account_.clear();
  if (by_ip_.size() > 100000) by_ip_.clear();
  by_account_[account].push_back(now);
  by_ip_[ip].push_back(now);
}

void LoginThrottle::RecordSuccess(const std::string& account) {
  std::lock_guard lock(mu_);
  by_account_.erase(account);
}

}  // namespace gh
