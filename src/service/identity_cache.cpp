#include "service/identity_cache.h"

namespace gh {

template <typename T>
IdentityCache::Ptr<T> IdentityCache::Get(const absl::flat_hash_map<std::string, Entry<T>>& map,
                                         const std::string& key, UnixTime now) {
  std::lock_guard lock(mu_);
  auto it = map.find(key);
  if (it == map.end() || now - it->second.loaded_at >= ttl_) return nullptr;
  return it->second.value;
}

IdentityCache::Ptr<IdentityCache::Identity> IdentityCache::Session(const std::string& token_hash,
                                                                   UnixTime now) {
  return Get(sessions_, token_hash, now);
}

void IdentityCache::PutSession(const std::string& token_hash, Ptr<Identity> identity,
                               UnixTime now) {
  std::lock_guard lock(mu_);
  if (sessions_.size() >= kMaxEntries) sessions_.clear();
  sessions_[token_hash] = {std::move(identity), now};
}

IdentityCache::Ptr<std::vector<WorkspaceWithRole>> IdentityCache::Memberships(
    const std::string& user_id, UnixTime now) {
  return Get(memberships_, user_id, now);
}

void IdentityCache::PutMemberships(const std::string& user_id,
                                   Ptr<std::vector<WorkspaceWithRole>> list, UnixTime now) {
  std::lock_guard lock(mu_);
  if (memberships_.size() >= kMaxEntries) memberships_.clear();
  memberships_[user_id] = {std::move(list), now};
}

IdentityCache::Ptr<User> IdentityCache::UserById(const std::string& user_id, UnixTime now) {
  return Get(users_, user_id, now);
}

void IdentityCache::PutUser(Ptr<User> user, UnixTime now) {
  std::lock_guard lock(mu_);
  if (users_.size() >= kMaxEntries) users_.clear();
  std::string id = user->id;
  users_[id] = {std::move(user), now};
}

IdentityCache::Ptr<std::vector<Member>> IdentityCache::Members(const std::string& ws,
                                                               UnixTime now) {
  return Get(members_, ws, now);
}

void IdentityCache::PutMembers(const std::string& ws, Ptr<std::vector<Member>> members,
                               UnixTime now) {
  std::lock_guard lock(mu_);
  if (members_.size() >= 1000) members_.clear();  // member lists can be large: keep few
  members_[ws] = {std::move(members), now};
}

void IdentityCache::ForgetUser(const std::string& user_id) {
  std::lock_guard lock(mu_);
  absl::erase_if(sessions_, [&](const auto& kv) { return kv.second.value->user.id == user_id; });
  users_.erase(user_id);
  members_.clear();
}

void IdentityCache::ForgetMemberships() {
  std::lock_guard lock(mu_);
  memberships_.clear();
  members_.clear();
}

}  // namespace gh
