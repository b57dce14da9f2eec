// Audit events as export formats (CSV, JSON lines) and the batched reader that streams them:
// memory stays at one batch whatever the size of the log.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/model.h"
#include "store/store.h"

namespace gh {

// The API's JSON form of an event: {id, occurred_at, action, actor, target, project_id, ip,
// user_agent, details}.
nlohmann::json AuditEventToJson(const AuditEvent& e);

// The CSV header row (CRLF-terminated) and one row per event, RFC 4180 and formula-safe.
std::string AuditCsvHeader();
void AppendAuditCsvRow(std::string& out, const AuditEvent& e);
// One JSON object per line.
void AppendAuditJsonLine(std::string& out, const AuditEvent& e);

// Pulls one filter's events newest first in batches (Store::StreamAuditEvents: one snapshot
// of the log) and renders them. Not thread-safe; one per export; destroy it before the store.
class AuditExporter {
 public:
  enum class Format { kCsv, kJsonl };

  AuditExporter(Store& store, AuditFilter filter, Format format, bool redact, int batch = 1000);
  ~AuditExporter();

  // Replaces `chunk` with the next piece of output; false once everything has been returned
  // (then `chunk` is empty).
  bool Next(std::string& chunk);

  int64_t rows() const { return rows_; }
  bool finished() const { return finished_; }

 private:
  Store& store_;
  AuditFilter filter_;
  Format format_;
  bool redact_;
  int batch_;
  bool header_done_ = false;
  bool finished_ = false;
  std::unique_ptr<AuditEventStream> stream_;  // opened by the first Next()
  int64_t rows_ = 0;
};

}  // namespace gh
