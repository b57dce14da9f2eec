// The in-memory index that verifies API keys without touching the store: key hash -> the
// compiled key (patterns, limits, allowlist, expiry) and its live counters. It is filled at
// start and every change made through this process updates it before the change answers.
//
// Concurrency: the index is split into shards, each behind its own reader/writer lock, and
// each key's rate limiter and quota counter are atomics, so verifications of different keys
// never wait for each other and those of one key are exact (GCRA with compare-and-swap).
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalogue.h"
#include "core/key_rules.h"
#include "core/model.h"
#include "core/month.h"
#include "core/net.h"
#include "store/store.h"

namespace gh {

// Live counters of one key; they survive edits and rotation of the key.
struct KeyCounters {
  std::atomic<int64_t> tat_us{0};  // GCRA theoretical arrival time, µs since the epoch
  std::mutex period_mu;            // taken only when the month rolls over
  std::atomic<int64_t> period_end{0};
  std::string period_label;        // guarded by period_mu
  std::atomic<int64_t> month_count{0};
  std::atomic<int64_t> pending_uses{0};  // verifications not yet written to the store
  std::atomic<int64_t> last_used{0};
  int64_t last_used_written = 0;  // by the flusher only: last_used_at moves a minute at a time
  std::mutex ips_mu;
  absl::flat_hash_set<std::string> ips;  // addresses the key has been used from (canonical)
  int64_t ips_day = 0;                   // the UTC day ips_recorded_today counts
  int ips_recorded_today = 0;            // new addresses recorded that day (guarded by ips_mu)
  // Until when a refusal for the rate limit or quota is not noted again (rate_limit.exceeded
  // is raised at most once per key and hour).
  std::atomic<int64_t> limit_noted_until{0};
};

// What the index holds keys to on top of their own settings (the `[limits]` table).
struct KeyIndexLimits {
  // New addresses per key and UTC day that are recorded (api_key.new_ip); 0: none.
  int new_ips_per_key_per_day = 20;
  int new_ips_per_publishable_key_per_day = 0;
  // The per-minute limit of a publishable key that sets none (its own or its project's).
  int publishable_per_minute = 600;
};

// What a key's workspace adds to its verification.
struct KeyWorkspace {
  std::string timezone = "UTC";  // for monthly quotas
  // The workspace's IP allowlist when "block all other IPs" is on; null when it is off.
  // Shared by every key of the workspace.
  std::shared_ptr<const std::vector<Cidr>> ip_allowlist;

  // From the workspace as the store has it (ranges that do not parse are left out, which
  // narrows the list rather than widening it).
  static KeyWorkspace Of(const Workspace& w);
};

// A key as verification needs it, immutable once built.
struct CompiledKey {
  ApiKey key;
  std::vector<Cidr> allowlist;
  int64_t per_minute = 0;  // 0: unlimited (the key's limit, else its project's)
  int64_t per_month = 0;
  std::string timezone;    // the workspace's, for monthly quotas
  std::shared_ptr<const std::vector<Cidr>> workspace_allowlist;  // null: any address
};

struct VerifyRequest {
  std::string_view key;
  std::string_view endpoint;
  std::string_view method;
  std::string_view ip;
};

struct VerifyResult {
  VerifyCode code = VerifyCode::kNotFound;
  std::shared_ptr<const CompiledKey> key;  // null for NOT_FOUND
  int64_t rate_limit = 0, rate_remaining = 0;
  int64_t rate_reset_us = 0;  // when the limiter is full again
  int64_t quota_limit = 0, quota_remaining = 0;
  bool new_ip = false;  // first VALID use from this address, recorded
  bool valid() const { return code == VerifyCode::kValid; }
};

// A key's first use from an address, waiting to be recorded (audit event + api_key_ips).
struct NewIpUse {
  std::string key_id;
  std::string workspace_id;
  std::string ip;
  UnixTime at = 0;
  std::string key_name;  // as they were at the time of use, for the event
  std::string project_id;
};

// A key refused for its rate limit or monthly quota, waiting to become a rate_limit.exceeded
// notification.
struct LimitHit {
  std::string key_id;
  std::string workspace_id;
  std::string key_name;
  std::string owner_id;
  bool quota = false;  // the monthly quota, else the per-minute limit
  int64_t limit = 0;
  UnixTime at = 0;
};

class KeyIndex {
 public:
  explicit KeyIndex(const Catalogue& catalogue, KeyIndexLimits limits = {})
      : catalogue_(catalogue), limits_(limits) {}

  // Loads every key of the store (and the addresses and this month's usage of each).
  void Load(Store& store);

