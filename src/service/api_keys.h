// API keys: create, list, read, edit, rotate and revoke them, verify them for the host
// product's gateway, and authenticate management calls made with a secret key. The index
// follows the store through KeyIndexSync; usage goes to the store through KeyUsageWriter.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "service/access.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "service/key_index.h"
#include "service/key_sync.h"
#include "store/store.h"

namespace gh {

struct KeyInput {
  std::optional<std::string> name;
  std::optional<KeyType> type;
  std::optional<std::string> project_id;
  std::optional<KeyEnvironment> environment;
  std::optional<std::string> service;
  std::optional<std::vector<std::string>> allow;
  std::optional<std::vector<std::string>> deny;
  std::optional<std::vector<std::string>> methods;
  bool set_rate_limit = false;
  std::optional<int64_t> per_minute;
  std::optional<int64_t> per_month;
  std::optional<std::vector<std::string>> ip_allowlist;
  bool set_expires_at = false;
  std::optional<std::string> expires_at;  // RFC 3339, or null to clear
};

// A key as the API shows it; `secret` is set only right after creation or rotation (and
// always for publishable keys, which are public by design).
struct KeyView {
  ApiKey key;
  std::string owner_name;
  std::string secret;
};

// What api_key.created records of a key (its settings, never its secret), as JSON.
std::string KeyAuditSummary(const ApiKey& k);

// A new secret for `k` (by its type and environment): sets hash, prefix and, for publishable
// keys, the key itself. Returns the secret, which is shown once and never stored.
std::string MintSecret(ApiKey& k);

// The publishable key every workspace gets at creation, owned by its creator.
ApiKey NewPublishableKey(const std::string& workspace_id, const std::string& owner_id,
                         UnixTime now);

// Key management: create, list, read, edit, rotate and revoke; and the two ways a key is
// used: verification for the host product's gateway (from the index only) and authentication
// of management calls made with a secret key. Each change is one unit of work that reads the
// key under its lock and updates the index after it commits.
class ApiKeys {
 public:
  ApiKeys(Store& store, Access& access, KeyIndexSync& sync, IdentityCache& cache,
          const Clock& clock = Clock::System());

  Result<KeyView> Create(const Principal& p, const Membership& caller, const KeyInput& in);
  std::vector<KeyView> List(const Membership& caller);
  Result<KeyView> Get(const Membership& caller, const std::string& key_id);
  Result<KeyView> Update(const Principal& p, const Membership& caller, const std::string& key_id,
                         const KeyInput& in);
  Result<KeyView> Rotate(const Principal& p, const Membership& caller, const std::string& key_id,
                         std::optional<int64_t> grace_seconds);
  Result<KeyView> Revoke(const Principal& p, const Membership& caller, const std::string& key_id);

  VerifyResult Verify(const VerifyRequest& req);

  // The owner behind a secret key sent as `Authorization: Bearer`, when the key is live, its
  // endpoint permissions allow `method path`, and `ip` is allowed. 401 otherwise.
  Result<Principal> Authenticate(const std::string& secret, const std::string& method,
                                 const std::string& path, const ClientInfo& client);

 private:
  bool CanSee(const Membership& caller, const ApiKey& k);
  bool CanManage(const Membership& caller, const ApiKey& k);
  Status Apply(StoreReader& reads, const Membership& caller, ApiKey& k, const KeyInput& in,
               bool creating, UnixTime now);
  // The key as the caller may change it, read under its lock in `tx`: 404 when it does not
  // exist or the caller cannot see it, 403 when they may not manage it.
  Result<ApiKey> LockForChange(WriteTx& tx, const Membership& caller, const std::string& key_id,
                               const char* verb);
  KeyView ViewOf(const ApiKey& k, std::string secret = "");

  Store& store_;
  Access& access_;
  KeyIndexSync& sync_;
  KeyIndex& index_;
  IdentityCache& cache_;
  const Clock& clock_;
};

}  // namespace gh
