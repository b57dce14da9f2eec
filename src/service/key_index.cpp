#include "service/key_index.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/key_format.h"
#include "core/key_rules.h"

namespace gh {
namespace {

constexpr int64_t kMinuteUs = 60'000'000;

// The 32 bytes behind a stored hex digest (all zero for malformed input).
std::array<uint8_t, 32> FromHex(const std::string& hex) {
  std::array<uint8_t, 32> out{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return 0;
  };
  for (size_t i = 0; i < 32 && 2 * i + 1 < hex.size(); ++i) {
    out[i] = static_cast<uint8_t>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
  }
  return out;
}

// Two compiled workspace allowlists say the same (null: off).
bool SameRanges(const std::shared_ptr<const std::vector<Cidr>>& a,
                const std::shared_ptr<const std::vector<Cidr>>& b) {
  if (a == b) return true;
  if (!a || !b || a->size() != b->size()) return false;
  for (size_t i = 0; i < a->size(); ++i) {
    if ((*a)[i].text != (*b)[i].text) return false;
  }
  return true;
}

}  // namespace


KeyWorkspace KeyWorkspace::Of(const Workspace& w) {
  KeyWorkspace out;
  out.timezone = w.timezone;
  if (w.ip_allowlist_enabled) {
    auto ranges = std::make_shared<std::vector<Cidr>>();
    for (const auto& e : w.ip_allowlist) {
      if (auto c = ParseCidr(e.cidr)) ranges->push_back(std::move(*c));
    }
    out.ip_allowlist = std::move(ranges);
  }
  return out;
}

KeyIndex::Shard& KeyIndex::ShardOf(const Digest& hash) const {
  return shards_[hash[0] % kShards];  // SHA-256 bytes are uniformly distributed
}

bool KeyIndex::Lookup(const Digest& hash, Entry& out) const {
  Shard& s = ShardOf(hash);
  std::shared_lock lock(s.mu);
  auto it = s.by_hash.find(hash);
  if (it == s.by_hash.end()) return false;
  out = it->second;
  return true;
}

void KeyIndex::Erase(const std::string& hex_hash) {
  Digest d = FromHex(hex_hash);
  Shard& s = ShardOf(d);
  std::unique_lock lock(s.mu);
  s.by_hash.erase(d);
}

KeyIndex::Slot& KeyIndex::SlotOf(const std::string& key_id) {
  Slot& slot = by_id_[key_id];
  if (!slot.counters) slot.counters = std::make_shared<KeyCounters>();
  return slot;
}

std::shared_ptr<CompiledKey> KeyIndex::Compile(const ApiKey& key,
                                               const std::optional<Project>& project,
                                               const KeyWorkspace& ws) const {
  auto compiled = std::make_shared<CompiledKey>();
  compiled->key = key;
  for (const auto& c : key.ip_allowlist) {
    if (auto cidr = ParseCidr(c)) compiled->allowlist.push_back(*cidr);
  }
  compiled->per_minute = key.rate_per_minute.value_or(
      project ? project->rate_limit_per_minute.value_or(0) : 0);
  // Publishable keys are public by design: without a limit of their own, anyone holding one
  // could verify (and make the server count) without bound.
  if (compiled->per_minute == 0 && key.type == KeyType::kPublishable) {
    compiled->per_minute = limits_.publishable_per_minute;
  }
  compiled->per_month = key.rate_per_month.value_or(
      project ? project->rate_limit_per_month.value_or(0) : 0);
  compiled->timezone = ws.timezone;
  compiled->workspace_allowlist = ws.ip_allowlist;
  return compiled;
}

void KeyIndex::Install(Slot& slot, std::shared_ptr<const CompiledKey> compiled) {
  const ApiKey& key = compiled->key;
  if (slot.key) {  // forget the secrets of the previous version
    Erase(slot.key->key.hash);
    if (!slot.key->key.previous_hash.empty()) Erase(slot.key->key.previous_hash);
  }
  std::vector<std::string> hashes = {key.hash};
  if (!key.previous_hash.empty()) hashes.push_back(key.previous_hash);
  for (size_t i = 0; i < hashes.size(); ++i) {
    Digest d = FromHex(hashes[i]);
    Shard& s = ShardOf(d);
    std::unique_lock lock(s.mu);
    s.by_hash[d] = {compiled, slot.counters, i == 1};
  }
  slot.key = std::move(compiled);
}

void KeyIndex::Put(const ApiKey& key, const std::optional<Project>& project,
                   const KeyWorkspace& ws) {
  auto compiled = Compile(key, project, ws);
  std::lock_guard ids(ids_mu_);
  Slot& slot = SlotOf(key.id);
  // Transactions that wrote the key commit in version order, but their after-commit updates
  // may reach here in any order: an older version never replaces a newer one (an edit's
  // update arriving after the revocation's would bring the key back to life).
  if (slot.key && slot.key->key.version > key.version) return;
  slot.changed_at_generation = generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
  Install(slot, std::move(compiled));
}

void KeyIndex::PutIfUnchangedSince(const ApiKey& key, const std::optional<Project>& project,
                                   const KeyWorkspace& ws, uint64_t generation) {
  auto compiled = Compile(key, project, ws);
  std::lock_guard ids(ids_mu_);
  if (auto rw = removed_workspaces_.find(key.workspace_id);
      rw != removed_workspaces_.end() && rw->second > generation) {
    return;
  }
  Slot& slot = SlotOf(key.id);
  if (slot.changed_at_generation > generation) return;
  if (slot.key && slot.key->key.version > key.version) return;
  if (slot.key) {
    const CompiledKey& old = *slot.key;
    ApiKey a = old.key, b = key;
    a.last_used_at = b.last_used_at = std::nullopt;  // the flusher's column, not a change
    if (a == b && old.per_minute == compiled->per_minute &&
        old.per_month == compiled->per_month && old.timezone == compiled->timezone &&
        SameRanges(old.workspace_allowlist, compiled->workspace_allowlist)) {
      return;
    }
  }
  Install(slot, std::move(compiled));
}

void KeyIndex::RemoveWorkspace(const std::string& workspace_id) {
  std::lock_guard ids(ids_mu_);
  removed_workspaces_[workspace_id] = generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    const auto& key = it->second.key;
    if (key && key->key.workspace_id == workspace_id) {
      Erase(key->key.hash);
      if (!key->key.previous_hash.empty()) Erase(key->key.previous_hash);
      by_id_.erase(it++);
    } else {
      ++it;
    }
  }
}

