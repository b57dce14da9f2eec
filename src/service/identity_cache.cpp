#include "service/identity_cache.h"

#include <absl/container/flat_hash_set.h>

namespace gh {

std::optional<IdentityCache::Identity> IdentityCache::Session(const std::string& token_hash,
                                                              UnixTime now) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(token_hash);
  if (it == sessions_.end() || now - it->second.loaded_at >= ttl_) return std::nullopt;
  return it->second.value;
}

void IdentityCache::PutSession(const std::string& token_hash, const Identity& identity,
                               UnixTime now) {
  std::lock_guard lock(mu_);
  if (sessions_.size() >= kMaxEntries) sessions_.clear();
  sessions_[token_hash] = {identity, now};
}

std::optional<std::vector<WorkspaceWithRole>> IdentityCache::Memberships(
    const std::string& user_id, UnixTime now) {
  std::lock_guard lock(mu_);
  auto it = memberships_.find(user_id);
  if (it == memberships_.end() || now - it->second.loaded_at >= ttl_) return std::nullopt;
  return it->second.value;
}

void IdentityCache::PutMemberships(const std::string& user_id,
                                   std::vector<WorkspaceWithRole> list, UnixTime now) {
  std::lock_guard lock(mu_);
  if (memberships_.size() >= kMaxEntries) memberships_.clear();
  memberships_[user_id] = {std::move(list), now};
}

void IdentityCache::ForgetUser(const std::string& user_id) {
  std::lock_guard lock(mu_);
  absl::erase_if(sessions_, [&](const auto& kv) { return kv.second.value.user.id == user_id; });
}

void IdentityCache::ForgetMemberships() {
  std::lock_guard lock(mu_);
  memberships_.clear();
}

}  // namespace gh
