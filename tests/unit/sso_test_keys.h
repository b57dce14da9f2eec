// Throwaway signing keys for ID-token tests and the JWT fuzz harness: RSA-2048 and EC P-256
// made with OpenSSL at run time, their JWKs, and a signer of JWS compact tokens.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "core/crypto.h"

namespace gh::sso::testing {

using KeyPtr = std::shared_ptr<EVP_PKEY>;

inline KeyPtr NewRsaKey(unsigned bits = 2048) {
  EVP_PKEY* k = EVP_RSA_gen(bits);
  if (!k) throw std::runtime_error("EVP_RSA_gen");
  return KeyPtr(k, EVP_PKEY_free);
}

inline KeyPtr NewEcKey() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) throw std::runtime_error("EVP_EC_gen");
  return KeyPtr(k, EVP_PKEY_free);
}

inline std::string BnParam(EVP_PKEY* k, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error(name);
  int len = pad ? pad : BN_num_bytes(bn);
  std::string out(size_t(len), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
  BN_free(bn);
  return out;
}

// The public JWK of `k` (RSA or EC P-256) under `kid`.
inline nlohmann::json PublicJwk(const KeyPtr& k, const std::string& kid) {
  if (EVP_PKEY_is_a(k.get(), "RSA")) {
    return {{"kty", "RSA"},
            {"kid", kid},
            {"use", "sig"},
            {"alg", "RS256"},
            {"n", crypto::Base64Url(BnParam(k.get(), OSSL_PKEY_PARAM_RSA_N))},
            {"e", crypto::Base64Url(BnParam(k.get(), OSSL_PKEY_PARAM_RSA_E))}};
  }
  return {{"kty", "EC"},
          {"kid", kid},
          {"use", "sig"},
          {"alg", "ES256"},
          {"crv", "P-256"},
          {"x", crypto::Base64Url(BnParam(k.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32))},
          {"y", crypto::Base64Url(BnParam(k.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
}

// The SubjectPublicKeyInfo PEM of `k`: what an attacker would use as an HMAC secret.
inline std::string PublicPem(const KeyPtr& k) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, k.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, size_t(len));
  BIO_free(bio);
  return out;
}

// SHA-256 signature of `input`; EC signatures converted from DER to JWS's r||s.
inline std::string Sign(const KeyPtr& k, const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  if (EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, k.get(), nullptr) != 1 ||
      EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    throw std::runtime_error("sign init");
  }
  sig.resize(len);
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("sign");
  }
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  if (!EVP_PKEY_is_a(k.get(), "EC")) return sig;
  auto p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(es);
  return raw;
}

inline std::string SigningInput(const nlohmann::json& header, const nlohmann::json& payload) {
  return crypto::Base64Url(header.dump()) + "." + crypto::Base64Url(payload.dump());
}

inline std::string SignedToken(const KeyPtr& k, const nlohmann::json& header,
                               const nlohmann::json& payload) {
  std::string input = SigningInput(header, payload);
  return input + "." + crypto::Base64Url(Sign(k, input));
}

inline std::string HmacToken(const std::string& secret, const nlohmann::json& header,
                             const nlohmann::json& payload) {
  std::string input = SigningInput(header, payload);
  unsigned char mac[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + crypto::Base64Url(std::string(reinterpret_cast<char*>(mac), len));
}

}  // namespace gh::sso::testing
