#include "sso/oidc.h"

#include <algorithm>

#include "core/crypto.h"

namespace gh::sso {

using Json = nlohmann::json;

namespace {

Error Refuse(const char* code, std::string message) {
  return Error{ErrorKind::kForbidden, code, std::move(message), {}};
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string PercentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

bool IsAllowedEndpoint(std::string_view url) {
  bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) return false;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '\\') return false;
  }
  std::string_view rest = url.substr(https ? 8 : 7);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  // Userinfo is a classic way to make a URL read as one host and go to another.
  if (authority.empty() || authority.find('@') != authority.npos) return false;
  if (https) return true;
  std::string_view host = authority;
  if (host.starts_with('[')) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

Result<ProviderMetadata> ParseDiscovery(std::string_view document,
                                        std::string_view expected_issuer) {
  if (document.size() > 256 * 1024) return Refuse(oidc_reason::kBadDiscovery, "Too large.");
  auto j = ParseStrictJson(document);
  if (!j) return Refuse(oidc_reason::kBadDiscovery, j.error().message);
  if (!j->is_object()) return Refuse(oidc_reason::kBadDiscovery, "Not a JSON object.");
  ProviderMetadata m;
  struct Field {
    const char* key;
    std::string* out;
    bool required;
  };
  for (const Field& f : {Field{"issuer", &m.issuer, true},
                         Field{"authorization_endpoint", &m.authorization_endpoint, true},
                         Field{"token_endpoint", &m.token_endpoint, true},
                         Field{"userinfo_endpoint", &m.userinfo_endpoint, false},
                         Field{"jwks_uri", &m.jwks_uri, true}}) {
    auto it = j->find(f.key);
    if (it == j->end() || it->is_null()) {
      if (f.required) return Refuse(oidc_reason::kBadDiscovery, std::string(f.key) + " missing.");
      continue;
    }
    if (!it->is_string()) {
      return Refuse(oidc_reason::kBadDiscovery, std::string(f.key) + " is not a string.");
    }
    *f.out = it->get<std::string>();
  }
  if (expected_issuer.empty() || m.issuer != expected_issuer) {
    return Refuse(oidc_reason::kIssuerMismatch, "The document's issuer is not the configured one.");
  }
  for (const std::string* url : {&m.issuer, &m.authorization_endpoint, &m.token_endpoint,
                                 &m.userinfo_endpoint, &m.jwks_uri}) {
    if (!url->empty() && !IsAllowedEndpoint(*url)) {
      return Refuse(oidc_reason::kInsecureEndpoint, "Endpoint is not https: " + *url);
    }
  }
  if (auto algs = j->find("id_token_signing_alg_values_supported"); algs != j->end()) {
    if (!algs->is_array()) return Refuse(oidc_reason::kBadDiscovery, "Algorithms not an array.");
    bool usable = false;
    for (const Json& a : *algs) {
      if (!a.is_string()) continue;
      m.id_token_signing_alg_values_supported.push_back(a.get<std::string>());
      usable = usable || a == "RS256" || a == "ES256";
    }
    if (!usable)
      return Refuse(oidc_reason::kBadDiscovery, "The IdP signs neither RS256 nor ES256.");
  }
  return m;
}

std::string PkceChallengeS256(std::string_view verifier) {
  if (verifier.size() < 43 || verifier.size() > 128) return {};
  if (!std::all_of(verifier.begin(), verifier.end(), IsUnreserved)) return {};
  auto digest = crypto::Sha256(verifier);
  return crypto::Base64Url(
      std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

Pkce NewPkce() {
  Pkce p;
  p.verifier = crypto::Base64Url(crypto::RandomBytes(32));
  p.challenge = PkceChallengeS256(p.verifier);
  return p;
}

std::string NewState() { return crypto::Base64Url(crypto::RandomBytes(32)); }
std::string NewNonce() { return crypto::Base64Url(crypto::RandomBytes(32)); }

std::string BuildAuthorizationUrl(const AuthorizationRequest& r) {
  std::string url = r.authorization_endpoint;
  url += url.find('?') == std::string::npos ? '?' : '&';
  auto add = [&url](std::string_view key, std::string_view value, bool first = false) {
    if (!first) url += '&';
    url += key;
    url += '=';
    url += PercentEncode(value);
  };
  add("response_type", "code", true);
  add("client_id", r.client_id);
  add("redirect_uri", r.redirect_uri);
  add("scope", Join(r.scopes, ' '));
  add("state", r.state);
  if (!r.nonce.empty()) add("nonce", r.nonce);
  add("code_challenge", r.code_challenge);
  add("code_challenge_method", "S256");
  if (!r.login_hint.empty()) add("login_hint", r.login_hint);
  return url;
}

JwksCache::JwksCache(Fetch fetch, int64_t min_refresh_seconds, int64_t max_age_seconds)
    : fetch_(std::move(fetch)), min_refresh_(min_refresh_seconds), max_age_(max_age_seconds) {}

int JwksCache::fetch_count() const {
  std::lock_guard lock(mu_);
  return fetches_;
}

Result<std::shared_ptr<const Jwks>> JwksCache::Get(const std::string& issuer,
                                                   const std::string& jwks_uri, int64_t now,
                                                   bool force) {
  std::shared_ptr<const Jwks> current;
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[issuer];
    if (e.jwks_uri != jwks_uri) e = Entry{jwks_uri, nullptr, 0, INT64_MIN / 2};
    current = e.jwks;
    bool stale = !current || now - e.fetched_at >= max_age_;
    // Failed fetches count too: an IdP that is down is not asked again for min_refresh_.
    bool may_fetch = now - e.attempted_at >= min_refresh_;
    if (!(stale || force) || !may_fetch) {
      if (current) return current;
      return Refuse(oidc_reason::kJwksUnavailable, "The IdP's JWKS could not be fetched.");
    }
    // Claimed before fetching, outside the lock: concurrent callers use the current set.
    e.attempted_at = now;
    ++fetches_;
  }
  auto body = fetch_(jwks_uri);
  Result<Jwks> parsed = body ? ParseJwks(*body) : Result<Jwks>(body.error());
  std::lock_guard lock(mu_);
  Entry& e = entries_[issuer];
  if (!parsed) {
    // Keep serving the previous set; a failed refresh is not a reason to refuse every login.
    if (current) return current;
    return Refuse(oidc_reason::kJwksUnavailable, "JWKS fetch failed: " + parsed.error().message);
  }
  if (e.jwks_uri == jwks_uri) {
    e.jwks = std::make_shared<const Jwks>(std::move(*parsed));
    e.fetched_at = now;
    return e.jwks;
  }
  return std::make_shared<const Jwks>(std::move(*parsed));
}

Result<IdTokenClaims> JwksCache::VerifyIdToken(const std::string& issuer,
                                               const std::string& jwks_uri, std::string_view token,
                                               const IdTokenExpectations& expect, int64_t now) {
  auto jwks = Get(issuer, jwks_uri, now);
  if (!jwks) return jwks.error();
  auto claims = sso::VerifyIdToken(token, **jwks, expect, now);
  if (claims || claims.error().code != jwt_reason::kKidUnknown) return claims;
  // The IdP may have rotated its keys since we fetched: refresh once (rate-limited).
  auto refreshed = Get(issuer, jwks_uri, now, /*force=*/true);
  if (!refreshed || refreshed->get() == jwks->get()) return claims;
  return sso::VerifyIdToken(token, **refreshed, expect, now);
}

const std::vector<OAuthProviderPreset>& OAuthPresets() {
  static const std::vector<OAuthProviderPreset> kPresets = {
      {"github", "", "https://github.com/login/oauth/authorize",
       "https://github.com/login/oauth/access_token", "https://api.github.com/user",
       "https://api.github.com/user/emails", "read:user user:email", false},
      {"gitlab", "https://gitlab.com", "https://gitlab.com/oauth/authorize",
       "https://gitlab.com/oauth/token", "https://gitlab.com/oauth/userinfo", "",
       "openid profile email", true},
      {"google", "https://accounts.google.com", "https://accounts.google.com/o/oauth2/v2/auth",
       "https://oauth2.googleapis.com/token", "https://openidconnect.googleapis.com/v1/userinfo",
       "", "openid profile email", true},
      {"microsoft", "https://login.microsoftonline.com/{tenantid}/v2.0",
       "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
       "https://login.microsoftonline.com/common/oauth2/v2.0/token",
       "https://graph.microsoft.com/oidc/userinfo", "", "openid profile email", true},
  };
  return kPresets;
}

const OAuthProviderPreset* FindOAuthPreset(std::string_view provider) {
  for (const auto& p : OAuthPresets()) {
    if (p.provider == provider) return &p;
  }
  return nullptr;
}

Result<std::string> GitHubVerifiedPrimaryEmail(std::string_view emails_json) {
  auto j = ParseStrictJson(emails_json);
  if (!j || !j->is_array()) return Refuse(oidc_reason::kNoVerifiedEmail, "Unreadable email list.");
  for (const Json& e : *j) {
    if (!e.is_object()) continue;
    auto email = e.find("email"), primary = e.find("primary"), verified = e.find("verified");
    if (email == e.end() || !email->is_string() || primary == e.end() || verified == e.end()) {
      continue;
    }
    if (*primary == true && *verified == true) return email->get<std::string>();
  }
  return Refuse(oidc_reason::kNoVerifiedEmail, "GitHub has no verified primary email.");
}

}  // namespace gh::sso
