#include "jobs/audit_retention.h"

#include <cstdio>

namespace gh {

AuditRetentionJob::AuditRetentionJob(AuditLog& audit, std::chrono::seconds interval)
    : audit_(audit), thread_("audit retention", interval, [this] {
        int64_t n = audit_.PurgeExpired();
        if (n > 0) {
          std::fprintf(stderr,
                       "{\"level\":\"info\",\"msg\":\"audit retention deleted %lld events\"}\n",
                       static_cast<long long>(n));
        }
      }) {}

}  // namespace gh
