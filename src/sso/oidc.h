// OpenID Connect relying party pieces that need no network: discovery documents, PKCE,
// state/nonce, the authorization URL, a JWKS cache whose fetch is injected, and the OAuth
// provider presets (GitHub, GitLab, Google, Microsoft).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "sso/jwt.h"

namespace gh::sso {

// Reason codes beyond jwt_reason.
namespace oidc_reason {
inline constexpr const char* kBadDiscovery = "oidc_discovery_invalid";
inline constexpr const char* kIssuerMismatch = "oidc_issuer_mismatch";
inline constexpr const char* kInsecureEndpoint = "oidc_endpoint_not_https";
inline constexpr const char* kJwksUnavailable = "oidc_jwks_unavailable";
inline constexpr const char* kNoVerifiedEmail = "oauth_no_verified_email";
}  // namespace oidc_reason

// https://…, or http:// to a loopback host (127.0.0.1, [::1], localhost) for local test IdPs.
bool IsAllowedEndpoint(std::string_view url);

// The fields of an OpenID Provider's /.well-known/openid-configuration that the RP uses.
struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string userinfo_endpoint;  // may be empty
  std::string jwks_uri;
  std::vector<std::string> id_token_signing_alg_values_supported;
};

// Parses a discovery document. Its `issuer` must equal `expected_issuer` exactly (OIDC
// Discovery §4.3, else kIssuerMismatch); every endpoint must pass IsAllowedEndpoint; the
// signing algorithms, when listed, must include RS256 or ES256.
Result<ProviderMetadata> ParseDiscovery(std::string_view document,
                                        std::string_view expected_issuer);

// PKCE (RFC 7636) with S256.
struct Pkce {
  std::string verifier;   // 43 characters: base64url of 32 random bytes
  std::string challenge;  // base64url(SHA-256(verifier))
};
Pkce NewPkce();
// The S256 challenge of a verifier; empty when the verifier is not 43–128 unreserved chars.
std::string PkceChallengeS256(std::string_view verifier);

// Opaque random values for `state` and `nonce`: 32 random bytes, base64url (43 chars).
std::string NewState();
std::string NewNonce();

struct AuthorizationRequest {
  std::string authorization_endpoint;
  std::string client_id;
  std::string redirect_uri;
  std::vector<std::string> scopes;  // joined with spaces
  std::string state;
  std::string nonce;           // empty for OAuth providers without ID tokens (GitHub)
  std::string code_challenge;  // S256
  std::string login_hint;      // optional
};
// The authorization URL (response_type=code, code_challenge_method=S256), parameters
// percent-encoded; appended with '&' when the endpoint already has a query.
std::string BuildAuthorizationUrl(const AuthorizationRequest& r);

// JWKS per issuer, fetched through `fetch` (e.g. libcurl at the edge; tests pass a lambda).
// Thread-safe. A token with an unknown kid triggers one refresh, at most once per
// `min_refresh_seconds` per issuer, so that tokens with random kids cannot make us hammer
// the IdP (or our own threads); a cached set older than `max_age_seconds` is refetched.
class JwksCache {
 public:
  // Returns the JWKS document body, or an error.
  using Fetch = std::function<Result<std::string>(const std::string& jwks_uri)>;

  explicit JwksCache(Fetch fetch, int64_t min_refresh_seconds = 60, int64_t max_age_seconds = 3600);

  // Verifies an ID token of `issuer` with its JWKS (fetched on first use, refreshed once on
  // kid-unknown when allowed).
  Result<IdTokenClaims> VerifyIdToken(const std::string& issuer, const std::string& jwks_uri,
                                      std::string_view token, const IdTokenExpectations& expect,
                                      int64_t now);

  // The current set for `issuer`, fetching when absent or stale. `force` asks for a refresh
  // that is honoured only if the last fetch is older than min_refresh_seconds.
  Result<std::shared_ptr<const Jwks>> Get(const std::string& issuer, const std::string& jwks_uri,
                                          int64_t now, bool force = false);

  // How many fetches were made (for tests and metrics).
  int fetch_count() const;

 private:
  struct Entry {
    std::string jwks_uri;
    std::shared_ptr<const Jwks> jwks;
    int64_t fetched_at = 0;
    int64_t attempted_at = INT64_MIN / 2;
  };
  Fetch fetch_;
  int64_t min_refresh_;
  int64_t max_age_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  int fetches_ = 0;
};

// OAuth 2.0 providers offered as presets.
struct OAuthProviderPreset {
  std::string_view provider;  // "github", "gitlab", "google", "microsoft"
  std::string_view issuer;    // OIDC issuer; empty when the provider issues no ID token
  std::string_view authorization_endpoint;
  std::string_view token_endpoint;
  std::string_view userinfo_endpoint;
  std::string_view emails_endpoint;  // GitHub: the verified primary email comes from here
  std::string_view scopes;           // space-separated
  bool id_token = false;
};
// The preset for `provider`, or null. Microsoft's is the multi-tenant "common" endpoint: its
// ID tokens carry the tenant's issuer, so the integrator sets the tenant issuer
// (https://login.microsoftonline.com/{tenant}/v2.0) in the connection.
const OAuthProviderPreset* FindOAuthPreset(std::string_view provider);
const std::vector<OAuthProviderPreset>& OAuthPresets();

// From GitHub's GET /user/emails answer ([{email, primary, verified, visibility}]), the email
// that is both primary and verified; kNoVerifiedEmail otherwise.
Result<std::string> GitHubVerifiedPrimaryEmail(std::string_view emails_json);

}  // namespace gh::sso
