// The one owner of Gatehouse's background work. The composition root (main) lists every job
// once; Lifecycle starts them in that order and stops them in reverse, once, whatever path
// the process takes out (a normal return, an early error, an exception).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace gh {

class Lifecycle {
 public:
  Lifecycle() = default;
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;
  ~Lifecycle() { StopAll(); }

  // Adds a job with Start() and Stop() (MailWorker, PeriodicThread, Bookkeeper …). It must
  // outlive this Lifecycle or its StopAll().
  template <typename Job>
  void Add(std::string name, Job& job) {
    jobs_.push_back({std::move(name), [&job] { job.Start(); }, [&job] { job.Stop(); }});
  }

  void StartAll();
  // Stops what was started, last first. A second call does nothing.
  void StopAll();

  // The names of the jobs, in start order (for the start-up log).
  std::vector<std::string> Names() const;

 private:
  struct Entry {
    std::string name;
    std::function<void()> start;
    std::function<void()> stop;
  };
  std::vector<Entry> jobs_;
  size_t started_ = 0;
};

}  // namespace gh
