// Deletes audit events older than each workspace's audit_retention_days, off the request
// path: at start and then every `interval`, in small transactions (see AuditLog::PurgeExpired)
// so that writers of a chain never wait behind a long delete.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "service/audit.h"

namespace gh {

class AuditRetentionJob {
 public:
  explicit AuditRetentionJob(AuditLog& audit,
                             std::chrono::seconds interval = std::chrono::hours(1))
      : audit_(audit), interval_(interval) {}
  ~AuditRetentionJob() { Stop(); }

  void Start();
  void Stop();

 private:
  AuditLog& audit_;
  std::chrono::seconds interval_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace gh
