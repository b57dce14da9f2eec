#include "core/key_rules.h"

#include <algorithm>

#include "core/endpoint.h"

namespace gh {

KeyState StateOf(const ApiKey& k, UnixTime now) {
  if (k.revoked_at) return KeyState::kRevoked;
  // Held with its owner's membership: suspended by an admin, or deactivated by the directory
  // (revoked until lifted).
  if (k.owner_hold == "suspended") return KeyState::kSuspended;
  if (!k.owner_hold.empty()) return KeyState::kRevoked;
  if (k.expires_at && *k.expires_at <= now) return KeyState::kExpired;
  return KeyState::kLive;
}

bool KeyPermits(const ApiKey& k, std::string_view endpoint, std::string_view method,
                const std::vector<std::string>& publishable_endpoints) {
  if (!k.methods.empty() && !MethodMatches(method, k.methods)) return false;
  bool publishable = k.type == KeyType::kPublishable;
  if (k.deny.empty() && k.allow.empty() && !publishable) return true;  // any endpoint
  std::optional<std::string> path = CanonicalEndpoint(endpoint);
  if (!path) return false;  // a rule applies and the endpoint cannot be resolved: refused
  auto matches = [&](const std::vector<std::string>& patterns) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return EndpointMatches(p, *path); });
  };
  if (matches(k.deny)) return false;  // deny wins
  if (publishable && !matches(publishable_endpoints)) return false;
  return k.allow.empty() || matches(k.allow);
}

}  // namespace gh
