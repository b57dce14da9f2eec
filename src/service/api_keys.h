// API keys: create, list, read, edit, rotate and revoke them, verify them for the host
// product's gateway, and authenticate management calls made with a secret key.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "service/access.h"
#include "service/config.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "service/key_index.h"
#include "store/store.h"

namespace gh {

struct KeyInput {
  std::optional<std::string> name;
  std::optional<std::string> type;
  std::optional<std::string> project_id;
  std::optional<std::string> environment;
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

class ApiKeys {
 public:
  ApiKeys(Store& store, const Config& config, Access& access, KeyIndex& index,
          IdentityCache& cache, const Clock& clock = Clock::System());

  Result<KeyView> Create(const Principal& p, const Membership& caller, const KeyInput& in);
  std::vector<KeyView> List(const Membership& caller);
  Result<KeyView> Get(const Membership& caller, const std::string& key_id);
  Result<KeyView> Update(const Principal& p, const Membership& caller, const std::string& key_id,
                         const KeyInput& in);
  Result<KeyView> Rotate(const Principal& p, const Membership& caller, const std::string& key_id,
                         std::optional<int64_t> grace_seconds);
  Result<KeyView> Revoke(const Principal& p, const Membership& caller, const std::string& key_id);

  // Revokes every live key `user_id` created in the workspace, inside `tx` (a member's
  // removal with revoke_keys=true). The index is updated at once: should the transaction
  // fail, the keys stay refused, which errs on the safe side.
  int RevokeAllOf(WriteTx& tx, const std::string& workspace_id, const std::string& user_id,
                  UnixTime now);

  // The publishable key every workspace gets at creation.
  ApiKey ProvisionPublishable(WriteTx& tx, const Principal& p, const Workspace& ws, UnixTime now);

  // Recompiles every key of the workspace from the store: after a change of a project's
  // default limits, a project's deletion or the workspace's time zone.
  // Revokes the keys `user_id` created in any workspace (account deletion); returns how many.
  int RevokeEverywhere(WriteTx& tx, const std::string& user_id, UnixTime now);
  void ReindexWorkspace(const std::string& workspace_id);

  VerifyResult Verify(const VerifyRequest& req);

  // The owner behind a secret key sent as `Authorization: Bearer`, when the key is live, its
  // endpoint permissions allow `method path`, and `ip` is allowed. 401 otherwise.
  Result<Principal> Authenticate(const std::string& secret, const std::string& method,
                                 const std::string& path, const ClientInfo& client);

  // Writes batched usage and first-use addresses (with their api_key.new_ip events). Called
  // every second by the bookkeeping thread; `everything` (at shutdown) also writes usage not
  // yet due.
  void Flush(bool everything = false);

  // Applies to the index what other processes sharing the store changed: keys created,
  // edited, rotated or revoked, projects' default limits, time zones, deleted workspaces.
  // Called every second at normal priority (another process's revocation must not wait for
  // an idle core, as the bookkeeping does); a call while one runs returns at once. Reads what
  // changed since the previous call minus kRefreshOverlapSeconds, so that a transaction that
  // committed late (or a clock a little behind) is still seen.
  void Refresh();

  KeyIndex& index() { return index_; }

 private:
  bool CanSee(const Membership& caller, const ApiKey& k);
  bool CanManage(const Membership& caller, const ApiKey& k);
  Status Apply(const Membership& caller, ApiKey& k, const KeyInput& in, bool creating, UnixTime now);
  void Reindex(const ApiKey& k);
  KeyView ViewOf(const ApiKey& k, std::string secret = "");

  Store& store_;
  const Config& config_;
  Access& access_;
  KeyIndex& index_;
  IdentityCache& cache_;
  const Clock& clock_;
  std::mutex flush_mu_;
  static constexpr UnixTime kUsageFlushSeconds = 10;
  static constexpr size_t kFlushBatch = 1000;  // rows per transaction of a flush
  UnixTime last_usage_flush_ = 0;  // by the flusher thread only
  static constexpr UnixTime kRefreshOverlapSeconds = 10;
  std::mutex refresh_mu_;
  UnixTime last_refresh_ = 0;  // guarded by refresh_mu_
};

}  // namespace gh
