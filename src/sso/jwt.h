// OpenID Connect ID tokens: JWS compact parsing, JWK/JWKS keys and the checks of OIDC Core
// 3.1.3.7, with OpenSSL 3 directly (Debian's JWT libraries lack JWK support).
//
// Pure: no network, no store, no clock it does not receive. Only RS256 and ES256 are
// accepted; the algorithm is decided by the key the `kid` selects, never by the token alone,
// so `alg: none`, HMAC "signed with the public key" and algorithm confusion are refused.
//
// Every refusal is an Error of kind kForbidden whose `code` is one of the stable reason
// codes below (logged in `sso.login_failed`; the token itself is never logged).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sso/common.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace gh::sso {

// Reason codes (Error::code) of VerifyIdToken and the parsers.
namespace jwt_reason {
inline constexpr const char* kTooLarge = "jwt_too_large";    // token over kMaxTokenBytes
inline constexpr const char* kMalformed = "jwt_malformed";   // not three base64url parts
inline constexpr const char* kBadBase64 = "jwt_bad_base64";  // not strict base64url
inline constexpr const char* kBadJson = "jwt_bad_json";      // header/payload not a JSON object
inline constexpr const char* kDuplicateKey = "jwt_duplicate_key";        // a JSON key named twice
inline constexpr const char* kAlgNotAllowed = "jwt_alg_not_allowed";     // none, HS*, PS*, unknown
inline constexpr const char* kCritUnsupported = "jwt_crit_unsupported";  // a `crit` header
inline constexpr const char* kKidMissing = "jwt_kid_missing";            // no kid, several keys
inline constexpr const char* kKidUnknown = "jwt_kid_unknown";            // refresh the JWKS once
inline constexpr const char* kKeyMismatch =
    "jwt_key_mismatch";  // kid's key is of another kty/alg/use
inline constexpr const char* kBadSignature = "jwt_bad_signature";
inline constexpr const char* kWrongIssuer = "jwt_wrong_issuer";
inline constexpr const char* kWrongAudience = "jwt_wrong_audience";
inline constexpr const char* kWrongAzp = "jwt_wrong_azp";
inline constexpr const char* kExpired = "jwt_expired";
inline constexpr const char* kNotYetValid = "jwt_not_yet_valid";  // nbf in the future
inline constexpr const char* kIssuedInFuture = "jwt_issued_in_future";
inline constexpr const char* kWrongNonce = "jwt_wrong_nonce";
inline constexpr const char* kMissingClaim = "jwt_missing_claim";  // sub, exp, iat, …
inline constexpr const char* kBadJwk = "jwk_invalid";              // JWKS parsing
inline constexpr const char* kWeakKey = "jwk_weak_key";            // RSA under 2048 bits
}  // namespace jwt_reason

inline constexpr size_t kMaxTokenBytes = 16 * 1024;
inline constexpr size_t kMaxJwksBytes = 256 * 1024;
inline constexpr size_t kMaxJwksKeys = 64;

// Strict base64url (RFC 7515 §2): alphabet A-Z a-z 0-9 - _, no padding, no whitespace, and
// the unused low bits of the last character zero, so that each byte string has one encoding.
std::optional<std::string> Base64UrlDecodeStrict(std::string_view text);

// Parses `text` as JSON, refusing objects that name a key twice at any depth (readers disagree
// on which value wins). Error codes: jwt_bad_json, jwt_duplicate_key.
Result<nlohmann::json> ParseStrictJson(std::string_view text);

// The three parts of a JWS compact serialization, decoded but not verified.
struct Jws {
  nlohmann::json header;      // a JSON object
  nlohmann::json payload;     // a JSON object
  std::string signing_input;  // "<b64 header>.<b64 payload>", what the signature covers
  std::string signature;      // raw bytes
};
Result<Jws> ParseJws(std::string_view token);

enum class JwsAlg { kRS256, kES256 };

// One public key of a JWKS. The key is shared and immutable: safe to use from many threads.
struct Jwk {
  std::string kid;
  JwsAlg alg = JwsAlg::kRS256;  // RSA keys verify RS256 only, EC P-256 keys ES256 only
  bool alg_declared = false;    // the JWK named its `alg`
  std::string use;              // "sig" or empty
  std::shared_ptr<EVP_PKEY> key;
};

// Parses one JWK object: kty RSA (n, e; at least 2048 bits) or EC (crv P-256, x, y; the point
// checked on the curve). Keys with `use` other than "sig", or `alg` other than RS256/ES256
// matching their type, are refused (kBadJwk); RSA under 2048 bits is kWeakKey.
Result<Jwk> ParseJwk(const nlohmann::json& jwk);

struct Jwks {
  std::vector<Jwk> keys;
  // The key with this kid, or null.
  const Jwk* Find(std::string_view kid) const;
};

// Parses a JWKS document ({"keys": [...]}). Keys this RP cannot use (other kty, curves,
// `use: enc`, other algs, weak RSA) are skipped, as an IdP may publish them for other
// clients; the document itself must be well-formed, duplicate-key free and ≤ kMaxJwksBytes.
// `skipped` (optional) counts the keys left out.
Result<Jwks> ParseJwks(std::string_view document, int* skipped = nullptr);

// What the RP expects of an ID token (OIDC Core 3.1.3.7).
struct IdTokenExpectations {
  std::string issuer;     // compared exactly
  std::string client_id;  // must be in `aud`; also `azp` when present (required with several aud)
  std::string nonce;      // the nonce sent with this authorization request; never empty
  int64_t max_skew_seconds = kMaxClockSkewSeconds;  // clamped to kMaxClockSkewSeconds
};

struct IdTokenClaims {
  std::string issuer;
  std::string subject;
  std::optional<std::string> email;
  std::optional<bool> email_verified;
  std::optional<std::string> name;
  std::optional<std::string> given_name;
  std::optional<std::string> family_name;
  int64_t expires_at = 0;
  int64_t issued_at = 0;
  nlohmann::json raw;  // the whole verified payload (for attribute/role mapping)
};

// Verifies `token` against `jwks` and `expect` at Unix time `now`: signature first (RS256 or
// ES256 with the key the header's `kid` selects), then iss, aud/azp, exp, nbf, iat, nonce.
// Returns claims only for a token validly signed by a key of `jwks`.
Result<IdTokenClaims> VerifyIdToken(std::string_view token, const Jwks& jwks,
                                    const IdTokenExpectations& expect, int64_t now);

}  // namespace gh::sso
