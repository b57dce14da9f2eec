// The audit log: appending events inside the caller's transaction (chained per workspace),
// reading them newest first through filters, recording the host product's own events,
// retention, and checking the chain.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/window_limiter.h"
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

// `record` as done by `actor`, with a new id, not yet chained.
AuditEvent MakeAuditEvent(const Principal& actor, const AuditRecord& record, UnixTime now);

// Appends `record` as done by `actor` inside `tx`, chained to the previous event of its chain.
AuditEvent AppendAudit(WriteTx& tx, const Principal& actor, const AuditRecord& record,
                       UnixTime now);

// Appends made events (any chains, in order) inside `tx` with one multi-row write per chain:
// the path for events recorded in bulk, such as a burst of first uses of keys.
void AppendAuditBatch(WriteTx& tx, std::vector<AuditEvent>& events);

struct AuditVerification {
  bool valid = true;
  int64_t checked = 0;
  std::string first_invalid_id;
  // Why the chain is broken: "hash" (an event's content or link changed), "anchor" (the
  // oldest retained events were removed outside retention) or "head" (the newest were).
  std::string reason;
};

// The filters of GET …/audit-logs and its export, as the caller wrote them (query strings).
struct AuditFilterInput {
  std::optional<std::string> actor, action, project_id, target, from, to;
};

// An event the host product reports through POST …/audit-logs.
struct HostEventInput {
  std::string action;
  std::optional<std::string> actor;  // a member's user id or email; default: the caller
  std::string target_type, target_id, target_name;
  std::string project_id;
  std::string details_json = "{}";
};

class AuditLog {
 public:
  // `host_events_per_minute`: events the host product may record per workspace and minute
  // (0: no limit).
  explicit AuditLog(Store& store, int host_events_per_minute = 0,
                    const Clock& clock = Clock::System())
      : store_(store), clock_(clock), host_events_(host_events_per_minute, 60) {}

  // Checks and converts query filters; 400 `invalid_filter` naming the field at fault.
  static Result<AuditFilter> ParseFilter(const std::string& workspace_id,
                                         const AuditFilterInput& in);

  // Newest first. `cursor` is the opaque value of a previous page's next_cursor.
  Result<AuditFilteredPage> List(const AuditFilter& filter, const std::string& cursor,
                                 int limit);

  // Calls `batch` with successive pages of `batch_size` events (newest first) until the
  // filter is exhausted or `batch` returns false; memory stays at one page.
  int64_t Scan(const AuditFilter& filter, int batch_size,
               const std::function<bool(const std::vector<AuditEvent>&)>& batch);

  // Records a host product event, 429 rate_limited past the workspace's per-minute limit. A
  // named `actor` must be a member of the workspace, and someone other than the caller only
  // when a secret key calls (the host's backend). The event's actor is always who really
  // called (the key, with its owner); the member the host names is kept beside it as
  // `details.on_behalf_of` {id, email, name}, which the host cannot write itself.
  // Concurrent callers share transactions (group commit, see AppendGrouped); each returns
  // only once the transaction holding its event has committed.
  Result<AuditEvent> RecordHostEvent(const Principal& caller, const std::string& workspace_id,
                                     const HostEventInput& in);

  // Records that `actor` exported `rows` events matching `filter_json`.
  AuditEvent RecordExport(const Principal& actor, const std::string& workspace_id,
                          const std::string& format, const std::string& filter_json,
                          int64_t rows);

  // Recomputes the chain of `workspace_id` from its anchor (the hash the oldest retained
  // event links to) to its head.
  AuditVerification Verify(const std::string& workspace_id);

  // Retention: deletes events older than each workspace's audit_retention_days, in
  // transactions of `batch` events so that writers of the chain wait at most one batch.
  // Returns how many were deleted.
  int64_t PurgeExpired(int batch = 500);
  // Deletes events of one chain that occurred before `cutoff` (same batching).
  int64_t PurgeChain(const std::string& chain, UnixTime cutoff, int batch = 500);

  static std::string EncodeCursor(const AuditKey& key);
  static std::optional<AuditKey> DecodeCursor(const std::string& cursor);

  // Whether `action` is a `noun.verb` name (lower case, digits and underscores).
  static bool IsActionName(std::string_view action);
  // Whether `noun` names Gatehouse's own objects (member, api_key, webhook, …): the host
  // product cannot record events or raise notifications under it.
  static bool IsGatehouseNoun(std::string_view noun);

 private:
  // One caller's event waiting for a group commit.
  struct Pending {
    const Principal* actor;
    const AuditRecord* record;
    UnixTime now;
    AuditEvent event;
    std::exception_ptr error;
    bool done = false;
    std::condition_variable wake;  // done, or first in the queue with no commit running
  };

  // Group commit: the caller queues its event; whoever finds no commit running becomes the
  // leader, takes the queue (up to kMaxGroup events) and appends it in one transaction, in
  // queue order, so the chain stays in order; the others wait for the commit that holds
  // their event. When the group's transaction fails, each of its events is retried alone, so
  // one failure fails only its own caller. A lone caller commits at once, as before. Each
  // waiter is woken once, when its event is committed (or when it is to lead the next
  // group): one condition variable for all made every commit wake every waiter.
  // Under load the leader first gathers: when the previous group held several events, it
  // waits (at most kGatherMicros) until as many are queued. Otherwise the first request to
  // arrive after a commit led the next one almost alone while the rest of the previous
  // group's connections were still sending: groups of ~3 events at 50 connections, and on
  // one core the HTTP append rate went from 5,000-5,900 to 7,900-9,200 req/s with this.
  // A lone caller (previous group of one) still commits at once.
  AuditEvent AppendGrouped(const Principal& actor, const AuditRecord& record);
  void CommitGroup(const std::vector<Pending*>& group);
  static constexpr size_t kMaxGroup = 256;
  static constexpr int kGatherMicros = 1000;

  Store& store_;
  const Clock& clock_;
  std::mutex group_mu_;
  std::vector<Pending*> queue_;
  bool committing_ = false;
  bool gathering_ = false;     // a leader waits on gathered_ for the queue to fill
  size_t last_group_ = 0;      // the size of the group committed last
  std::condition_variable gathered_;
  WindowLimiter host_events_;  // per workspace
};

}  // namespace gh
