#include "service/api_keys.h"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/key_format.h"
#include "core/net.h"
#include "core/validation.h"
#include "service/audit.h"

namespace gh {
namespace {

constexpr int64_t kDefaultGraceSeconds = 86400;
constexpr int64_t kMaxGraceSeconds = 30 * 86400;

Error Invalid(const char* code, const char* field, std::string message) {
  return Error::Invalid(code, field, std::move(message));
}

nlohmann::json KeySummary(const ApiKey& k) {
  return {{"name", k.name},        {"type", k.type},
          {"project_id", k.project_id}, {"environment", k.environment},
          {"allow", k.allow},      {"deny", k.deny},
          {"methods", k.methods},  {"ip_allowlist", k.ip_allowlist},
          {"rate_per_minute", k.rate_per_minute ? nlohmann::json(*k.rate_per_minute) : nullptr},
          {"rate_per_month", k.rate_per_month ? nlohmann::json(*k.rate_per_month) : nullptr},
          {"expires_at", k.expires_at ? nlohmann::json(FormatRfc3339(*k.expires_at)) : nullptr}};
}

}  // namespace

ApiKeys::ApiKeys(Store& store, const Config& config, Access& access, KeyIndex& index,
                 IdentityCache& cache, const Clock& clock)
    : store_(store), config_(config), access_(access), index_(index), cache_(cache),
      clock_(clock) {}

bool ApiKeys::CanSee(const Membership& caller, const ApiKey& k) {
  if (access_.Can(caller, "api_keys.view_all")) return true;
  return k.owner_id == caller.user_id && access_.Can(caller, "api_keys.view_own");
}

bool ApiKeys::CanManage(const Membership& caller, const ApiKey& k) {
  if (access_.Can(caller, "api_keys.revoke_all")) return true;
  return k.owner_id == caller.user_id && access_.Can(caller, "api_keys.revoke_own");
}

KeyView ApiKeys::ViewOf(const ApiKey& k, std::string secret) {
  KeyView v{k, "", std::move(secret)};
  if (UnixTime used = index_.LastUsed(k.id); used > v.key.last_used_at.value_or(0)) {
    v.key.last_used_at = used;
  }
  if (auto u = store_.UserById(k.owner_id)) v.owner_name = u->name;
  if (k.type == "publishable") v.secret = k.publishable_key;
  return v;
}

void ApiKeys::Reindex(const ApiKey& k) {
  std::optional<Project> project;
  if (!k.project_id.empty()) project = store_.ProjectById(k.workspace_id, k.project_id);
  auto w = store_.WorkspaceById(k.workspace_id);
  index_.Put(k, project, w ? KeyWorkspace::Of(*w) : KeyWorkspace{});
}

Status ApiKeys::Apply(const Membership& caller, ApiKey& k, const KeyInput& in, bool creating,
                      UnixTime now) {
  if (in.name || creating) {
    std::string name = validation::Trim(in.name.value_or(""));
    if (name.empty() || validation::CodePoints(name) > 100 || !validation::IsValidUtf8(name)) {
      return Invalid("invalid_name", "name", "A key name has 1 to 100 characters.");
    }
    k.name = name;
  }
  if (in.service) {
    if (validation::CodePoints(*in.service) > 100 || !validation::IsValidUtf8(*in.service)) {
      return Invalid("invalid_service", "service", "service has at most 100 characters.");
    }
    k.service = validation::Trim(*in.service);
  }
  auto check_patterns = [](const std::vector<std::string>& ps, const char* field) -> Status {
    if (ps.size() > 100) return Invalid("invalid_permissions", field, "At most 100 patterns.");
    for (const auto& p : ps) {
      if (!IsValidPathPattern(p)) {
        return Invalid("invalid_permissions", field,
                       "'" + p + "' is not a path pattern such as /v1/metrics/*.");
      }
    }
    return {};
  };
  if (in.allow) {
    if (Status st = check_patterns(*in.allow, "permissions.allow"); !st.ok()) return st;
    k.allow = *in.allow;
  }
  if (in.deny) {
    if (Status st = check_patterns(*in.deny, "permissions.deny"); !st.ok()) return st;
    k.deny = *in.deny;
  }
  if (in.methods) {
    for (const auto& m : *in.methods) {
      static const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
      bool known = false;
      for (const char* km : kMethods) known = known || m == km;
      if (!known) return Invalid("invalid_permissions", "permissions.methods", "Unknown method '" + m + "'.");
    }
    k.methods = *in.methods;
  }
  if (in.set_rate_limit) {
    if (in.per_minute && (*in.per_minute < 1 || *in.per_minute > 1'000'000)) {
      return Invalid("invalid_rate_limit", "rate_limit.per_minute",
                     "per_minute is between 1 and 1,000,000.");
    }
    if (in.per_month && (*in.per_month < 1 || *in.per_month > 1'000'000'000'000)) {
      return Invalid("invalid_rate_limit", "rate_limit.per_month",
                     "per_month is between 1 and 10^12.");
    }
    k.rate_per_minute = in.per_minute;
    k.rate_per_month = in.per_month;
  }
  if (in.ip_allowlist) {
    if (in.ip_allowlist->size() > 100) {
      return Invalid("invalid_cidr", "ip_allowlist", "At most 100 ranges.");
    }
    std::vector<std::string> canonical;
    for (const auto& c : *in.ip_allowlist) {
      auto cidr = ParseCidr(c);
      if (!cidr) {
        return Invalid("invalid_cidr", "ip_allowlist",
                       "'" + c + "' is not an IPv4 or IPv6 address or CIDR range.");
      }
      canonical.push_back(cidr->text);
    }
    k.ip_allowlist = canonical;
  }
  if (in.set_expires_at) {
    if (!in.expires_at) {
      k.expires_at.reset();
    } else {
      auto t = ParseRfc3339(*in.expires_at);
      if (!t) return Invalid("invalid_expires_at", "expires_at", "expires_at is an RFC 3339 time.");
      if (*t <= now) return Invalid("invalid_expires_at", "expires_at", "expires_at is in the past.");
      k.expires_at = *t;
    }
  }
  if (creating && in.project_id && !in.project_id->empty()) {
    // Projects the caller may not see do not exist for them (API.md: 404 or, in a body, 422).
    auto prj = IsWellFormedId(*in.project_id, "prj") &&
                       access_.CanSeeProject(caller, *in.project_id)
                   ? store_.ProjectById(caller.workspace_id, *in.project_id)
                   : std::nullopt;
    if (!prj) return Invalid("invalid_project", "project_id", "Unknown project.");
    k.project_id = prj->id;
  }
  return {};
}

Result<KeyView> ApiKeys::Create(const Principal& p, const Membership& caller, const KeyInput& in) {
  UnixTime now = clock_.Now();
  ApiKey k;
  k.id = NewId("key");
  k.workspace_id = caller.workspace_id;
  k.owner_id = caller.user_id;
  k.type = in.type.value_or("secret");
  if (k.type != "secret" && k.type != "publishable") {
    return Invalid("invalid_type", "type", "type is secret or publishable.");
  }
  if (Status st = Apply(caller, k, in, true, now); !st.ok()) return st.error();
  if (in.environment) {
    if (*in.environment != "live" && *in.environment != "test") {
      return Invalid("invalid_environment", "environment", "environment is live or test.");
    }
    k.environment = *in.environment;
  } else if (!k.project_id.empty()) {
    auto prj = store_.ProjectById(k.workspace_id, k.project_id);
    k.environment = prj && prj->environment != "production" ? "test" : "live";
  }
  std::string secret = NewApiKey(k.type, k.environment);
  k.hash = crypto::Sha256Hex(secret);
  k.prefix = KeyDisplayPrefix(secret);
  if (k.type == "publishable") k.publishable_key = secret;
  k.created_at = now;
  k.updated_at = now;
  auto tx = store_.Begin();
  tx->InsertApiKey(k);
  AppendAudit(*tx, p, {k.workspace_id, "api_key.created", "api_key", k.id, k.name, k.project_id,
                       KeySummary(k).dump()},
              now);
  tx->Commit();
  Reindex(k);
  return ViewOf(k, secret);
}

ApiKey ApiKeys::ProvisionPublishable(WriteTx& tx, const Principal& p, const Workspace& ws,
                                     UnixTime now) {
  ApiKey k;
  k.id = NewId("key");
  k.workspace_id = ws.id;
  k.owner_id = p.user.id;
  k.type = "publishable";
  k.name = "Publishable key";
  std::string secret = NewApiKey(k.type, k.environment);
  k.hash = crypto::Sha256Hex(secret);
  k.prefix = KeyDisplayPrefix(secret);
  k.publishable_key = secret;
  k.created_at = now;
  k.updated_at = now;
  tx.InsertApiKey(k);
  AppendAudit(tx, p, {ws.id, "api_key.created", "api_key", k.id, k.name, "", KeySummary(k).dump()},
              now);
  return k;
}

std::vector<KeyView> ApiKeys::List(const Membership& caller) {
  std::vector<KeyView> out;
  for (const auto& k : store_.ApiKeys(caller.workspace_id)) {
    if (CanSee(caller, k)) out.push_back(ViewOf(k));
  }
  return out;
}

Result<KeyView> ApiKeys::Get(const Membership& caller, const std::string& key_id) {
  if (!IsWellFormedId(key_id, "key")) return Error::NotFound("API key");
  auto k = store_.ApiKeyById(caller.workspace_id, key_id);
  if (!k || !CanSee(caller, *k)) return Error::NotFound("API key");
  return ViewOf(*k);
}

Result<KeyView> ApiKeys::Update(const Principal& p, const Membership& caller,
                                const std::string& key_id, const KeyInput& in) {
  if (!IsWellFormedId(key_id, "key")) return Error::NotFound("API key");
  auto k = store_.ApiKeyById(caller.workspace_id, key_id);
  if (!k || !CanSee(caller, *k)) return Error::NotFound("API key");
  if (!CanManage(caller, *k)) return Error::Forbidden("You may not change keys of other members.");
  if (k->revoked_at) return Error::Conflict("key_revoked", "The key is revoked.");
  ApiKey before = *k;
  UnixTime now = clock_.Now();
  if (Status st = Apply(caller, *k, in, false, now); !st.ok()) return st.error();
  k->updated_at = now;
  auto tx = store_.Begin();
  tx->UpdateApiKey(*k);
  nlohmann::json details = {{"from", KeySummary(before)}, {"to", KeySummary(*k)}};
  AppendAudit(*tx, p, {k->workspace_id, "api_key.updated", "api_key", k->id, k->name,
                       k->project_id, details.dump()},
              now);
  tx->Commit();
  Reindex(*k);
  return ViewOf(*k);
}

Result<KeyView> ApiKeys::Rotate(const Principal& p, const Membership& caller,
                                const std::string& key_id, std::optional<int64_t> grace_seconds) {
  if (!IsWellFormedId(key_id, "key")) return Error::NotFound("API key");
  auto k = store_.ApiKeyById(caller.workspace_id, key_id);
  if (!k || !CanSee(caller, *k)) return Error::NotFound("API key");
  if (!CanManage(caller, *k)) return Error::Forbidden("You may not rotate keys of other members.");
  if (k->revoked_at) return Error::Conflict("key_revoked", "The key is revoked.");
  int64_t grace = grace_seconds.value_or(kDefaultGraceSeconds);
  if (grace < 0 || grace > kMaxGraceSeconds) {
    return Invalid("invalid_grace", "grace_seconds", "grace_seconds is between 0 and 2592000.");
  }
  UnixTime now = clock_.Now();
  std::string secret = NewApiKey(k->type, k->environment);
  k->previous_hash = grace > 0 ? k->hash : "";
  k->previous_expires_at = grace > 0 ? std::optional<UnixTime>(now + grace) : std::nullopt;
  k->hash = crypto::Sha256Hex(secret);
  k->prefix = KeyDisplayPrefix(secret);
  if (k->type == "publishable") k->publishable_key = secret;
  k->updated_at = now;
  auto tx = store_.Begin();
  tx->UpdateApiKey(*k);
  AppendAudit(*tx, p, {k->workspace_id, "api_key.rotated", "api_key", k->id, k->name,
                       k->project_id, nlohmann::json{{"grace_seconds", grace}}.dump()},
              now);
  tx->Commit();
  Reindex(*k);
  return ViewOf(*k, secret);
}

Result<KeyView> ApiKeys::Revoke(const Principal& p, const Membership& caller,
                                const std::string& key_id) {
  if (!IsWellFormedId(key_id, "key")) return Error::NotFound("API key");
  auto k = store_.ApiKeyById(caller.workspace_id, key_id);
  if (!k || !CanSee(caller, *k)) return Error::NotFound("API key");
  if (!CanManage(caller, *k)) return Error::Forbidden("You may not revoke keys of other members.");
  if (k->revoked_at) return ViewOf(*k);  // revoking twice is harmless
  UnixTime now = clock_.Now();
  k->revoked_at = now;
  k->updated_at = now;
  auto tx = store_.Begin();
  tx->UpdateApiKey(*k);
  AppendAudit(*tx, p, {k->workspace_id, "api_key.revoked", "api_key", k->id, k->name,
                       k->project_id, "{}"},
              now);
  tx->Commit();
  Reindex(*k);
  return ViewOf(*k);
}

int ApiKeys::RevokeAllOf(WriteTx& tx, const std::string& ws, const std::string& user_id,
                         UnixTime now) {
  auto ids = tx.RevokeKeysOfOwner(ws, user_id, now);
  for (const auto& id : ids) {
    if (auto k = store_.ApiKeyById(ws, id)) {
      k->revoked_at = now;
      Reindex(*k);
    }
  }
  return static_cast<int>(ids.size());
}

int ApiKeys::RevokeEverywhere(WriteTx& tx, const std::string& user_id, UnixTime now) {
  auto ids = tx.RevokeAllKeysOfOwner(user_id, now);
  for (const auto& [ws, id] : ids) {
    if (auto k = store_.ApiKeyById(ws, id)) {
      k->revoked_at = now;
      Reindex(*k);
    }
  }
  return static_cast<int>(ids.size());
}

void ApiKeys::ReindexWorkspace(const std::string& workspace_id) {
  // The workspace and each project read once, not once per key: a workspace may hold many.
  auto w = store_.WorkspaceById(workspace_id);
  KeyWorkspace ws = w ? KeyWorkspace::Of(*w) : KeyWorkspace{};
  absl::flat_hash_map<std::string, std::optional<Project>> projects;
  for (const auto& k : store_.ApiKeys(workspace_id)) {
    std::optional<Project> project;
    if (!k.project_id.empty()) {
      auto p = projects.find(k.project_id);
      if (p == projects.end()) {
        p = projects.emplace(k.project_id, store_.ProjectById(workspace_id, k.project_id)).first;
      }
      project = p->second;
    }
    index_.Put(k, project, ws);
  }
}

VerifyResult ApiKeys::Verify(const VerifyRequest& req) {
  int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return index_.Verify(req, now_us);
}

Result<Principal> ApiKeys::Authenticate(const std::string& secret, const std::string& method,
                                        const std::string& path, const ClientInfo& client) {
  auto invalid = [] { return Error::Unauthenticated("invalid_api_key", "The API key is not valid."); };
  auto shape = ParseApiKey(secret);
  if (!shape) return invalid();
  if (shape->type != "secret") {
    return Error::Unauthenticated("publishable_key_not_allowed",
                                  "Publishable keys cannot call management endpoints.");
  }
  auto key = index_.Find(secret, clock_.Now());
  if (!key) return invalid();
  const ApiKey& k = key->key;
  auto deny = [&](const char* why) {
    return Error{ErrorKind::kForbidden, "forbidden", std::string("This API key ") + why + ".", {}};
  };
  bool denied = false, allowed = k.allow.empty();
  for (const auto& p : k.deny) denied = denied || PathPatternMatches(p, path);
  for (const auto& p : k.allow) allowed = allowed || PathPatternMatches(p, path);
  bool method_ok = k.methods.empty();
  for (const auto& m : k.methods) method_ok = method_ok || m == method;
  if (denied || !allowed || !method_ok) return deny("may not call this endpoint");
  // (The workspace's own IP allowlist is Access::Authorize's to enforce, for keys and
  // sessions alike.)
  if (!key->allowlist.empty()) {
    auto ip = ParseIp(client.ip);
    bool inside = false;
    for (const auto& c : key->allowlist) inside = inside || (ip && c.Contains(*ip));
    if (!inside) {
      return Error{ErrorKind::kForbidden, "ip_not_allowed",
                   "This API key may not be used from this address.", {}};
    }
  }
  // The owner, as sessions are: cached briefly, dropped by any change to the user here.
  UnixTime now = clock_.Now();
  auto owner = cache_.UserById(k.owner_id, now);
  if (!owner) {
    auto found = store_.UserById(k.owner_id);
    if (!found) return invalid();
    owner = std::make_shared<const User>(std::move(*found));
    cache_.PutUser(owner, now);
  }
  Principal p{*owner, "", client};
  p.api_key_id = k.id;
  p.api_key_name = k.name;
  p.api_key_workspace_id = k.workspace_id;
  return p;
}

void ApiKeys::Refresh() {
  std::unique_lock lock(refresh_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  UnixTime now = clock_.Now();
  if (last_refresh_ == 0) last_refresh_ = index_.loaded_at();
  UnixTime since = last_refresh_ - kRefreshOverlapSeconds;
  uint64_t generation = index_.Generation();
  // Keys first, tombstones last: a key read before its workspace's deletion committed is
  // removed again by the tombstone read after it.
  auto keys = store_.ApiKeysUpdatedSince(since);
  auto changed = store_.WorkspacesChangedSince(since);
  auto deleted = store_.WorkspacesDeletedSince(since);
  absl::flat_hash_map<std::string, std::optional<KeyWorkspace>> workspaces;
  absl::flat_hash_map<std::string, std::optional<Project>> projects;
  auto apply = [&](const ApiKey& k) {
    auto w = workspaces.find(k.workspace_id);
    if (w == workspaces.end()) {
      std::optional<KeyWorkspace> kw;
      if (auto found = store_.WorkspaceById(k.workspace_id)) kw = KeyWorkspace::Of(*found);
      w = workspaces.emplace(k.workspace_id, std::move(kw)).first;
    }
    if (!w->second) return;  // deleted meanwhile: its tombstone removes its keys
    std::optional<Project> project;
    if (!k.project_id.empty()) {
      auto p = projects.find(k.project_id);
      if (p == projects.end()) {
        p = projects.emplace(k.project_id, store_.ProjectById(k.workspace_id, k.project_id)).first;
      }
      project = p->second;
    }
    index_.PutIfUnchangedSince(k, project, *w->second, generation);
  };
  for (const auto& k : keys) apply(k);
  for (const auto& ws : changed) {
    for (const auto& k : store_.ApiKeys(ws)) apply(k);
  }
  for (const auto& ws : deleted) index_.RemoveWorkspace(ws);
  last_refresh_ = now;
}

void ApiKeys::Flush(bool everything) {
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
    auto tx = store_.Begin();
    tx->RecordKeyUsage(part);
    tx->Commit();
  }
  for (size_t start = 0; start < ips.size(); start += kFlushBatch) {
    size_t end = std::min(ips.size(), start + kFlushBatch);
    std::vector<KeyIpUse> uses;
    uses.reserve(end - start);
    for (size_t i = start; i < end; ++i) uses.push_back({ips[i].key_id, ips[i].ip, ips[i].at});
    auto tx = store_.Begin();
    std::vector<AuditEvent> events;
    for (size_t i : tx->InsertKeyIps(uses)) {
      const NewIpUse& use = ips[start + i];
      Principal system;
      system.client.ip = use.ip;
      AuditRecord r{use.workspace_id, "api_key.new_ip", "api_key", use.key_id, use.key_name,
                    use.project_id, nlohmann::json{{"ip", use.ip}}.dump()};
      events.push_back(MakeAuditEvent(system, r, use.at));
    }
    AppendAuditBatch(*tx, events);
    tx->Commit();
  }
}

}  // namespace gh
