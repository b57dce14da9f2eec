#include "service/key_usage.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "service/audit.h"
#include "service/notifications.h"

namespace gh {

void KeyUsageWriter::Flush(bool everything) {
  // One flush at a time: a slow one must not overlap the next tick's.
  std::unique_lock lock(flush_mu_, std::defer_lock);
  if (everything) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return;
  }
  // First uses from new addresses are audited within a second; usage counts (one row per
  // active key) are written every ten seconds: with 10,000 active keys, writing them every
  // second or two cost a tenth of the core that serves verifications. Quotas count in memory,
  // and this process's answers show last_used_at from memory, so the interval only bounds
  // what a crash can lose and how stale another process's view is.
  UnixTime now = clock_.Now();
  std::vector<KeyUsage> usage;
  if (everything || now - last_usage_flush_ >= kUsageFlushSeconds) {
    usage = index_.TakeUsage();
    last_usage_flush_ = now;
    // In key order, so that each transaction updates neighbouring rows (a few pages of each
    // table) rather than rows spread over all of them.
    std::sort(usage.begin(), usage.end(),
              [](const KeyUsage& a, const KeyUsage& b) { return a.key_id < b.key_id; });
  }
  auto ips = index_.TakeNewIps();
  // Usage and first uses in transactions of at most kFlushBatch rows, written in multi-row
  // statements: a burst (100,000 active keys; a fleet of clients meeting the keys for the
  // first time) never becomes one long transaction that would hold up other writers.
  for (size_t start = 0; start < usage.size(); start += kFlushBatch) {
    size_t end = std::min(usage.size(), start + kFlushBatch);
    std::vector<KeyUsage> part(std::make_move_iterator(usage.begin() + start),
                               std::make_move_iterator(usage.begin() + end));
    store_.Write([&](WriteTx& tx) { tx.RecordKeyUsage(part); });
  }
  for (size_t start = 0; start < ips.size(); start += kFlushBatch) {
    size_t end = std::min(ips.size(), start + kFlushBatch);
    std::vector<KeyIpUse> uses;
    uses.reserve(end - start);
    for (size_t i = start; i < end; ++i) uses.push_back({ips[i].key_id, ips[i].ip, ips[i].at});
    store_.Write([&](WriteTx& tx) {
    std::vector<AuditEvent> events;
    for (size_t i : tx.InsertKeyIps(uses)) {
      const NewIpUse& use = ips[start + i];
      Principal system;
      system.client.ip = use.ip;
      AuditRecord r{use.workspace_id, "api_key.new_ip", "api_key", use.key_id, use.key_name,
                    use.project_id, nlohmann::json{{"ip", use.ip}}.dump()};
      events.push_back(MakeAuditEvent(system, r, use.at));
    }
    AppendAuditBatch(tx, events);
    });
  }
  RaiseLimitHits(index_.TakeLimitHits());
}

void KeyUsageWriter::RaiseLimitHits(const std::vector<LimitHit>& hits) {
  // Each process notes a key once an hour; the throttle row makes it once an hour across
  // every node.
  for (size_t start = 0; start < hits.size(); start += kFlushBatch) {
    size_t end = std::min(hits.size(), start + kFlushBatch);
    store_.Write([&](WriteTx& tx) {
      for (size_t i = start; i < end; ++i) {
        const LimitHit& h = hits[i];
        if (!tx.TakeThrottle("rate_limit.exceeded:" + h.key_id, h.at, h.at + 3600)) continue;
        std::string what = h.quota ? "its monthly quota of " + std::to_string(h.limit) + " calls"
                                   : "its rate limit of " + std::to_string(h.limit) +
                                         " calls per minute";
        nlohmann::json details = {{"key_id", h.key_id},
                                  {"key_name", h.key_name},
                                  {"limit", h.quota ? "per_month" : "per_minute"},
                                  {"value", h.limit}};
        RaiseNotification(tx, h.workspace_id, "rate_limit.exceeded", "", h.owner_id,
                          "API key " + h.key_name + " went over " + what,
                          "Calls over the limit are refused with 429 until it frees up. "
                          "Further refusals of this key within the hour are not notified.",
                          details.dump(), h.at);
      }
    });
  }
}

}  // namespace gh