  // Adds or replaces a key (after create, edit, rotate or revoke, or a change of its
  // workspace's time zone or IP allowlist). `project` gives default limits; `ws` what the
  // workspace adds. A version older than the one held is ignored.
  void Put(const ApiKey& key, const std::optional<Project>& project, const KeyWorkspace& ws);

  // Forgets every key of a deleted workspace.
  void RemoveWorkspace(const std::string& workspace_id);

  // Following other processes. Every local Put and RemoveWorkspace takes a new generation
  // number; a refresh notes Generation() before it reads the store and applies what it read
  // with PutIfUnchangedSince, which leaves alone a key this process changed (or whose
  // workspace it removed) after that point: what the refresh read may predate that change.
  // It also skips a key whose compiled form would be the same.
  uint64_t Generation() const { return generation_.load(std::memory_order_acquire); }
  void PutIfUnchangedSince(const ApiKey& key, const std::optional<Project>& project,
                           const KeyWorkspace& ws, uint64_t generation);
  // When Load read the store (seconds): changes from then on are for the refresh to find.
  UnixTime loaded_at() const { return loaded_at_; }

  VerifyResult Verify(const VerifyRequest& req, int64_t now_us);
  // Looks a key up by its secret without counting a use (for management authentication).
  std::shared_ptr<const CompiledKey> Find(std::string_view secret, UnixTime now) const;

  // Usage and first-use addresses gathered since the last call, for the flusher.
  std::vector<KeyUsage> TakeUsage();
  std::vector<NewIpUse> TakeNewIps();
  std::vector<LimitHit> TakeLimitHits();

  size_t size() const;

  // The last verification of `key_id` seen by this process (0 if none): fresher than the
  // store's last_used_at, which the flusher moves a minute at a time.
  UnixTime LastUsed(const std::string& key_id);

 private:
  static constexpr size_t kShards = 64;
  // Remembers a first use of `ck` from `ip` (sent as `raw`) within the day's budget.
  void NoteAddress(const CompiledKey& ck, KeyCounters& c, std::string_view raw,
                   const IpAddress& ip, UnixTime now, VerifyResult& r);
  using Digest = std::array<uint8_t, 32>;  // SHA-256 of a secret
  struct Entry {
    std::shared_ptr<const CompiledKey> key;
    std::shared_ptr<KeyCounters> counters;
    bool previous = false;  // the secret before a rotation, valid until previous_expires_at
  };
  struct Shard {
    mutable std::shared_mutex mu;
    absl::flat_hash_map<Digest, Entry> by_hash;
  };
  // What the index holds per key id: its compiled form (whose hashes locate it) and counters.
  struct Slot {
    std::shared_ptr<const CompiledKey> key;
    std::shared_ptr<KeyCounters> counters;
    uint64_t changed_at_generation = 0;  // of the last local Put
  };

  Shard& ShardOf(const Digest& hash) const;
  bool Lookup(const Digest& hash, Entry& out) const;
  void Erase(const std::string& hex_hash);
  Slot& SlotOf(const std::string& key_id);  // requires ids_mu_
  std::shared_ptr<CompiledKey> Compile(const ApiKey& key, const std::optional<Project>& project,
                                       const KeyWorkspace& ws) const;
  void Install(Slot& slot, std::shared_ptr<const CompiledKey> compiled);  // requires ids_mu_

  const Catalogue& catalogue_;
  const KeyIndexLimits limits_;
  mutable std::array<Shard, kShards> shards_;
  std::mutex ids_mu_;
  absl::flat_hash_map<std::string, Slot> by_id_;
  absl::flat_hash_map<std::string, uint64_t> removed_workspaces_;  // id -> generation
  std::atomic<uint64_t> generation_{0};
  UnixTime loaded_at_ = 0;
  std::mutex new_ips_mu_;
  std::vector<NewIpUse> new_ips_;
  // Notes a refusal for a limit: one per key and hour reaches limit_hits_.
  void NoteLimitHit(const CompiledKey& ck, KeyCounters& c, bool quota, int64_t limit,
                    UnixTime now);
  std::mutex limit_hits_mu_;
  std::vector<LimitHit> limit_hits_;
  // Keys with pending_uses > 0, with their counters, so that the flusher reaches them
  // without a lookup by id (and without ids_mu_, which edits take).
  struct Dirty {
    std::shared_ptr<const CompiledKey> key;
    std::shared_ptr<KeyCounters> counters;
  };
  std::mutex dirty_mu_;
  std::vector<Dirty> dirty_;
};

}  // namespace gh
