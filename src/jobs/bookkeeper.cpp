#include "jobs/bookkeeper.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

namespace gh {

void LowerThisThreadPriority() {
  // On Linux the nice value is per thread: PRIO_PROCESS with the thread's id sets only it.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
}

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
    LowerThisThreadPriority();
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
