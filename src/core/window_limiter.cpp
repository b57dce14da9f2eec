#include "core/window_limiter.h"

#include <algorithm>

#include "core/net.h"

namespace gh {

int WindowLimiter::Wait(Events& q, UnixTime now) const {
  while (!q.empty() && q.front() <= now - window_) q.pop_front();
  if (static_cast<int>(q.size()) < limit_) return 0;
  return static_cast<int>(std::max<UnixTime>(1, q.front() + window_ - now));
}

WindowLimiter::Events& WindowLimiter::Slot(std::string_view key, UnixTime now) {
  auto it = events_.find(std::string(key));
  if (it != events_.end()) return it->second;
  if (events_.size() >= max_keys_) {
    std::erase_if(events_, [&](auto& kv) {
      const Events& q = kv.second;
      return q.empty() || q.back() <= now - window_;
    });
    if (events_.size() >= max_keys_) events_.clear();
  }
  return events_[std::string(key)];
}

int WindowLimiter::Acquire(std::string_view key, UnixTime now) {
  if (limit_ <= 0) return 0;
  std::lock_guard lock(mu_);
  Events& q = Slot(key, now);
  if (int wait = Wait(q, now); wait > 0) return wait;
  q.push_back(now);
  return 0;
}

int WindowLimiter::RetryAfter(std::string_view key, UnixTime now) {
  if (limit_ <= 0) return 0;
  std::lock_guard lock(mu_);
  auto it = events_.find(std::string(key));
  return it == events_.end() ? 0 : Wait(it->second, now);
}

void WindowLimiter::Add(std::string_view key, UnixTime now) {
  if (limit_ <= 0) return;
  std::lock_guard lock(mu_);
  Events& q = Slot(key, now);
  Wait(q, now);  // drops what has left the window
  // Keep at most `limit_` (the newest): older ones cannot change a decision.
  if (static_cast<int>(q.size()) >= limit_) q.pop_front();
  q.push_back(now);
}

void WindowLimiter::Release(std::string_view key, UnixTime at) {
  if (limit_ <= 0) return;
  std::lock_guard lock(mu_);
  auto it = events_.find(std::string(key));
  if (it == events_.end()) return;
  Events& q = it->second;
  if (auto e = std::find(q.rbegin(), q.rend(), at); e != q.rend()) q.erase(std::next(e).base());
}

void WindowLimiter::Reset(std::string_view key) {
  std::lock_guard lock(mu_);
  events_.erase(std::string(key));
}

std::string AddressRateKey(std::string_view ip) {
  auto parsed = ParseIp(ip);
  if (!parsed) return std::string(ip);
  if (parsed->v4) return FormatIp(*parsed);
  IpAddress prefix = *parsed;
  std::fill(prefix.bytes.begin() + 8, prefix.bytes.end(), 0);
  return FormatIp(prefix) + "/64";
}

}  // namespace gh
