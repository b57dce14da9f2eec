// What the SAML and OIDC checks share.
#pragma once

#include <cstdint>

namespace gh::sso {

// Clock skew accepted on every time check of an assertion or an ID token: at most 2 minutes.
inline constexpr int64_t kMaxClockSkewSeconds = 120;

}  // namespace gh::sso
