// A background thread that runs one piece of work repeatedly: at start (or after a first
// period), then every `period`, and at once after Wake(), until Stop(). A run that throws is
// logged under the thread's name and the next runs go on. The jobs (bookkeeping, mail,
// audit retention) are each one of these around their own work.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace gh {

class PeriodicThread {
 public:
  enum class First { kAtOnce, kAfterPeriod };
  // kIdle: SCHED_IDLE (see core/thread_priority.h), for work that may wait for a free core.
  enum class Priority { kNormal, kIdle };

  PeriodicThread(std::string name, std::chrono::milliseconds period, std::function<void()> work,
                 First first = First::kAtOnce, Priority priority = Priority::kNormal);
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // Starts the thread; a second call does nothing.
  void Start();
  // Stops and joins the thread (a run in progress finishes first). True for the call that
  // stopped a started thread; false when it was never started or is already stopped.
  bool Stop();
  // Runs the work as soon as the current run (if any) ends, without waiting for the period.
  void Wake();

  // Runs `work` on the calling thread, logging (not throwing) what it throws.
  static void RunLogged(const std::string& name, const std::function<void()>& work);

 private:
  const std::string name_;
  const std::chrono::milliseconds period_;
  const std::function<void()> work_;
  const First first_;
  const Priority priority_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stop_ = false;
  bool wake_ = false;
};

}  // namespace gh