void KeyIndex::Load(Store& store) {
  loaded_at_ = Clock::System().Now();
  std::string after;
  absl::flat_hash_map<std::string, std::optional<Project>> projects;
  absl::flat_hash_map<std::string, KeyWorkspace> workspaces;
  while (true) {
    auto batch = store.AllApiKeys(after, 5000);
    if (batch.empty()) break;
    for (const auto& k : batch) {
      if (!workspaces.contains(k.workspace_id)) {
        auto w = store.WorkspaceById(k.workspace_id);
        workspaces[k.workspace_id] = w ? KeyWorkspace::Of(*w) : KeyWorkspace{};
      }
      std::optional<Project> project;
      if (!k.project_id.empty()) {
        auto it = projects.find(k.project_id);
        if (it == projects.end()) {
          it = projects.emplace(k.project_id, store.ProjectById(k.workspace_id, k.project_id)).first;
        }
        project = it->second;
      }
      Put(k, project, workspaces[k.workspace_id]);
    }
    after = batch.back().id;
  }
  // This month's usage, so that quotas hold across restarts.
  UnixTime now = Clock::System().Now();
  absl::flat_hash_map<std::string, MonthPeriod> periods;  // by time zone
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, int64_t>> usage;  // by label
  {
    std::lock_guard ids(ids_mu_);
    for (auto& [id, slot] : by_id_) {
      const auto& key = slot.key;
      if (!key || key->per_month <= 0) continue;
      auto pit = periods.find(key->timezone);
      if (pit == periods.end()) pit = periods.emplace(key->timezone, MonthContaining(key->timezone, now)).first;
      const MonthPeriod& p = pit->second;
      auto uit = usage.find(p.label);
      if (uit == usage.end()) {
        absl::flat_hash_map<std::string, int64_t> counts;
        for (const auto& [key_id, n] : store.KeyUsageIn(p.label)) counts[key_id] = n;
        uit = usage.emplace(p.label, std::move(counts)).first;
      }
      auto c = slot.counters;
      std::lock_guard lock(c->period_mu);
      c->period_label = p.label;
      c->period_end.store(p.end);
      auto n = uit->second.find(id);
      c->month_count.store(n == uit->second.end() ? 0 : n->second);
    }
  }
  std::string after_key, after_ip;
  while (true) {
    auto ips = store.AllKeyIps(after_key, after_ip, 10000);
    if (ips.empty()) break;
    std::lock_guard ids(ids_mu_);
    for (const auto& [key_id, ip] : ips) {
      auto c = SlotOf(key_id).counters;
      std::lock_guard lock(c->ips_mu);
      c->ips.insert(ip);
    }
    after_key = ips.back().first;
    after_ip = ips.back().second;
  }
}

std::shared_ptr<const CompiledKey> KeyIndex::Find(std::string_view secret, UnixTime now) const {
  if (!ParseApiKey(secret)) return nullptr;
  Entry e;
  if (!Lookup(crypto::Sha256(secret), e)) return nullptr;
  const ApiKey& k = e.key->key;
  if (StateOf(k, now) != KeyState::kLive) return nullptr;
  if (e.previous && (!k.previous_expires_at || *k.previous_expires_at <= now)) return nullptr;
  return e.key;
}

