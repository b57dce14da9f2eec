#include "sso/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <set>

#include "core/crypto.h"

namespace gh::sso {

using Json = nlohmann::json;

namespace {

Error Refuse(const char* code, std::string message) {
  return Error{ErrorKind::kForbidden, code, std::move(message), {}};
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Refuses objects naming one key twice, at any depth.
class DuplicateKeys {
 public:
  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    using E = Json::parse_event_t;
    switch (event) {
      case E::object_start:
        frames_.emplace_back();
        break;
      case E::object_end:
        frames_.pop_back();
        break;
      case E::key:
        if (!frames_.back().insert(parsed.get<std::string>()).second) found = true;
        break;
      default:
        break;
    }
    return true;
  }
  bool found = false;

 private:
  std::vector<std::set<std::string, std::less<>>> frames_;  // JWTs hold a few keys
};

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

std::shared_ptr<EVP_PKEY> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  if (!params) return nullptr;
  EVP_PKEY* pkey = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!pkey) return nullptr;
  // fromdata does not check the key: an EC point off the curve must not get through.
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  bool ok = check && EVP_PKEY_public_check(check) == 1;
  EVP_PKEY_CTX_free(check);
  if (!ok) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

std::optional<std::string> B64Member(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return Base64UrlDecodeStrict(it->get_ref<const std::string&>());
}

Result<std::shared_ptr<EVP_PKEY>> RsaKey(const Json& jwk) {
  auto n = B64Member(jwk, "n"), e = B64Member(jwk, "e");
  if (!n || !e || n->empty() || e->empty() || e->size() > 8) {
    return Refuse(jwt_reason::kBadJwk, "RSA JWK needs base64url n and e.");
  }
  Bn bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), int(n->size()), nullptr));
  Bn bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), int(e->size()), nullptr));
  if (!bn_n || !bn_e) return Refuse(jwt_reason::kBadJwk, "RSA JWK unreadable.");
  int bits = BN_num_bits(bn_n.get());
  if (bits < 2048) return Refuse(jwt_reason::kWeakKey, "RSA keys under 2048 bits are refused.");
  // Verification cost grows with the modulus; no IdP publishes more than 8192 bits.
  if (bits > 8192) return Refuse(jwt_reason::kBadJwk, "RSA keys over 8192 bits are refused.");
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) {
    return Refuse(jwt_reason::kBadJwk, "RSA exponent invalid.");
  }
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get()) == 1) {
    key = FromData("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  if (!key) return Refuse(jwt_reason::kBadJwk, "RSA JWK rejected by OpenSSL.");
  return key;
}

Result<std::shared_ptr<EVP_PKEY>> EcP256Key(const Json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || *crv != "P-256") return Refuse(jwt_reason::kBadJwk, "Only EC P-256.");
  auto x = B64Member(jwk, "x"), y = B64Member(jwk, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32) {
    return Refuse(jwt_reason::kBadJwk, "EC JWK needs 32-byte x and y.");
  }
  std::string point = "\x04" + *x + *y;  // SEC1 uncompressed
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (bld &&
      OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) ==
          1) {
    key = FromData("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  if (!key) return Refuse(jwt_reason::kBadJwk, "EC point not on P-256.");
  return key;
}

// JWS ES256 signatures are r||s, 32 bytes each (RFC 7518 §3.4); OpenSSL verifies DER.
std::optional<std::string> EcdsaRawToDer(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  auto bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (!r || !s || !sig || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), size_t(len));
  OPENSSL_free(der);
  return out;
}

