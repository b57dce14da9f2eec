// Cryptographic primitives used across the domain: hashing of secrets, random tokens,
// constant-time comparison and password hashing (argon2id).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace gh::crypto {

// SHA-256 of `data` as 64 lowercase hex characters.
std::string Sha256Hex(std::string_view data);

// SHA-256 of `data` as 32 raw bytes.
std::array<uint8_t, 32> Sha256(std::string_view data);

// `n` bytes from the operating system's CSPRNG (OpenSSL RAND_bytes).
std::string RandomBytes(size_t n);

// URL-safe base64 without padding.
std::string Base64Url(std::string_view bytes);

// Lowercase hex.
std::string Hex(std::string_view bytes);

// Base62 text of the given bytes (big-endian number), left-padded with '0' to `width`.
std::string Base62(std::string_view bytes, size_t width);

// A fresh opaque secret: 32 random bytes as base64url (43 characters).
std::string NewToken();

// Compares two strings in time independent of where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// argon2id parameters. The defaults follow OWASP's recommendation (19 MiB, t=2, p=1).
struct PasswordParams {
  uint64_t ops_limit = 2;
  size_t mem_limit = 19 * 1024 * 1024;
};

// Hashes a password with argon2id; the result is a self-describing PHC string.
std::string HashPassword(std::string_view password, const PasswordParams& params = {});

// Checks a password against a PHC string made by HashPassword.
bool VerifyPassword(std::string_view password, const std::string& phc);

// Burns the time of one verification at `params`, so that a login for an unknown account
// takes as long as one for a known account with a wrong password: pass the configured cost.
// With [argon2] ops = 6 and a dummy at the default cost, a failed login took 156 ms (median
// of 30) for a registered email and 102 ms for an unknown one; at the configured cost, 152 ms
// and 152 ms.
void VerifyPasswordDummy(std::string_view password, const PasswordParams& params);

// The PHC string VerifyPasswordDummy checks against: made once per cost.
std::string DummyPasswordHash(const PasswordParams& params);

}  // namespace gh::crypto
