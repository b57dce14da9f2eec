#include <gtest/gtest.h>

#include "sso/jwt.h"
#include "sso_test_keys.h"

namespace gh::sso {
namespace {

using nlohmann::json;
using namespace testing;  // NOLINT

constexpr int64_t kNow = 1'764'950'000;
constexpr const char* kIssuer = "https://idp.example.com";
constexpr const char* kClient = "gatehouse-client";
constexpr const char* kNonce = "n-0S6_WzA2Mj";

class IdTokens : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new KeyPtr(NewRsaKey());
    rsa_other_ = new KeyPtr(NewRsaKey());
    ec_ = new KeyPtr(NewEcKey());
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete rsa_other_;
    delete ec_;
  }

  Jwks Keys() const {
    json doc = {{"keys", {PublicJwk(*rsa_, "rsa1"), PublicJwk(*ec_, "ec1")}}};
    auto jwks = ParseJwks(doc.dump());
    EXPECT_TRUE(jwks.ok());
    return std::move(jwks).value();
  }
  static json Payload() {
    return {{"iss", kIssuer},          {"sub", "248289761001"},    {"aud", kClient},
            {"nonce", kNonce},         {"iat", kNow - 10},         {"exp", kNow + 3600},
            {"email", "ada@acme.com"}, {"email_verified", true},   {"name", "Ada Lovelace"},
            {"given_name", "Ada"},     {"family_name", "Lovelace"}};
  }
  static IdTokenExpectations Expect() { return {kIssuer, kClient, kNonce}; }
  Result<IdTokenClaims> Verify(const std::string& token) const {
    return VerifyIdToken(token, Keys(), Expect(), kNow);
  }
  std::string Rs(const json& payload,
                 const json& header = {{"alg", "RS256"}, {"kid", "rsa1"}}) const {
    return SignedToken(*rsa_, header, payload);
  }
  static std::string Code(const Result<IdTokenClaims>& r) { return r.ok() ? "ok" : r.error().code; }

  static KeyPtr* rsa_;
  static KeyPtr* rsa_other_;
  static KeyPtr* ec_;
};
KeyPtr* IdTokens::rsa_ = nullptr;
KeyPtr* IdTokens::rsa_other_ = nullptr;
KeyPtr* IdTokens::ec_ = nullptr;

TEST_F(IdTokens, ValidRs256IsAcceptedWithItsClaims) {
  auto c = Verify(Rs(Payload()));
  ASSERT_TRUE(c.ok()) << c.error().code;
  EXPECT_EQ(c->subject, "248289761001");
  EXPECT_EQ(c->issuer, kIssuer);
  EXPECT_EQ(c->email, "ada@acme.com");
  EXPECT_EQ(c->email_verified, true);
  EXPECT_EQ(c->name, "Ada Lovelace");
  EXPECT_EQ(c->given_name, "Ada");
  EXPECT_EQ(c->family_name, "Lovelace");
  EXPECT_EQ(c->expires_at, kNow + 3600);
  EXPECT_EQ(c->raw["aud"], kClient);
}

TEST_F(IdTokens, ValidEs256IsAccepted) {
  auto c = Verify(SignedToken(*ec_, {{"alg", "ES256"}, {"kid", "ec1"}}, Payload()));
  ASSERT_TRUE(c.ok()) << c.error().code;
  EXPECT_EQ(c->subject, "248289761001");
}

TEST_F(IdTokens, AlgNoneIsRefused) {
  std::string unsigned_token = SigningInput({{"alg", "none"}, {"kid", "rsa1"}}, Payload()) + ".";
  EXPECT_EQ(Code(Verify(unsigned_token)), jwt_reason::kAlgNotAllowed);
  std::string with_sig = SigningInput({{"alg", "none"}, {"kid", "rsa1"}}, Payload()) + ".AAAA";
  EXPECT_EQ(Code(Verify(with_sig)), jwt_reason::kAlgNotAllowed);
  std::string none_case = SigningInput({{"alg", "None"}}, Payload()) + ".AAAA";
  EXPECT_EQ(Code(Verify(none_case)), jwt_reason::kAlgNotAllowed);
}

TEST_F(IdTokens, Hs256SignedWithThePublicKeyIsRefused) {
  for (const std::string& secret : {PublicPem(*rsa_), PublicJwk(*rsa_, "rsa1").dump(),
                                    PublicJwk(*rsa_, "rsa1")["n"].get<std::string>()}) {
    EXPECT_EQ(Code(Verify(HmacToken(secret, {{"alg", "HS256"}, {"kid", "rsa1"}}, Payload()))),
              jwt_reason::kAlgNotAllowed);
  }
}

