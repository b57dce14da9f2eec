#include "jobs/audit_retention.h"

#include "core/log.h"

namespace gh {

AuditRetentionJob::AuditRetentionJob(AuditLog& audit, std::chrono::seconds interval)
    : audit_(audit), thread_("audit retention", interval, [this] {
        int64_t n = audit_.PurgeExpired();
        if (n > 0) {
          log::Info("audit retention deleted events", {{"deleted", n}});
        }
      }) {}

}  // namespace gh
