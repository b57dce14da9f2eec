#include "service/api_keys.h"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/key_format.h"
#include "core/endpoint.h"
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
  return {{"name", k.name},        {"type", ToString(k.type)},
          {"project_id", k.project_id}, {"environment", ToString(k.environment)},
          {"allow", k.allow},      {"deny", k.deny},
          {"methods", k.methods},  {"ip_allowlist", k.ip_allowlist},
          {"rate_per_minute", k.rate_per_minute ? nlohmann::json(*k.rate_per_minute) : nullptr},
          {"rate_per_month", k.rate_per_month ? nlohmann::json(*k.rate_per_month) : nullptr},
          {"expires_at", k.expires_at ? nlohmann::json(FormatRfc3339(*k.expires_at)) : nullptr}};
}

}  // namespace

std::string KeyAuditSummary(const ApiKey& k) { return KeySummary(k).dump(); }

std::string MintSecret(ApiKey& k) {
  std::string secret = NewApiKey(k.type, k.environment);
  k.hash = crypto::Sha256Hex(secret);
  k.prefix = KeyDisplayPrefix(secret);
  k.publishable_key = k.type == KeyType::kPublishable ? secret : "";
  return secret;
}

ApiKey NewPublishableKey(const std::string& workspace_id, const std::string& owner_id,
                         UnixTime now) {
  ApiKey k;
  k.id = NewId("key");
  k.workspace_id = workspace_id;
  k.owner_id = owner_id;
  k.type = KeyType::kPublishable;
  k.name = "Publishable key";
  MintSecret(k);
  k.created_at = now;
  k.updated_at = now;
  return k;
}

ApiKeys::ApiKeys(Store& store, Access& access, KeyIndexSync& sync, IdentityCache& cache,
                 const Clock& clock)
    : store_(store), access_(access), sync_(sync), index_(sync.index()), cache_(cache),
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
  if (k.type == KeyType::kPublishable) v.secret = k.publishable_key;
  return v;
}

Status ApiKeys::Apply(StoreReader& reads, const Membership& caller, ApiKey& k,
                      const KeyInput& in, bool creating, UnixTime now) {
  if (in.name || creating) {
    auto name = validation::KeyName(in.name.value_or(""));
    if (!name) return name.error();
    k.name = *name;
  }
  if (in.service) {
    auto service = validation::ServiceName(*in.service);
    if (!service) return service.error();
    k.service = *service;
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
                   ? reads.ProjectById(caller.workspace_id, *in.project_id)
                   : std::nullopt;
    if (!prj) return Invalid("invalid_project", "project_id", "Unknown project.");
    k.project_id = prj->id;
  }
  return {};
}

