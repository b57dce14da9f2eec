// A short-lived, process-local cache of who a session token belongs to and which workspaces
// each user belongs to, so that authenticating and authorising a request reads no store.
//
// Every change made through this process invalidates the affected entries before it answers,
// so one gatehouse process never serves stale data. Several processes sharing one PostgreSQL
// see each other's changes within `ttl_seconds` (2 s by default): a session revoked on one
// instance stops working on the others at most that much later.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"

namespace gh {

class IdentityCache {
 public:
  explicit IdentityCache(int ttl_seconds = 2) : ttl_(ttl_seconds) {}

  struct Identity {
    Session session;
    User user;
  };

  std::optional<Identity> Session(const std::string& token_hash, UnixTime now);
  void PutSession(const std::string& token_hash, const Identity& identity, UnixTime now);

  std::optional<std::vector<WorkspaceWithRole>> Memberships(const std::string& user_id,
                                                            UnixTime now);
  void PutMemberships(const std::string& user_id, std::vector<WorkspaceWithRole> list,
                      UnixTime now);

  // After a change to a user (profile, sessions): drop their cached sessions.
  void ForgetUser(const std::string& user_id);
  // After a change to memberships or workspaces: drop every cached membership list.
  void ForgetMemberships();

 private:
  static constexpr size_t kMaxEntries = 100000;

  template <typename T>
  struct Entry {
    T value;
    UnixTime loaded_at;
  };

  int ttl_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Entry<Identity>> sessions_;
  absl::flat_hash_map<std::string, Entry<std::vector<WorkspaceWithRole>>> memberships_;
};

}  // namespace gh
