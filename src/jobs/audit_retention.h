// Deletes audit events older than each workspace's audit_retention_days, off the request
// path: at start and then every `interval`, in small transactions (see AuditLog::PurgeExpired)
// so that writers of a chain never wait behind a long delete.
#pragma once

#include <chrono>

#include "jobs/periodic_thread.h"
#include "service/audit.h"

namespace gh {

class AuditRetentionJob {
 public:
  explicit AuditRetentionJob(AuditLog& audit,
                             std::chrono::seconds interval = std::chrono::hours(1));

  void Start() { thread_.Start(); }
  void Stop() { thread_.Stop(); }

 private:
  AuditLog& audit_;
  PeriodicThread thread_;
};

}  // namespace gh