TEST_F(IdTokens, OtherAlgorithmsAreRefused) {
  for (const char* alg : {"RS384", "RS512", "PS256", "ES384", "EdDSA", "HS512", "rs256", ""}) {
    EXPECT_EQ(Code(Verify(Rs(Payload(), {{"alg", alg}, {"kid", "rsa1"}}))),
              jwt_reason::kAlgNotAllowed)
        << alg;
  }
  EXPECT_EQ(Code(Verify(Rs(Payload(), {{"kid", "rsa1"}}))), jwt_reason::kAlgNotAllowed);
  EXPECT_EQ(Code(Verify(Rs(Payload(), {{"alg", 256}, {"kid", "rsa1"}}))),
            jwt_reason::kAlgNotAllowed);
}

TEST_F(IdTokens, UnknownKidHasItsOwnReason) {
  EXPECT_EQ(Code(Verify(Rs(Payload(), {{"alg", "RS256"}, {"kid", "rotated"}}))),
            jwt_reason::kKidUnknown);
}

TEST_F(IdTokens, MissingKidIsRefusedWhenSeveralKeys) {
  EXPECT_EQ(Code(Verify(Rs(Payload(), {{"alg", "RS256"}}))), jwt_reason::kKidMissing);
  Jwks one = Keys();
  one.keys.pop_back();  // only rsa1 left
  EXPECT_TRUE(VerifyIdToken(Rs(Payload(), {{"alg", "RS256"}}), one, Expect(), kNow).ok());
}

TEST_F(IdTokens, OtherKeyUnderTheSameKidIsRefused) {
  // An attacker's RSA key claiming the IdP's kid: the signature does not verify.
  EXPECT_EQ(Code(Verify(SignedToken(*rsa_other_, {{"alg", "RS256"}, {"kid", "rsa1"}}, Payload()))),
            jwt_reason::kBadSignature);
  // An EC signature presented under the RSA key's kid: the key's type decides.
  EXPECT_EQ(Code(Verify(SignedToken(*ec_, {{"alg", "ES256"}, {"kid", "rsa1"}}, Payload()))),
            jwt_reason::kKeyMismatch);
  EXPECT_EQ(Code(Verify(Rs(Payload(), {{"alg", "RS256"}, {"kid", "ec1"}}))),
            jwt_reason::kKeyMismatch);
}

TEST_F(IdTokens, EmbeddedKeysInTheHeaderAreIgnored) {
  json header = {{"alg", "RS256"},
                 {"kid", "rsa1"},
                 {"jwk", PublicJwk(*rsa_other_, "rsa1")},
                 {"jku", "https://evil.example/jwks"}};
  EXPECT_EQ(Code(Verify(SignedToken(*rsa_other_, header, Payload()))), jwt_reason::kBadSignature);
}

TEST_F(IdTokens, CritHeaderIsRefused) {
  EXPECT_EQ(Code(Verify(Rs(Payload(), {{"alg", "RS256"}, {"kid", "rsa1"}, {"crit", {"exp"}}}))),
            jwt_reason::kCritUnsupported);
}

TEST_F(IdTokens, WrongIssuerAudienceNonceAreRefused) {
  json p = Payload();
  p["iss"] = "https://idp.example.com/";
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kWrongIssuer);
  p = Payload();
  p.erase("iss");
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kWrongIssuer);
  p = Payload();
  p["aud"] = "another-client";
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kWrongAudience);
  p["aud"] = json::array({"another-client", "third"});
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kWrongAudience);
  p = Payload();
  p["nonce"] = "replayed";
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kWrongNonce);
  p.erase("nonce");
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kWrongNonce);
  // An RP that forgot its nonce accepts nothing rather than everything.
  IdTokenExpectations no_nonce = Expect();
  no_nonce.nonce.clear();
  EXPECT_EQ(Code(VerifyIdToken(Rs(Payload()), Keys(), no_nonce, kNow)), jwt_reason::kWrongNonce);
}

TEST_F(IdTokens, SeveralAudiencesNeedAzpOfTheClient) {
  json p = Payload();
  p["aud"] = json::array({kClient, "other"});
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kWrongAzp);
  p["azp"] = "other";
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kWrongAzp);
  p["azp"] = kClient;
  EXPECT_EQ(Code(Verify(Rs(p))), "ok");
  p["aud"] = json::array({kClient});
  p.erase("azp");
  EXPECT_EQ(Code(Verify(Rs(p))), "ok");
}

