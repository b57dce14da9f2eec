// ID tokens (sso/jwt.h): JWS parsing, JWKS keys and VerifyIdToken. The invariant is the one
// that matters for SSO: nothing that is not validly signed by a key of the given JWKS is ever
// returned as claims, and what is returned passed every claim check.
// Input: one mode byte, then
//   0: a token as received: never accepted (the harness's keys are made at start-up, so no
//      input can carry a valid signature);
//   1: a payload the harness signs with its RSA key under a fixed header: accepted claims are
//      exactly that payload and meet the expectations;
//   2: a header the harness signs (RSA) over a valid payload: accepted only as RS256 by "rsa";
//   3: the same with the EC key: accepted only as ES256 by "ec";
//   4: byte flips applied to a valid RS256 token: accepted only when nothing changed;
//   5: a JWKS document, parsed (and used to verify a valid token, which it must not accept
//      unless it holds the harness's own key).
#include <cstdint>
#include <string>
#include <string_view>

#include "../tests/unit/sso_test_keys.h"
#include "fuzz_check.h"
#include "sso/jwt.h"

namespace {

using gh::sso::IdTokenExpectations;
using gh::sso::testing::KeyPtr;
using nlohmann::json;

constexpr int64_t kNow = 1'764'950'000;

struct Fixture {
  KeyPtr rsa = gh::sso::testing::NewRsaKey();
  KeyPtr ec = gh::sso::testing::NewEcKey();
  gh::sso::Jwks jwks;
  IdTokenExpectations expect{"https://idp.example.com", "client", "nonce-1"};
  json payload = {{"iss", "https://idp.example.com"},
                  {"sub", "u1"},
                  {"aud", "client"},
                  {"nonce", "nonce-1"},
                  {"iat", kNow},
                  {"exp", kNow + 600}};
  std::string valid_rs;
  Fixture() {
    json doc = {
        {"keys", {gh::sso::testing::PublicJwk(rsa, "rsa"), gh::sso::testing::PublicJwk(ec, "ec")}}};
    jwks = std::move(gh::sso::ParseJwks(doc.dump())).value();
    valid_rs = gh::sso::testing::SignedToken(rsa, {{"alg", "RS256"}, {"kid", "rsa"}}, payload);
  }
};

const Fixture& F() {
  static const Fixture f;
  return f;
}

std::string SignText(const KeyPtr& key, std::string_view header, std::string_view payload) {
  std::string input = gh::crypto::Base64Url(header) + "." + gh::crypto::Base64Url(payload);
  return input + "." + gh::crypto::Base64Url(gh::sso::testing::Sign(key, input));
}

void CheckMeetsExpectations(const gh::sso::IdTokenClaims& c) {
  FUZZ_CHECK(c.issuer == F().expect.issuer);
  FUZZ_CHECK(c.raw.value("nonce", "") == F().expect.nonce);
  FUZZ_CHECK(!c.subject.empty());
  FUZZ_CHECK(c.expires_at > kNow - gh::sso::kMaxClockSkewSeconds);
  const json& aud = c.raw["aud"];
  FUZZ_CHECK(aud == F().expect.client_id ||
             (aud.is_array() &&
              std::find(aud.begin(), aud.end(), json(F().expect.client_id)) != aud.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Fixture& f = F();
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0: {
      FUZZ_CHECK(!gh::sso::VerifyIdToken(rest, f.jwks, f.expect, kNow).ok());
      break;
    }
    case 1: {
      std::string token = SignText(f.rsa, R"({"alg":"RS256","kid":"rsa"})", rest);
      auto c = gh::sso::VerifyIdToken(token, f.jwks, f.expect, kNow);
      if (c.ok()) {
        CheckMeetsExpectations(*c);
        FUZZ_CHECK(c->raw == json::parse(rest));
      }
      break;
    }
    case 2:
    case 3: {
      bool rsa = data[0] % 6 == 2;
      std::string token = SignText(rsa ? f.rsa : f.ec, rest, f.payload.dump());
      auto c = gh::sso::VerifyIdToken(token, f.jwks, f.expect, kNow);
      if (c.ok()) {
        json h = json::parse(rest);
        FUZZ_CHECK(h["alg"] == (rsa ? "RS256" : "ES256"));
        FUZZ_CHECK(h["kid"] == (rsa ? "rsa" : "ec"));
        CheckMeetsExpectations(*c);
      }
      break;
    }
    case 4: {
      std::string token = f.valid_rs;
      for (size_t i = 0; i + 1 < rest.size(); i += 2) {
        token[static_cast<uint8_t>(rest[i]) * 7 % token.size()] ^= rest[i + 1];
      }
      if (gh::sso::VerifyIdToken(token, f.jwks, f.expect, kNow).ok()) {
        FUZZ_CHECK(token == f.valid_rs);
      }
      break;
    }
    case 5: {
      auto jwks = gh::sso::ParseJwks(rest);
      if (!jwks.ok()) break;
      FUZZ_CHECK(jwks->keys.size() <= gh::sso::kMaxJwksKeys);
      for (const auto& k : jwks->keys) FUZZ_CHECK(k.key != nullptr);
      // The fuzzer cannot know the harness's private keys: a valid token must not verify.
      FUZZ_CHECK(!gh::sso::VerifyIdToken(f.valid_rs, *jwks, f.expect, kNow).ok());
      break;
    }
  }
  return 0;
}
