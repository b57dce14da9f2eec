// The audit log: appending events inside the caller's transaction (chained per workspace),
// reading them newest first, and checking the chain.
#pragma once

#include <optional>
#include <string>

#include "core/model.h"
#include "core/result.h"
#include "service/context.h"
#include "store/store.h"

namespace gh {

// What a use case says happened; Audit fills in id, time, actor and chain.
struct AuditRecord {
  std::string workspace_id;  // "" for account-level events
  std::string action;
  std::string target_type;
  std::string target_id;
  std::string target_name;
  std::string project_id;
  std::string details_json = "{}";
};

// Appends `record` as done by `actor` inside `tx`, chained to the previous event of its chain.
AuditEvent AppendAudit(WriteTx& tx, const Principal& actor, const AuditRecord& record,
                       UnixTime now);

struct AuditVerification {
  bool valid = true;
  int64_t checked = 0;
  std::string first_invalid_id;
};

class AuditLog {
 public:
  explicit AuditLog(Store& store) : store_(store) {}

  // Newest first. `cursor` is the opaque value of a previous page's next_cursor.
  Result<AuditPage> List(const std::string& workspace_id, const std::string& cursor, int limit);

  // Recomputes the chain of `workspace_id` from its first event.
  AuditVerification Verify(const std::string& workspace_id);

  static std::string EncodeCursor(int64_t seq);
  static std::optional<int64_t> DecodeCursor(const std::string& cursor);

 private:
  Store& store_;
};

}  // namespace gh