// What the limiter and the quota have left, without using any of it: for answers that
// refuse a call before it counts.
static void Peek(const CompiledKey& ck, const KeyCounters& c, int64_t now_us, VerifyResult& r) {
  if (ck.per_minute > 0) {
    int64_t interval = kMinuteUs / ck.per_minute;
    int64_t tat = std::max(c.tat_us.load(std::memory_order_relaxed), now_us);
    r.rate_remaining = std::max<int64_t>(0, (kMinuteUs - (tat - now_us)) / interval);
    r.rate_reset_us = tat;
  }
  if (ck.per_month > 0) {
    bool stale = now_us / 1'000'000 >= c.period_end.load(std::memory_order_acquire);
    r.quota_remaining = stale ? ck.per_month : std::max<int64_t>(0, ck.per_month - c.month_count.load());
  }
}

VerifyResult KeyIndex::Verify(const VerifyRequest& req, int64_t now_us) {
  VerifyResult r;
  UnixTime now = now_us / 1'000'000;
  Entry e;
  if (!ParseApiKey(req.key) || !Lookup(crypto::Sha256(req.key), e)) {
    r.code = VerifyCode::kNotFound;
    return r;
  }
  r.key = e.key;
  const CompiledKey& ck = *e.key;
  const ApiKey& k = ck.key;
  KeyCounters& c = *e.counters;
  r.rate_limit = ck.per_minute;
  r.quota_limit = ck.per_month;
  Peek(ck, c, now_us, r);
  KeyState state = StateOf(k, now);
  if (state == KeyState::kRevoked) {
    r.code = VerifyCode::kRevoked;
    return r;
  }
  if (state == KeyState::kSuspended) {
    r.code = VerifyCode::kSuspended;
    return r;
  }
  if (state == KeyState::kExpired ||
      (e.previous && (!k.previous_expires_at || *k.previous_expires_at <= now))) {
    r.code = VerifyCode::kExpired;
    return r;
  }
  if (!KeyPermits(k, req.endpoint, req.method, catalogue_.publishable_endpoints)) {
    r.code = VerifyCode::kForbiddenEndpoint;
    return r;
  }
  std::optional<IpAddress> ip;
  if (!req.ip.empty()) ip = ParseIp(req.ip);
  if (!ck.allowlist.empty()) {
    bool inside = ip && std::any_of(ck.allowlist.begin(), ck.allowlist.end(),
                                    [&](const Cidr& cidr) { return cidr.Contains(*ip); });
    if (!inside) {
      r.code = VerifyCode::kIpNotAllowed;
      return r;
    }
  }
  // The workspace's allowlist binds every key of the workspace, on top of the key's own.
  if (ck.workspace_allowlist && !(ip && AnyContains(*ck.workspace_allowlist, *ip))) {
    r.code = VerifyCode::kIpNotAllowed;
    return r;
  }
  // Monthly quota: the calendar month in the workspace's time zone.
  if (ck.per_month > 0) {
    if (now >= c.period_end.load(std::memory_order_acquire)) {
      std::lock_guard lock(c.period_mu);
      if (now >= c.period_end.load()) {
        MonthPeriod p = MonthContaining(ck.timezone, now);
        if (p.label != c.period_label) {
          c.period_label = p.label;
          c.month_count.store(0);
        }
        c.period_end.store(p.end, std::memory_order_release);
      }
    }
    int64_t used = c.month_count.fetch_add(1) + 1;
    if (used > ck.per_month) {
      c.month_count.fetch_sub(1);
      r.code = VerifyCode::kQuotaExceeded;
      r.quota_remaining = 0;
      NoteLimitHit(ck, c, true, ck.per_month, now);
      return r;
    }
    r.quota_remaining = ck.per_month - used;
  }
  // Rate limit per minute: GCRA, a burst of `per_minute` refilling evenly over the minute.
  if (ck.per_minute > 0) {
    int64_t interval = kMinuteUs / ck.per_minute;
    int64_t tat = c.tat_us.load(std::memory_order_relaxed);
    while (true) {
      int64_t next = std::max(tat, now_us) + interval;
      if (next - now_us > kMinuteUs) {
        if (ck.per_month > 0) c.month_count.fetch_sub(1);  // the refused call is not counted
        r.code = VerifyCode::kRateLimited;
        r.rate_remaining = 0;
        r.rate_reset_us = tat;
        if (ck.per_month > 0) ++r.quota_remaining;  // the refused call gave its unit back
        NoteLimitHit(ck, c, false, ck.per_minute, now);
        return r;
      }
      if (c.tat_us.compare_exchange_weak(tat, next, std::memory_order_relaxed)) {
        r.rate_remaining = (kMinuteUs - (next - now_us)) / interval;
        r.rate_reset_us = next;
        break;
      }
    }
  }
  r.code = VerifyCode::kValid;
  c.last_used.store(now, std::memory_order_relaxed);
  if (c.pending_uses.fetch_add(1, std::memory_order_relaxed) == 0) {
    std::lock_guard lock(dirty_mu_);
    dirty_.push_back({e.key, e.counters});
  }
  if (ip) NoteAddress(ck, c, req.ip, *ip, now, r);
  return r;
}

