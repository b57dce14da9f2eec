// Counts events per key in a sliding window and refuses the one over the limit: sign-ups per
// IP, password resets, invitation mails, host events per workspace, failed second factors.
// In memory; each gatehouse process counts on its own (several nodes: issue 22).
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/time.h"

namespace gh {

class WindowLimiter {
 public:
  // `limit` events per `window_seconds` per key; a limit of 0 allows everything. At most
  // `max_keys` keys are remembered: past that, expired ones are dropped first, then all.
  WindowLimiter(int limit, int window_seconds, size_t max_keys = 100000)
      : limit_(limit), window_(window_seconds), max_keys_(max_keys) {}

  // Counts one event for `key` when the window has room and returns 0; otherwise counts
  // nothing and returns the seconds until an event will be allowed (>= 1). Check and count
  // are one step, so a burst of concurrent attempts cannot all pass one check.
  int Acquire(std::string_view key, UnixTime now);
  // The seconds Acquire would refuse with, without counting.
  int RetryAfter(std::string_view key, UnixTime now);
  // Counts an event that happened whatever the limit says (a failure already made).
  void Add(std::string_view key, UnixTime now);
  // Takes back one event counted at `at` (an acquired attempt that succeeded).
  void Release(std::string_view key, UnixTime at);
  // Forgets the key's events.
  void Reset(std::string_view key);

  int limit() const { return limit_; }
  int window_seconds() const { return window_; }

 private:
  using Events = std::deque<UnixTime>;
  Events& Slot(std::string_view key, UnixTime now);
  int Wait(Events& q, UnixTime now) const;

  int limit_;
  int window_;
  size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Events> events_;
};

// The key that per-address limits count under: the address itself for IPv4, its /64 for
// IPv6 (one subscriber usually holds a whole /64, so per-address counting would not limit).
std::string AddressRateKey(std::string_view ip);

}  // namespace gh
