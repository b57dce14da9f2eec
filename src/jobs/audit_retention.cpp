#include "jobs/audit_retention.h"

#include <cstdio>

namespace gh {

void AuditRetentionJob::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      try {
        int64_t n = audit_.PurgeExpired();
        if (n > 0) {
          std::fprintf(stderr,
                       "{\"level\":\"info\",\"msg\":\"audit retention deleted %lld events\"}\n",
                       static_cast<long long>(n));
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "{\"level\":\"error\",\"msg\":\"audit retention: %s\"}\n", e.what());
      }
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
  });
}

void AuditRetentionJob::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace gh
