// What an API key lets through, decided the same way wherever a key is used: verification for
// the gateway, management calls made with a key, and POST /v1/check.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"

namespace gh {

// A key's own state at `now`. Its owner's membership is the store's to keep in step with it:
// a membership ends only in a transaction that revokes or re-owns the member's keys, so a
// key whose owner left reads as revoked here too.
// kSuspended: held with its owner's suspended membership (owner_hold "suspended").
enum class KeyState { kLive, kRevoked, kExpired, kSuspended };
KeyState StateOf(const ApiKey& k, UnixTime now);

// What verification answers the gateway (`code` of POST /v1/keys/verify): VALID or the first
// reason, in the order they are checked, that the key does not let the call through.
enum class VerifyCode {
  kValid,
  kNotFound,
  kRevoked,
  kExpired,
  kForbiddenEndpoint,
  kIpNotAllowed,
  kRateLimited,
  kQuotaExceeded,
  kSuspended,  // the key's owner is suspended in its workspace
};
inline constexpr EnumName<VerifyCode> kVerifyCodeNames[] = {
    {VerifyCode::kValid, "VALID"},
    {VerifyCode::kNotFound, "NOT_FOUND"},
    {VerifyCode::kRevoked, "REVOKED"},
    {VerifyCode::kExpired, "EXPIRED"},
    {VerifyCode::kForbiddenEndpoint, "FORBIDDEN_ENDPOINT"},
    {VerifyCode::kIpNotAllowed, "IP_NOT_ALLOWED"},
    {VerifyCode::kRateLimited, "RATE_LIMITED"},
    {VerifyCode::kQuotaExceeded, "QUOTA_EXCEEDED"},
    {VerifyCode::kSuspended, "SUSPENDED"},
};
static_assert(InEnumeratorOrder(kVerifyCodeNames));
constexpr std::string_view ToString(VerifyCode c) { return NameOf(kVerifyCodeNames, c); }
constexpr std::optional<VerifyCode> ParseVerifyCode(std::string_view s) {
  return ParseName(kVerifyCodeNames, s);
}

// Whether `k` lets a call of `method` to `endpoint` through. The endpoint is matched in its
// canonical form (core/endpoint.h); one that cannot be canonicalised passes only a key with
// no endpoint rules. Deny patterns win, then a publishable key is held to
// `publishable_endpoints`, then the allow list (empty: any endpoint). A key restricted to
// some methods needs the method: an empty one is refused, as a missing address is refused
// by an IP allowlist (a gateway that forgets to send it must not open the key wider).
bool KeyPermits(const ApiKey& k, std::string_view endpoint, std::string_view method,
                const std::vector<std::string>& publishable_endpoints);

}  // namespace gh
