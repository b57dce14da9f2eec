// Writes what the request path keeps in memory (session activity, API key usage, first uses
// of keys from new addresses): every `period`, on a thread of its own, and once more,
// everything, when stopped.
//
// The thread runs at idle priority (SCHED_IDLE). Verification answers from memory and queues
// this work; on a saturated core (bench/RESULTS.md, 100,000 active keys, one core), a usage
// flush at normal priority took half the core for about a second every ten and put the
// answers' p99 at 4.8 ms; at nice 19, 2.2-3.1 ms; at SCHED_IDLE, 1.8 ms, while the flush still
// got the 3-5 % of the core it needs from the gaps between requests. Its transactions are
// short (at most 1,000 rows), so a request waiting on the store's write lock behind it waits
// little: the waiting thread leaves the core idle, and then this thread runs. What must not
// wait for an idle core (following other processes' key revocations) is not done here.
#pragma once

#include <chrono>
#include <functional>

#include "jobs/periodic_thread.h"

namespace gh {

class Bookkeeper {
 public:
  // `flush(everything)`: everything is true for the last run, at Stop().
  Bookkeeper(std::function<void(bool everything)> flush,
             std::chrono::milliseconds period = std::chrono::seconds(1))
      : flush_(std::move(flush)),
        thread_("bookkeeping flush", period, [this] { flush_(false); },
                PeriodicThread::First::kAfterPeriod, PeriodicThread::Priority::kIdle) {}
  ~Bookkeeper() { Stop(); }

  void Start() { thread_.Start(); }
  // Stops the thread, then flushes everything on the calling thread (once, after a Start).
  void Stop() {
    if (thread_.Stop()) PeriodicThread::RunLogged("bookkeeping flush", [this] { flush_(true); });
  }

 private:
  std::function<void(bool)> flush_;
  PeriodicThread thread_;
};

}  // namespace gh
