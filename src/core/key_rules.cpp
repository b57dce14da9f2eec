#include "core/key_rules.h"

#include <algorithm>

#include "core/net.h"

namespace gh {

KeyState StateOf(const ApiKey& k, UnixTime now) {
  if (k.revoked_at) return KeyState::kRevoked;
  if (k.expires_at && *k.expires_at <= now) return KeyState::kExpired;
  return KeyState::kLive;
}

bool KeyPermits(const ApiKey& k, std::string_view endpoint, std::string_view method,
                const std::vector<std::string>& publishable_endpoints) {
  auto matches = [&](const std::vector<std::string>& patterns) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return PathPatternMatches(p, endpoint); });
  };
  if (matches(k.deny)) return false;  // deny wins
  if (k.type == KeyType::kPublishable && !matches(publishable_endpoints)) return false;
  if (!k.allow.empty() && !matches(k.allow)) return false;
  if (k.methods.empty() || method.empty()) return true;
  return std::find(k.methods.begin(), k.methods.end(), method) != k.methods.end();
}

}  // namespace gh
