#include "jobs/periodic_thread.h"

#include <cstdio>

#include "core/log.h"
#include "core/thread_priority.h"

namespace gh {

PeriodicThread::PeriodicThread(std::string name, std::chrono::milliseconds period,
                               std::function<void()> work, First first, Priority priority)
    : name_(std::move(name)),
      period_(period),
      work_(std::move(work)),
      first_(first),
      priority_(priority) {}

void PeriodicThread::RunLogged(const std::string& name, const std::function<void()>& work) {
  try {
    work();
  } catch (const std::exception& e) {
    log::Error(name, {{"error", e.what()}});
  }
}

void PeriodicThread::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] {
    if (priority_ == Priority::kIdle) RunThisThreadAtIdlePriority();
    std::unique_lock lock(mu_);
    bool wait = first_ == First::kAfterPeriod;
    while (true) {
      if (wait) cv_.wait_for(lock, period_, [this] { return stop_ || wake_; });
      if (stop_) break;
      wake_ = false;
      wait = true;
      lock.unlock();
      RunLogged(name_, work_);
      lock.lock();
    }
  });
}

bool PeriodicThread::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stop_) return false;
    stop_ = true;
    cv_.notify_one();
  }
  thread_.join();
  return true;
}

void PeriodicThread::Wake() {
  std::lock_guard lock(mu_);
  wake_ = true;
  cv_.notify_one();
}

}  // namespace gh
