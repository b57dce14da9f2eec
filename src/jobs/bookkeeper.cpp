#include "jobs/bookkeeper.h"

#include <cstdio>

#include "core/thread_priority.h"

namespace gh {

void Bookkeeper::Run(bool everything) {
  try {
    flush_(everything);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "{\"level\":\"error\",\"msg\":\"bookkeeping flush: %s\"}\n", e.what());
  }
}

void Bookkeeper::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] {
    RunThisThreadAtIdlePriority();
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
      lock.unlock();
      Run(false);
      lock.lock();
    }
  });
}

void Bookkeeper::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stop_) return;
    stop_ = true;
    cv_.notify_one();
  }
  thread_.join();
  Run(true);
}

}  // namespace gh
