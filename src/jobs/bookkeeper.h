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
