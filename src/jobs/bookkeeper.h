// Writes what the request path keeps in memory (session activity, API key usage, first uses
// of keys from new addresses) and follows other processes' key changes: every `period`, on a
// thread of its own, and once more, everything, when stopped.
//
// The thread runs at the lowest normal priority (nice 19). Verification answers from memory
// and queues this work; on a saturated core, a flush of 100,000 keys' usage at normal
// priority took half the core for about a second every ten and put the answers' p99 at
// 5 ms (bench/RESULTS.md). At nice 19 the flush still gets its share (the scheduler never
// starves a normal thread) but in short slices, and quickly whenever the core has idle
// time. Not SCHED_IDLE: a starved flush holding the store's write lock would stall every
// management write, and an unprivileged thread cannot leave SCHED_IDLE again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace gh {

class Bookkeeper {
 public:
  // `flush(everything)`: everything is true for the last run, at Stop().
  Bookkeeper(std::function<void(bool everything)> flush,
             std::chrono::milliseconds period = std::chrono::seconds(1))
      : flush_(std::move(flush)), period_(period) {}
  ~Bookkeeper() { Stop(); }

  void Start();
  void Stop();

 private:
  void Run(bool everything);

  std::function<void(bool)> flush_;
  std::chrono::milliseconds period_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool started_ = false;
};

}  // namespace gh