TEST_F(IdTokens, TimeWindowAllowsTwoMinutesOfSkewAndNoMore) {
  json p = Payload();
  p["exp"] = kNow - 119;
  EXPECT_EQ(Code(Verify(Rs(p))), "ok");
  p["exp"] = kNow - 121;
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kExpired);
  p = Payload();
  p["nbf"] = kNow + 300;
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kNotYetValid);
  p["nbf"] = kNow + 100;
  EXPECT_EQ(Code(Verify(Rs(p))), "ok");
  p = Payload();
  p["iat"] = kNow + 600;
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kIssuedInFuture);
  p = Payload();
  p["exp"] = "tomorrow";
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kMissingClaim);
  p = Payload();
  p.erase("iat");
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kMissingClaim);
  // A caller asking for more skew gets the contract's two minutes.
  IdTokenExpectations lax = Expect();
  lax.max_skew_seconds = 86400;
  p = Payload();
  p["exp"] = kNow - 3600;
  EXPECT_EQ(Code(VerifyIdToken(Rs(p), Keys(), lax, kNow)), jwt_reason::kExpired);
}

TEST_F(IdTokens, TamperedPayloadIsRefused) {
  std::string token = Rs(Payload());
  json p = Payload();
  p["email"] = "eve@acme.com";
  std::string forged =
      SigningInput({{"alg", "RS256"}, {"kid", "rsa1"}}, p) + token.substr(token.rfind('.'));
  EXPECT_EQ(Code(Verify(forged)), jwt_reason::kBadSignature);
  std::string es = SignedToken(*ec_, {{"alg", "ES256"}, {"kid", "ec1"}}, Payload());
  std::string es_forged =
      SigningInput({{"alg", "ES256"}, {"kid", "ec1"}}, p) + es.substr(es.rfind('.'));
  EXPECT_EQ(Code(Verify(es_forged)), jwt_reason::kBadSignature);
  // A DER signature where JWS wants r||s.
  EXPECT_EQ(
      Code(Verify(es.substr(0, es.rfind('.') + 1) + crypto::Base64Url(std::string(70, '\x30')))),
      jwt_reason::kBadSignature);
}

TEST_F(IdTokens, BadBase64AndShapesAreRefused) {
  std::string token = Rs(Payload());
  EXPECT_EQ(Code(Verify(token + "=")), jwt_reason::kBadBase64);
  EXPECT_EQ(Code(Verify("+" + token.substr(1))), jwt_reason::kBadBase64);
  EXPECT_EQ(Code(Verify(token.substr(0, 5) + " " + token.substr(5))), jwt_reason::kBadBase64);
  EXPECT_EQ(Code(Verify(token + ".x")), jwt_reason::kMalformed);
  EXPECT_EQ(Code(Verify("")), jwt_reason::kMalformed);
  EXPECT_EQ(Code(Verify("a.b")), jwt_reason::kMalformed);
  EXPECT_EQ(Code(Verify(crypto::Base64Url("[1]") + "." + crypto::Base64Url("{}") + ".AAAA")),
            jwt_reason::kBadJson);
  EXPECT_EQ(Code(Verify(crypto::Base64Url("{\"alg\":\"RS256\",\"alg\":\"none\"}") + "." +
                        crypto::Base64Url("{}") + ".AAAA")),
            jwt_reason::kDuplicateKey);
}

TEST_F(IdTokens, DuplicateClaimsAreRefusedEvenWhenSigned) {
  std::string header = crypto::Base64Url(R"({"alg":"RS256","kid":"rsa1"})");
  json p = Payload();
  std::string body = p.dump();
  body.insert(1, "\"sub\":\"admin\",");
  std::string input = header + "." + crypto::Base64Url(body);
  EXPECT_EQ(Code(Verify(input + "." + crypto::Base64Url(Sign(*rsa_, input)))),
            jwt_reason::kDuplicateKey);
}

TEST_F(IdTokens, OversizedTokenIsRefusedBeforeParsing) {
  json p = Payload();
  p["padding"] = std::string(kMaxTokenBytes, 'x');
  EXPECT_EQ(Code(Verify(Rs(p))), jwt_reason::kTooLarge);
}

TEST(Base64Url, StrictDecoding) {
  EXPECT_EQ(Base64UrlDecodeStrict("Zm9v"), "foo");
  EXPECT_EQ(Base64UrlDecodeStrict("Zm8"), "fo");
  EXPECT_EQ(Base64UrlDecodeStrict("-_8"), std::string("\xfb\xff", 2));
  EXPECT_EQ(Base64UrlDecodeStrict(""), "");
  EXPECT_FALSE(Base64UrlDecodeStrict("Zm8="));  // padding
  EXPECT_FALSE(Base64UrlDecodeStrict("Zm9"));   // non-zero trailing bits: "Zm8" is canonical
  EXPECT_FALSE(Base64UrlDecodeStrict("Z"));     // impossible length
  EXPECT_FALSE(Base64UrlDecodeStrict("+/8"));   // standard alphabet
  EXPECT_FALSE(Base64UrlDecodeStrict("Zm 9v"));
}

}  // namespace
}  // namespace gh::sso
