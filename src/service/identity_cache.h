// A short-lived, process-local cache of who a session token belongs to, which workspaces each
// user belongs to, and users by id (API keys' owners), so that authenticating and authorising
// a request reads no store.
//
// Every change made through this process invalidates the affected entries before it answers,
// so one gatehouse process never serves stale data. Several processes sharing one PostgreSQL
// see each other's changes within `ttl_seconds` (2 s by default): a session revoked on one
// instance stops working on the others at most that much later.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <memory>
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

  // Entries are shared and immutable: a hit costs a reference count, not a copy. Each getter
  // returns null on a miss or an entry older than the TTL.
  template <typename T>
  using Ptr = std::shared_ptr<const T>;

  Ptr<Identity> Session(const std::string& token_hash, UnixTime now);
  void PutSession(const std::string& token_hash, Ptr<Identity> identity, UnixTime now);

  Ptr<std::vector<WorkspaceWithRole>> Memberships(const std::string& user_id, UnixTime now);
  void PutMemberships(const std::string& user_id, Ptr<std::vector<WorkspaceWithRole>> list,
                      UnixTime now);

  // A user by id: the owner an API key acts as, read by every request the key makes.
  Ptr<User> UserById(const std::string& user_id, UnixTime now);
  void PutUser(Ptr<User> user, UnixTime now);

  // A workspace's members, oldest first.
  Ptr<std::vector<Member>> Members(const std::string& workspace_id, UnixTime now);
  void PutMembers(const std::string& workspace_id, Ptr<std::vector<Member>> members, UnixTime now);

  // After a change to a user (profile, sessions): drop them, their cached sessions, and the
  // member lists that show their name.
  void ForgetUser(const std::string& user_id);
  // After a change to memberships or workspaces: drop every cached membership and member list.
  void ForgetMemberships();

 private:
  static constexpr size_t kMaxEntries = 100000;

  template <typename T>
  struct Entry {
    Ptr<T> value;
    UnixTime loaded_at;
  };
  template <typename T>
  Ptr<T> Get(const absl::flat_hash_map<std::string, Entry<T>>& map, const std::string& key,
             UnixTime now);

  int ttl_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Entry<Identity>> sessions_;
  absl::flat_hash_map<std::string, Entry<std::vector<WorkspaceWithRole>>> memberships_;
  absl::flat_hash_map<std::string, Entry<User>> users_;
  absl::flat_hash_map<std::string, Entry<std::vector<Member>>> members_;
};

}  // namespace gh
