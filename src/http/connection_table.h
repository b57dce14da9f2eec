// Which connections the server keeps when it has too many. Every open connection is listed
// with what it is doing; when a new one would exceed the cap, or descriptors run out, the
// connections waiting the longest are closed to make room, those that never sent a whole
// request first. A client holding thousands of idle sockets thus cannot keep anyone else out,
// and the server never has to refuse a newcomer while it holds idle connections.
//
// Thread-safe: one mutex, taken twice per request (entering and leaving the wait for one).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>

namespace gh::http {

// What a connection is doing, in the order in which connections are closed to make room.
enum class ConnectionPhase : uint8_t {
  kAwaitingFirstRequest = 0,  // accepted; its first request's headers are not complete yet
  kAwaitingNextRequest = 1,   // keep-alive between requests, or a later request's headers
  kReadingBody = 2,           // headers complete, the body still arriving
  kBusy = 3,                  // a handler runs or the answer is being written: never closed
};

class ConnectionTable {
 public:
  // A connection as the table sees it.
  class Slot {
   public:
    virtual ~Slot() = default;
    ConnectionPhase phase() const { return phase_; }  // read under the table's lock only

   protected:
    // Closes the connection. Called with the table's lock held: it must only schedule the
    // close (post it to the connection's executor), never block, call the table, or drop a
    // reference that could destroy a connection (whose removal takes the lock).
    virtual void Evict() = 0;

   private:
    friend class ConnectionTable;
    ConnectionPhase phase_ = ConnectionPhase::kAwaitingFirstRequest;
    bool listed_ = false;
    bool evicted_ = false;
    std::list<Slot*>::iterator pos_;
  };

  explicit ConnectionTable(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Lists a new connection (kAwaitingFirstRequest) and, when that makes more than capacity(),
  // evicts the connection waiting the longest (never the new one). False when no connection
  // could be evicted: the new one is not listed and the caller closes it.
  bool Admit(Slot& s);
  // Unlists a connection whose coroutine has ended (or is ending). Idempotent.
  void Remove(Slot& s);
  // Moves a connection to `phase` (to the end of that phase's queue). False when it has been
  // evicted: the caller stops serving it.
  bool Enter(Slot& s, ConnectionPhase phase);
  // Descriptors ran out (EMFILE/ENFILE) at the current number of connections: from now on
  // serve a few fewer than that, evicting down to it. Returns how many were evicted.
  size_t ShrinkAfterDescriptorExhaustion();

  // Calls `f` for every listed connection, with the lock held (for shutdown).
  void ForEach(const std::function<void(Slot&)>& f);

  size_t size() const;  // open connections, evicted ones not yet gone included
  size_t capacity() const;
  uint64_t evictions() const;

 private:
  Slot* OldestIdleLocked(const Slot* spare) const;
  bool EvictOneLocked(const Slot* spare);
  size_t LiveLocked() const { return open_ - evicting_; }

  mutable std::mutex mu_;
  std::array<std::list<Slot*>, 4> by_phase_;  // each in the order connections entered it
  size_t open_ = 0;
  size_t evicting_ = 0;  // evicted, not yet removed
  size_t capacity_;
  uint64_t evictions_ = 0;
};

// The default cap when [limits] max_connections is 0: the descriptor limit minus those the
// process holds already and a reserve for what it opens later (store connections, the log,
// SMTP, temporary files), never below a quarter of the limit or 1.
size_t DefaultMaxConnections(uint64_t descriptor_limit, uint64_t descriptors_open);

// The soft RLIMIT_NOFILE and the number of descriptors this process has open now.
uint64_t DescriptorLimit();
uint64_t DescriptorsOpen();

}  // namespace gh::http