void KeyIndex::NoteAddress(const CompiledKey& ck, KeyCounters& c, std::string_view raw,
                           const IpAddress& ip, UnixTime now, VerifyResult& r) {
  const ApiKey& k = ck.key;
  int budget = k.type == KeyType::kPublishable ? limits_.new_ips_per_publishable_key_per_day
                                       : limits_.new_ips_per_key_per_day;
  if (budget <= 0) return;
  std::lock_guard lock(c.ips_mu);
  // Most gateways send the canonical form: look that up first, without formatting.
  if (c.ips.contains(absl::string_view(raw.data(), raw.size()))) return;
  std::string addr = FormatIp(ip);
  if (addr != raw && c.ips.contains(addr)) return;
  // A bounded number of new addresses per key and day become events: past it, a client
  // cycling through addresses (an IPv6 /64 holds 2^64) cannot flood the workspace's audit
  // log or grow this set. The allowlists above still apply to every address.
  int64_t day = now / 86400;
  if (c.ips_day != day) {
    c.ips_day = day;
    c.ips_recorded_today = 0;
  }
  if (c.ips_recorded_today >= budget) return;
  ++c.ips_recorded_today;
  c.ips.insert(addr);
  r.new_ip = true;
  std::lock_guard q(new_ips_mu_);
  new_ips_.push_back({k.id, k.workspace_id, std::move(addr), now, k.name, k.project_id});
}

UnixTime KeyIndex::LastUsed(const std::string& key_id) {
  std::lock_guard ids(ids_mu_);
  auto it = by_id_.find(key_id);
  return it == by_id_.end() ? 0 : it->second.counters->last_used.load(std::memory_order_relaxed);
}

std::vector<KeyUsage> KeyIndex::TakeUsage() {
  std::vector<Dirty> dirty;
  {
    std::lock_guard lock(dirty_mu_);
    dirty.swap(dirty_);
  }
  std::vector<KeyUsage> out;
  out.reserve(dirty.size());
  absl::flat_hash_map<std::string, MonthPeriod> periods;  // by time zone
  for (const auto& [k, counters] : dirty) {
    // A key removed since its use still has its counters here; the store ignores usage of
    // keys it no longer has.
    KeyCounters& c = *counters;
    int64_t n = c.pending_uses.exchange(0);
    if (n == 0) continue;
    std::string period;
    {
      std::lock_guard lock(c.period_mu);
      period = c.period_label;
    }
    UnixTime last = c.last_used.load();
    UnixTime write_last_used = 0;
    if (last - c.last_used_written >= 60) {
      write_last_used = last;
      c.last_used_written = last;
    }
    if (period.empty()) {
      auto& cached = periods[k->timezone];
      if (cached.label.empty() || last >= cached.end || last < cached.start) {
        cached = MonthContaining(k->timezone, last);
      }
      period = cached.label;
    }
    out.push_back({k->key.id, write_last_used, period, n});
  }
  return out;
}

void KeyIndex::NoteLimitHit(const CompiledKey& ck, KeyCounters& c, bool quota, int64_t limit,
                            UnixTime now) {
  // One relaxed load on the refusal path; the hour's first refusal takes the slot.
  int64_t until = c.limit_noted_until.load(std::memory_order_relaxed);
  if (now < until) return;
  if (!c.limit_noted_until.compare_exchange_strong(until, now + 3600, std::memory_order_relaxed)) {
    return;
  }
  const ApiKey& k = ck.key;
  std::lock_guard lock(limit_hits_mu_);
  if (limit_hits_.size() >= 100000) return;  // the flusher is stuck: drop, never grow
  limit_hits_.push_back({k.id, k.workspace_id, k.name, k.owner_id, quota, limit, now});
}

std::vector<LimitHit> KeyIndex::TakeLimitHits() {
  std::lock_guard lock(limit_hits_mu_);
  std::vector<LimitHit> out;
  out.swap(limit_hits_);
  return out;
}

std::vector<NewIpUse> KeyIndex::TakeNewIps() {
  std::lock_guard lock(new_ips_mu_);
  std::vector<NewIpUse> out;
  out.swap(new_ips_);
  return out;
}

size_t KeyIndex::size() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::shared_lock lock(s.mu);
    n += s.by_hash.size();
  }
  return n;
}

}  // namespace gh
