// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP with HMAC-SHA1) and the base32
// alphabet (RFC 4648) that authenticator apps read secrets in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gh::totp {

constexpr int64_t kStepSeconds = 30;
constexpr int kDigits = 6;

// Upper case, no padding (what otpauth:// URIs carry).
std::string Base32Encode(std::string_view bytes);
// Accepts upper or lower case, ignores spaces and '=' padding; nullopt on another character.
std::optional<std::string> Base32Decode(std::string_view text);

// HOTP value of `counter` with `digits` digits (zero-padded).
std::string Hotp(std::string_view secret, uint64_t counter, int digits = kDigits);

// The time step of `unix_seconds`.
inline int64_t StepOf(int64_t unix_seconds) { return unix_seconds / kStepSeconds; }

// The step within ±`window` steps of `now` whose code is `code`, if any and later than
// `after_step` (a code is never accepted twice). Compares in constant time.
std::optional<int64_t> Match(std::string_view secret, std::string_view code, int64_t now,
                             int64_t after_step, int window = 1);

}  // namespace gh::totp