bool VerifySignature(const Jwk& key, std::string_view input, std::string_view signature) {
  std::string der;
  if (key.alg == JwsAlg::kES256) {
    auto d = EcdsaRawToDer(signature);
    if (!d) return false;
    der = std::move(*d);
    signature = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx &&
            EVP_DigestVerifyInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, key.key.get(),
                                    nullptr) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// A NumericDate (RFC 7519 §2): a JSON number; fractions are truncated.
std::optional<int64_t> NumericDate(const Json& payload, const char* key) {
  auto it = payload.find(key);
  if (it == payload.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (d > -1e15 && d < 1e15) return int64_t(d);
  }
  return std::nullopt;
}

std::optional<std::string> StringClaim(const Json& payload, const char* key) {
  auto it = payload.find(key);
  if (it == payload.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<Error> CheckAudience(const Json& p, const std::string& client_id) {
  auto aud = p.find("aud");
  if (aud == p.end()) return Refuse(jwt_reason::kMissingClaim, "aud missing.");
  size_t count = 0;
  bool found = false;
  if (aud->is_string()) {
    count = 1;
    found = *aud == client_id;
  } else if (aud->is_array()) {
    for (const Json& a : *aud) {
      if (!a.is_string()) return Refuse(jwt_reason::kWrongAudience, "aud holds a non-string.");
      ++count;
      found = found || a == client_id;
    }
  }
  if (!found || client_id.empty())
    return Refuse(jwt_reason::kWrongAudience, "aud lacks client_id.");
  auto azp = p.find("azp");
  if (azp != p.end() ? !(azp->is_string() && *azp == client_id) : count > 1) {
    return Refuse(jwt_reason::kWrongAzp, "azp is not client_id.");
  }
  return std::nullopt;
}

std::optional<Error> CheckTimes(const Json& p, int64_t skew, int64_t now) {
  auto exp = NumericDate(p, "exp");
  auto iat = NumericDate(p, "iat");
  if (!exp || !iat) return Refuse(jwt_reason::kMissingClaim, "exp and iat must be numbers.");
  if (now - skew >= *exp) return Refuse(jwt_reason::kExpired, "The token has expired.");
  if (*iat > now + skew) return Refuse(jwt_reason::kIssuedInFuture, "iat is in the future.");
  if (p.contains("nbf")) {
    auto nbf = NumericDate(p, "nbf");
    if (!nbf) return Refuse(jwt_reason::kMissingClaim, "nbf must be a number.");
    if (*nbf > now + skew) return Refuse(jwt_reason::kNotYetValid, "The token is not yet valid.");
  }
  return std::nullopt;
}

IdTokenClaims ClaimsOf(Json payload) {
  IdTokenClaims c;
  c.issuer = payload["iss"].get<std::string>();
  c.subject = payload["sub"].get<std::string>();
  c.email = StringClaim(payload, "email");
  c.name = StringClaim(payload, "name");
  c.given_name = StringClaim(payload, "given_name");
  c.family_name = StringClaim(payload, "family_name");
  if (auto it = payload.find("email_verified"); it != payload.end()) {
    // Some IdPs (older Cognito, Entra) send the string "true".
    if (it->is_boolean()) c.email_verified = it->get<bool>();
    if (it->is_string()) c.email_verified = *it == "true";
  }
  c.expires_at = *NumericDate(payload, "exp");
  c.issued_at = *NumericDate(payload, "iat");
  c.raw = std::move(payload);
  return c;
}

}  // namespace

std::optional<std::string> Base64UrlDecodeStrict(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical
  return out;
}

Result<Json> ParseStrictJson(std::string_view text) {
  DuplicateKeys duplicates;
  Json j = Json::parse(text.begin(), text.end(), std::ref(duplicates), /*allow_exceptions=*/false);
  if (j.is_discarded()) return Refuse(jwt_reason::kBadJson, "Not valid JSON.");
  if (duplicates.found) return Refuse(jwt_reason::kDuplicateKey, "A JSON key appears twice.");
  return j;
}

Result<Jws> ParseJws(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return Refuse(jwt_reason::kTooLarge, "Token too large.");
  size_t d1 = token.find('.');
  size_t d2 = d1 == token.npos ? token.npos : token.find('.', d1 + 1);
  if (d2 == token.npos || token.find('.', d2 + 1) != token.npos || d1 == 0 || d2 == d1 + 1) {
    return Refuse(jwt_reason::kMalformed, "A JWS has three dot-separated parts.");
  }
  auto header = Base64UrlDecodeStrict(token.substr(0, d1));
  auto payload = Base64UrlDecodeStrict(token.substr(d1 + 1, d2 - d1 - 1));
  auto signature = Base64UrlDecodeStrict(token.substr(d2 + 1));
  if (!header || !payload || !signature) {
    return Refuse(jwt_reason::kBadBase64, "A JWS part is not base64url.");
  }
  Jws jws;
  for (auto [text, out] : {std::pair{&*header, &jws.header}, std::pair{&*payload, &jws.payload}}) {
    auto j = ParseStrictJson(*text);
    if (!j) return j.error();
    if (!j->is_object()) return Refuse(jwt_reason::kBadJson, "A JWS part is not an object.");
    *out = std::move(*j);
  }
  jws.signing_input = std::string(token.substr(0, d2));
  jws.signature = std::move(*signature);
  return jws;
}

Result<Jwk> ParseJwk(const Json& j) {
  if (!j.is_object()) return Refuse(jwt_reason::kBadJwk, "A JWK is an object.");
  Jwk jwk;
  auto kty = j.find("kty");
  if (kty == j.end() || !kty->is_string()) return Refuse(jwt_reason::kBadJwk, "kty missing.");
  for (auto [key, out] : {std::pair{"kid", &jwk.kid}, std::pair{"use", &jwk.use}}) {
    if (auto it = j.find(key); it != j.end()) {
      if (!it->is_string()) return Refuse(jwt_reason::kBadJwk, std::string(key) + " not a string.");
      *out = it->get<std::string>();
    }
  }
  if (!jwk.use.empty() && jwk.use != "sig")
    return Refuse(jwt_reason::kBadJwk, "Not a signing key.");
  Result<std::shared_ptr<EVP_PKEY>> key = Refuse(jwt_reason::kBadJwk, "Unsupported kty.");
  if (*kty == "RSA") {
    jwk.alg = JwsAlg::kRS256;
    key = RsaKey(j);
  } else if (*kty == "EC") {
    jwk.alg = JwsAlg::kES256;
    key = EcP256Key(j);
  }
  if (!key) return key.error();
  jwk.key = std::move(*key);
  if (auto alg = j.find("alg"); alg != j.end()) {
    const char* expected = jwk.alg == JwsAlg::kRS256 ? "RS256" : "ES256";
    if (*alg != expected) return Refuse(jwt_reason::kBadJwk, "JWK alg unsupported for its kty.");
    jwk.alg_declared = true;
  }
  return jwk;
}

const Jwk* Jwks::Find(std::string_view kid) const {
  for (const Jwk& k : keys) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

Result<Jwks> ParseJwks(std::string_view document, int* skipped) {
  if (document.size() > kMaxJwksBytes) return Refuse(jwt_reason::kBadJwk, "JWKS too large.");
  auto j = ParseStrictJson(document);
  if (!j) return j.error();
  auto keys = j->is_object() ? j->find("keys") : j->end();
  if (keys == j->end() || !keys->is_array()) return Refuse(jwt_reason::kBadJwk, "No keys array.");
  if (keys->size() > kMaxJwksKeys) return Refuse(jwt_reason::kBadJwk, "Too many keys.");
  Jwks out;
  int left_out = 0;
  for (const Json& k : *keys) {
    auto jwk = ParseJwk(k);
    // Two keys under one kid would make the selection ambiguous: the later one is dropped.
    if (!jwk || (!jwk->kid.empty() && out.Find(jwk->kid))) {
      ++left_out;
      continue;
    }
    out.keys.push_back(std::move(*jwk));
  }
  if (skipped) *skipped = left_out;
  return out;
}

Result<IdTokenClaims> VerifyIdToken(std::string_view token, const Jwks& jwks,
                                    const IdTokenExpectations& expect, int64_t now) {
  auto jws = ParseJws(token);
  if (!jws) return jws.error();
  const Json& h = jws->header;
  auto alg = h.find("alg");
  if (alg == h.end() || !alg->is_string() || (*alg != "RS256" && *alg != "ES256")) {
    return Refuse(jwt_reason::kAlgNotAllowed, "Only RS256 and ES256 are accepted.");
  }
  // No extension is understood, so none marked critical can be honoured (RFC 7515 §4.1.11).
  if (h.contains("crit")) return Refuse(jwt_reason::kCritUnsupported, "crit is not supported.");
  // The key comes from the configured JWKS only: jku, x5u, jwk and x5c headers are ignored.
  const Jwk* key = nullptr;
  if (auto kid = h.find("kid"); kid != h.end()) {
    if (!kid->is_string()) return Refuse(jwt_reason::kMalformed, "kid is not a string.");
    key = jwks.Find(kid->get_ref<const std::string&>());
    if (!key) return Refuse(jwt_reason::kKidUnknown, "No key with this kid.");
  } else {
    if (jwks.keys.size() != 1) return Refuse(jwt_reason::kKidMissing, "The token names no kid.");
    key = &jwks.keys.front();
  }
  JwsAlg wanted = *alg == "RS256" ? JwsAlg::kRS256 : JwsAlg::kES256;
  if (key->alg != wanted)
    return Refuse(jwt_reason::kKeyMismatch, "The kid's key is of another type.");
  if (!VerifySignature(*key, jws->signing_input, jws->signature)) {
    return Refuse(jwt_reason::kBadSignature, "The signature does not verify.");
  }
  // Signed by the IdP from here on; now the claims.
  const Json& p = jws->payload;
  auto iss = StringClaim(p, "iss");
  if (!iss || expect.issuer.empty() || *iss != expect.issuer) {
    return Refuse(jwt_reason::kWrongIssuer, "iss is not the configured issuer.");
  }
  if (auto e = CheckAudience(p, expect.client_id)) return *e;
  int64_t skew = std::clamp<int64_t>(expect.max_skew_seconds, 0, kMaxClockSkewSeconds);
  if (auto e = CheckTimes(p, skew, now)) return *e;
  auto nonce = StringClaim(p, "nonce");
  if (!nonce || expect.nonce.empty() || !crypto::ConstantTimeEquals(*nonce, expect.nonce)) {
    return Refuse(jwt_reason::kWrongNonce, "nonce does not match this request.");
  }
  auto sub = StringClaim(p, "sub");
  if (!sub || sub->empty() || sub->size() > 255) {
    return Refuse(jwt_reason::kMissingClaim, "sub missing or invalid.");
  }
  return ClaimsOf(std::move(jws->payload));
}

}  // namespace gh::sso
