#include "http/connection_table.h"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>

namespace gh::http {

bool ConnectionTable::Admit(Slot& s) {
  std::lock_guard lock(mu_);
  auto& queue = by_phase_[static_cast<size_t>(ConnectionPhase::kAwaitingFirstRequest)];
  s.phase_ = ConnectionPhase::kAwaitingFirstRequest;
  s.pos_ = queue.insert(queue.end(), &s);
  s.listed_ = true;
  ++open_;
  while (LiveLocked() > capacity_) {
    if (!EvictOneLocked(&s)) {
      queue.erase(s.pos_);
      s.listed_ = false;
      --open_;
      return false;
    }
  }
  return true;
}

void ConnectionTable::Remove(Slot& s) {
  std::lock_guard lock(mu_);
  if (s.listed_) {
    by_phase_[static_cast<size_t>(s.phase_)].erase(s.pos_);
    s.listed_ = false;
    --open_;
  } else if (s.evicted_) {
    s.evicted_ = false;  // counted in open_ until now
    --evicting_;
    --open_;
  }
}

bool ConnectionTable::Enter(Slot& s, ConnectionPhase phase) {
  std::lock_guard lock(mu_);
  if (!s.listed_) return false;
  auto& from = by_phase_[static_cast<size_t>(s.phase_)];
  auto& to = by_phase_[static_cast<size_t>(phase)];
  to.splice(to.end(), from, s.pos_);  // s.pos_ stays valid
  s.phase_ = phase;
  return true;
}

ConnectionTable::Slot* ConnectionTable::OldestIdleLocked(const Slot* spare) const {
  for (size_t p = 0; p < static_cast<size_t>(ConnectionPhase::kBusy); ++p) {
    for (Slot* s : by_phase_[p]) {
      if (s != spare) return s;
    }
  }
  return nullptr;
}

bool ConnectionTable::EvictOneLocked(const Slot* spare) {
  Slot* victim = OldestIdleLocked(spare);
  if (!victim) return false;
  by_phase_[static_cast<size_t>(victim->phase_)].erase(victim->pos_);
  victim->listed_ = false;
  victim->evicted_ = true;
  ++evicting_;
  ++evictions_;
  victim->Evict();
  return true;
}

size_t ConnectionTable::ShrinkAfterDescriptorExhaustion() {
  std::lock_guard lock(mu_);
  constexpr size_t kFloor = 8;
  size_t live = LiveLocked();
  size_t margin = std::max<size_t>(8, live / 32);
  size_t target = live > margin + kFloor ? live - margin : kFloor;
  capacity_ = std::max(kFloor, std::min(capacity_, target));
  size_t evicted = 0;
  while (LiveLocked() > capacity_ && EvictOneLocked(nullptr)) ++evicted;
  return evicted;
}

void ConnectionTable::ForEach(const std::function<void(Slot&)>& f) {
  std::lock_guard lock(mu_);
  for (auto& queue : by_phase_) {
    for (Slot* s : queue) f(*s);
  }
}

size_t ConnectionTable::size() const {
  std::lock_guard lock(mu_);
  return open_;
}

size_t ConnectionTable::capacity() const {
  std::lock_guard lock(mu_);
  return capacity_;
}

uint64_t ConnectionTable::evictions() const {
  std::lock_guard lock(mu_);
  return evictions_;
}

size_t DefaultMaxConnections(uint64_t descriptor_limit, uint64_t descriptors_open) {
  // 64 spare descriptors: the SQLite pool (9 connections, each with its database and WAL) or
  // the PostgreSQL pool (16 sockets) and exports, the SMTP connection, GeoIP files, pipes.
  constexpr uint64_t kReserve = 64;
  uint64_t quarter = std::max<uint64_t>(1, descriptor_limit / 4);
  uint64_t reserve = descriptors_open + kReserve;
  uint64_t cap = descriptor_limit > reserve ? descriptor_limit - reserve : 0;
  return static_cast<size_t>(std::max(cap, quarter));
}

uint64_t DescriptorLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return rl.rlim_cur;
}

uint64_t DescriptorsOpen() {
  std::error_code ec;
  uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return ec || n == 0 ? 32 : n;  // no /proc: a guess
}

}  // namespace gh::http