Result<KeyView> ApiKeys::Create(const Principal& p, const Membership& caller, const KeyInput& in) {
  ApiKey k;
  k.id = NewId("key");
  k.workspace_id = caller.workspace_id;
  k.owner_id = caller.user_id;
  k.type = in.type.value_or(KeyType::kSecret);
  std::string secret;
  auto created = store_.Write([&](WriteTx& tx) -> Result<ApiKey> {
    // A key is never more alive than its owner's membership: the owner is still a member
    // allowed to create keys under the workspace lock that removals take too.
    auto owner = access_.Recheck(tx, caller, "api_keys.create");
    if (!owner) return owner.error();
    UnixTime now = clock_.Now();
    ApiKey key = k;
    if (Status st = Apply(tx, *owner, key, in, true, now); !st.ok()) return st.error();
    if (in.environment) {
      key.environment = *in.environment;
    } else if (!key.project_id.empty()) {
      auto prj = tx.ProjectById(key.workspace_id, key.project_id);
      key.environment =
          prj && prj->environment != "production" ? KeyEnvironment::kTest : KeyEnvironment::kLive;
    }
    secret = MintSecret(key);
    key.created_at = now;
    key.updated_at = now;
    tx.InsertApiKey(key);
    AppendAudit(tx, p, {key.workspace_id, "api_key.created", "api_key", key.id, key.name,
                        key.project_id, KeySummary(key).dump()},
                now);
    sync_.PutAfterCommit(tx, {key});
    return key;
  });
  if (!created) return created.error();
  return ViewOf(*created, secret);
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

Result<ApiKey> ApiKeys::LockForChange(WriteTx& tx, const Membership& caller,
                                      const std::string& key_id, const char* verb) {
  if (!IsWellFormedId(key_id, "key")) return Error::NotFound("API key");
  // The caller as they are now, under the workspace lock: a member removed (or demoted)
  // while this request ran does not rotate a key and take its new secret home.
  auto now_caller = access_.Recheck(tx, caller, "");
  if (!now_caller) return now_caller.error();
  auto k = tx.LockApiKey(caller.workspace_id, key_id);
  if (!k || !CanSee(*now_caller, *k)) return Error::NotFound("API key");
  if (!CanManage(*now_caller, *k)) {
    return Error::Forbidden(std::string("You may not ") + verb + " keys of other members.");
  }
  return *k;
}

Result<KeyView> ApiKeys::Update(const Principal& p, const Membership& caller,
                                const std::string& key_id, const KeyInput& in) {
  auto updated = store_.Write([&](WriteTx& tx) -> Result<ApiKey> {
    auto k = LockForChange(tx, caller, key_id, "change");
    if (!k) return k.error();
    if (k->revoked_at) return Error::Conflict("key_revoked", "The key is revoked.");
    ApiKey before = *k;
    UnixTime now = clock_.Now();
    if (Status st = Apply(tx, caller, *k, in, false, now); !st.ok()) return st.error();
    k->updated_at = now;
    tx.UpdateApiKey(*k);
    nlohmann::json details = {{"from", KeySummary(before)}, {"to", KeySummary(*k)}};
    AppendAudit(tx, p, {k->workspace_id, "api_key.updated", "api_key", k->id, k->name,
                        k->project_id, details.dump()},
                now);
    sync_.PutAfterCommit(tx, {*k});
    return k;
  });
  if (!updated) return updated.error();
  return ViewOf(*updated);
}

Result<KeyView> ApiKeys::Rotate(const Principal& p, const Membership& caller,
                                const std::string& key_id, std::optional<int64_t> grace_seconds) {
  int64_t grace = grace_seconds.value_or(kDefaultGraceSeconds);
  std::string secret;
  auto rotated = store_.Write([&](WriteTx& tx) -> Result<ApiKey> {
    auto k = LockForChange(tx, caller, key_id, "rotate");
    if (!k) return k.error();
    if (k->revoked_at) return Error::Conflict("key_revoked", "The key is revoked.");
    if (grace < 0 || grace > kMaxGraceSeconds) {
      return Invalid("invalid_grace", "grace_seconds", "grace_seconds is between 0 and 2592000.");
    }
    UnixTime now = clock_.Now();
    k->previous_hash = grace > 0 ? k->hash : "";
    k->previous_expires_at = grace > 0 ? std::optional<UnixTime>(now + grace) : std::nullopt;
    secret = MintSecret(*k);
    k->updated_at = now;
    tx.UpdateApiKey(*k);
    AppendAudit(tx, p, {k->workspace_id, "api_key.rotated", "api_key", k->id, k->name,
                        k->project_id, nlohmann::json{{"grace_seconds", grace}}.dump()},
                now);
    sync_.PutAfterCommit(tx, {*k});
    return k;
  });
  if (!rotated) return rotated.error();
  return ViewOf(*rotated, secret);
}

Result<KeyView> ApiKeys::Revoke(const Principal& p, const Membership& caller,
                                const std::string& key_id) {
  auto revoked = store_.Write([&](WriteTx& tx) -> Result<ApiKey> {
    auto k = LockForChange(tx, caller, key_id, "revoke");
    if (!k) return k.error();
    if (k->revoked_at) return k;  // revoking twice is harmless
    UnixTime now = clock_.Now();
    k->revoked_at = now;
    k->updated_at = now;
    tx.UpdateApiKey(*k);
    AppendAudit(tx, p, {k->workspace_id, "api_key.revoked", "api_key", k->id, k->name,
                        k->project_id, "{}"},
                now);
    sync_.PutAfterCommit(tx, {*k});
    return k;
  });
  if (!revoked) return revoked.error();
  return ViewOf(*revoked);
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
  if (shape->type != KeyType::kSecret) {
    return Error::Unauthenticated("publishable_key_not_allowed",
                                  "Publishable keys cannot call management endpoints.");
  }
  auto key = index_.Find(secret, clock_.Now());
  if (!key) return invalid();
  const ApiKey& k = key->key;
  if (!KeyPermits(k, path, method, {})) {
    return Error{ErrorKind::kForbidden, "forbidden", "This API key may not call this endpoint.", {}};
  }
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


}  // namespace gh
