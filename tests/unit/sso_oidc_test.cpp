#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sso/oidc.h"
#include "sso_test_keys.h"

namespace gh::sso {
namespace {

using nlohmann::json;
using namespace testing;  // NOLINT

TEST(Pkce, S256MatchesRfc7636AppendixB) {
  EXPECT_EQ(PkceChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Pkce, VerifiersAreFreshAndOfLegalLength) {
  Pkce a = NewPkce(), b = NewPkce();
  EXPECT_EQ(a.verifier.size(), 43u);
  EXPECT_NE(a.verifier, b.verifier);
  EXPECT_EQ(a.challenge, PkceChallengeS256(a.verifier));
  EXPECT_EQ(PkceChallengeS256(std::string(42, 'a')), "");
  EXPECT_EQ(PkceChallengeS256(std::string(129, 'a')), "");
  EXPECT_EQ(PkceChallengeS256(std::string(43, '+')), "");
  EXPECT_NE(PkceChallengeS256(std::string(128, '~')), "");
}

TEST(StateAndNonce, AreRandom256BitTokens) {
  EXPECT_EQ(NewState().size(), 43u);
  EXPECT_NE(NewState(), NewState());
  EXPECT_NE(NewNonce(), NewNonce());
}

TEST(AuthorizationUrl, CarriesEveryParameterEncoded) {
  AuthorizationRequest r{"https://idp.example.com/authorize",
                         "client 1",
                         "https://gh.example.com/v1/sso/oidc/sso_1/callback",
                         {"openid", "email", "profile"},
                         "st",
                         "nn",
                         "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                         "ada+x@acme.com"};
  EXPECT_EQ(BuildAuthorizationUrl(r),
            "https://idp.example.com/authorize?response_type=code&client_id=client%201"
            "&redirect_uri=https%3A%2F%2Fgh.example.com%2Fv1%2Fsso%2Foidc%2Fsso_1%2Fcallback"
            "&scope=openid%20email%20profile&state=st&nonce=nn"
            "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
            "&code_challenge_method=S256&login_hint=ada%2Bx%40acme.com");
  r.authorization_endpoint = "https://idp.example.com/authorize?tenant=a";
  r.nonce.clear();
  r.login_hint.clear();
  std::string url = BuildAuthorizationUrl(r);
  EXPECT_TRUE(url.starts_with("https://idp.example.com/authorize?tenant=a&response_type=code"));
  EXPECT_EQ(url.find("nonce"), std::string::npos);
}

TEST(Endpoints, HttpsOrLoopbackOnly) {
  EXPECT_TRUE(IsAllowedEndpoint("https://accounts.google.com/o/oauth2/v2/auth"));
  EXPECT_TRUE(IsAllowedEndpoint("http://127.0.0.1:3000/auth"));
  EXPECT_TRUE(IsAllowedEndpoint("http://localhost:3000"));
  EXPECT_TRUE(IsAllowedEndpoint("http://[::1]:8080/jwks"));
  EXPECT_FALSE(IsAllowedEndpoint("http://idp.example.com/auth"));
  EXPECT_FALSE(IsAllowedEndpoint("http://127.0.0.1.evil.com/auth"));
  EXPECT_FALSE(IsAllowedEndpoint("http://localhost@evil.com/auth"));
  EXPECT_FALSE(IsAllowedEndpoint("https://good.com@evil.com/"));
  EXPECT_FALSE(IsAllowedEndpoint("https://"));
  EXPECT_FALSE(IsAllowedEndpoint("javascript:alert(1)"));
  EXPECT_FALSE(IsAllowedEndpoint("https://idp.example.com/a b"));
}

json GoogleDiscovery() {
  return {{"issuer", "https://accounts.google.com"},
          {"authorization_endpoint", "https://accounts.google.com/o/oauth2/v2/auth"},
          {"token_endpoint", "https://oauth2.googleapis.com/token"},
          {"userinfo_endpoint", "https://openidconnect.googleapis.com/v1/userinfo"},
          {"jwks_uri", "https://www.googleapis.com/oauth2/v3/certs"},
          {"response_types_supported", {"code", "token", "id_token"}},
          {"id_token_signing_alg_values_supported", {"RS256"}},
          {"code_challenge_methods_supported", {"plain", "S256"}}};
}

TEST(Discovery, ReadsGooglesDocument) {
  auto m = ParseDiscovery(GoogleDiscovery().dump(), "https://accounts.google.com");
  ASSERT_TRUE(m.ok()) << m.error().code;
  EXPECT_EQ(m->jwks_uri, "https://www.googleapis.com/oauth2/v3/certs");
  EXPECT_EQ(m->userinfo_endpoint, "https://openidconnect.googleapis.com/v1/userinfo");
}

TEST(Discovery, RefusesAnotherIssuerPlainHttpAndHmacOnly) {
  auto code = [](const json& d, const char* iss) {
    auto m = ParseDiscovery(d.dump(), iss);
    return m.ok() ? std::string("ok") : m.error().code;
  };
  EXPECT_EQ(code(GoogleDiscovery(), "https://accounts.google.com/"), oidc_reason::kIssuerMismatch);
  json d = GoogleDiscovery();
  d["jwks_uri"] = "http://www.googleapis.com/oauth2/v3/certs";
  EXPECT_EQ(code(d, "https://accounts.google.com"), oidc_reason::kInsecureEndpoint);
  d = GoogleDiscovery();
  d["id_token_signing_alg_values_supported"] = {"HS256", "none"};
  EXPECT_EQ(code(d, "https://accounts.google.com"), oidc_reason::kBadDiscovery);
  d = GoogleDiscovery();
  d.erase("token_endpoint");
  EXPECT_EQ(code(d, "https://accounts.google.com"), oidc_reason::kBadDiscovery);
  EXPECT_EQ(code(json::array(), "https://accounts.google.com"), oidc_reason::kBadDiscovery);
  // A local test IdP (oidc-provider on loopback) is fine over http.
  d = {{"issuer", "http://127.0.0.1:4000"},
       {"authorization_endpoint", "http://127.0.0.1:4000/auth"},
       {"token_endpoint", "http://127.0.0.1:4000/token"},
       {"jwks_uri", "http://127.0.0.1:4000/jwks"}};
  EXPECT_EQ(code(d, "http://127.0.0.1:4000"), "ok");
}

class Jwksets : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new KeyPtr(NewRsaKey());
    ec_ = new KeyPtr(NewEcKey());
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
  }
  static KeyPtr* rsa_;
  static KeyPtr* ec_;
};
KeyPtr* Jwksets::rsa_ = nullptr;
KeyPtr* Jwksets::ec_ = nullptr;

TEST_F(Jwksets, GoogleShape) {
  json k = PublicJwk(*rsa_, "1f40f0a8ef3d880978dc82f25c3ec317c6a5b781");
  json doc = {{"keys",
               {{{"e", k["e"]},
                 {"kty", "RSA"},
                 {"alg", "RS256"},
                 {"n", k["n"]},
                 {"use", "sig"},
                 {"kid", k["kid"]}}}}};
  auto jwks = ParseJwks(doc.dump());
  ASSERT_TRUE(jwks.ok()) << jwks.error().code;
  ASSERT_EQ(jwks->keys.size(), 1u);
  EXPECT_NE(jwks->Find("1f40f0a8ef3d880978dc82f25c3ec317c6a5b781"), nullptr);
}

TEST_F(Jwksets, MicrosoftShapeWithX5cAndIssuer) {
  json k = PublicJwk(*rsa_, "nOo3ZDrODXEK1jKWhXslHR_KXEg");
  json doc = {{"keys",
               {{{"kty", "RSA"},
                 {"use", "sig"},
                 {"kid", k["kid"]},
                 {"x5t", k["kid"]},
                 {"n", k["n"]},
                 {"e", "AQAB"},
                 {"x5c", {"MIIC/TCCAeWgAwIBAgIIUd7j/OIahkYwDQYJ"}},
                 {"cloud_instance_name", "microsoftonline.com"},
                 {"issuer", "https://login.microsoftonline.com/{tenantid}/v2.0"}}}}};
  auto jwks = ParseJwks(doc.dump());
  ASSERT_TRUE(jwks.ok()) << jwks.error().code;
  ASSERT_EQ(jwks->keys.size(), 1u);
  EXPECT_FALSE(jwks->keys[0].alg_declared);
  EXPECT_EQ(jwks->keys[0].alg, JwsAlg::kRS256);
}

TEST_F(Jwksets, UnusableKeysAreSkippedNotFatal) {
  auto weak = NewRsaKey(1024);
  json enc = PublicJwk(*rsa_, "enc");
  enc["use"] = "enc";
  json p384 = PublicJwk(*ec_, "p384");
  p384["crv"] = "P-384";
  json wrong_alg = PublicJwk(*rsa_, "ps");
  wrong_alg["alg"] = "PS256";
  json off_curve = PublicJwk(*ec_, "bad-point");
  off_curve["y"] = crypto::Base64Url(std::string(32, '\x01'));
  json oct = {{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}};
  json doc = {{"keys",
               {PublicJwk(weak, "weak"), enc, p384, wrong_alg, off_curve, oct,
                PublicJwk(*rsa_, "good"), PublicJwk(*ec_, "good-ec"), PublicJwk(*ec_, "good")}}};
  int skipped = 0;
  auto jwks = ParseJwks(doc.dump(), &skipped);
  ASSERT_TRUE(jwks.ok()) << jwks.error().code;
  EXPECT_EQ(skipped, 7);  // six unusable, one repeated kid
  ASSERT_EQ(jwks->keys.size(), 2u);
  EXPECT_EQ(jwks->Find("good")->alg, JwsAlg::kRS256);
  EXPECT_EQ(jwks->Find("good-ec")->alg, JwsAlg::kES256);
  EXPECT_EQ(ParseJwk(PublicJwk(weak, "weak")).error().code, jwt_reason::kWeakKey);
}

TEST_F(Jwksets, MalformedDocumentsAreRefused) {
  EXPECT_FALSE(ParseJwks("").ok());
  EXPECT_FALSE(ParseJwks("[]").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":{}})").ok());
  EXPECT_EQ(ParseJwks(R"({"keys":[],"keys":[]})").error().code, jwt_reason::kDuplicateKey);
  EXPECT_FALSE(ParseJwks(std::string(kMaxJwksBytes + 1, ' ')).ok());
}

TEST_F(Jwksets, CacheRefreshesOnceOnUnknownKidAndIsRateLimited) {
  std::atomic<int> calls = 0;
  json served = {{"keys", {PublicJwk(*rsa_, "old")}}};
  std::mutex served_mu;
  JwksCache cache(
      [&](const std::string& uri) -> Result<std::string> {
        EXPECT_EQ(uri, "https://idp/jwks");
        ++calls;
        std::lock_guard lock(served_mu);
        return served.dump();
      },
      /*min_refresh_seconds=*/60, /*max_age_seconds=*/3600);
  const int64_t now = 1'764'950'000;
  json payload = {{"iss", "https://idp"}, {"sub", "u1"}, {"aud", "c"},
                  {"nonce", "n"},         {"iat", now},  {"exp", now + 600}};
  IdTokenExpectations expect{"https://idp", "c", "n"};
  auto verify = [&](const std::string& kid, int64_t at) {
    auto r = cache.VerifyIdToken("https://idp", "https://idp/jwks",
                                 SignedToken(*rsa_, {{"alg", "RS256"}, {"kid", kid}}, payload),
                                 expect, at);
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(verify("old", now), "ok");
  EXPECT_EQ(calls, 1);
  // The IdP rotates to "new"; the first token with it refreshes... but within a minute of
  // the first fetch the refresh is held back.
  {
    std::lock_guard lock(served_mu);
    served = {{"keys", {PublicJwk(*rsa_, "new")}}};
  }
  EXPECT_EQ(verify("new", now + 10), jwt_reason::kKidUnknown);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(verify("new", now + 61), "ok");
  EXPECT_EQ(calls, 2);
  // Random kids from an attacker: at most one fetch per minute, whatever the volume.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) verify("forged-" + std::to_string(t * 100 + i), now + 130);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(cache.fetch_count(), 3);
}

TEST_F(Jwksets, CacheKeepsServingTheLastGoodSetWhenAFetchFails) {
  bool fail = false;
  JwksCache cache(
      [&](const std::string&) -> Result<std::string> {
        if (fail) return Error{ErrorKind::kUnavailable, "fetch_failed", "down", {}};
        return json{{"keys", {PublicJwk(*ec_, "k")}}}.dump();
      },
      60, 3600);
  ASSERT_TRUE(cache.Get("iss", "https://idp/jwks", 0).ok());
  fail = true;
  auto stale = cache.Get("iss", "https://idp/jwks", 4000);  // past max age, fetch fails
  ASSERT_TRUE(stale.ok());
  EXPECT_NE((*stale)->Find("k"), nullptr);
  JwksCache empty([](const std::string&) -> Result<std::string> { return std::string("{"); });
  EXPECT_EQ(empty.Get("iss", "https://idp/jwks", 0).error().code, oidc_reason::kJwksUnavailable);
}

TEST(OAuthPresets, CoverTheFourProviders) {
  for (const char* p : {"github", "gitlab", "google", "microsoft"}) {
    const OAuthProviderPreset* preset = FindOAuthPreset(p);
    ASSERT_NE(preset, nullptr) << p;
    EXPECT_TRUE(IsAllowedEndpoint(preset->authorization_endpoint));
    EXPECT_TRUE(IsAllowedEndpoint(preset->token_endpoint));
    EXPECT_TRUE(IsAllowedEndpoint(preset->userinfo_endpoint));
    EXPECT_EQ(preset->id_token, std::string_view(p) != "github");
  }
  EXPECT_EQ(FindOAuthPreset("okta"), nullptr);
  EXPECT_FALSE(FindOAuthPreset("github")->emails_endpoint.empty());
}

TEST(GitHubEmails, PicksTheVerifiedPrimary) {
  // The shape of GET https://api.github.com/user/emails.
  const char* emails = R"([
    {"email": "ada@old.example", "primary": false, "verified": true, "visibility": null},
    {"email": "ada@acme.com", "primary": true, "verified": true, "visibility": "public"},
    {"email": "1234+ada@users.noreply.github.com", "primary": false, "verified": true,
     "visibility": null}])";
  EXPECT_EQ(GitHubVerifiedPrimaryEmail(emails).value(), "ada@acme.com");
  const char* unverified = R"([{"email": "ada@acme.com", "primary": true, "verified": false},
                               {"email": "x@acme.com", "primary": false, "verified": true}])";
  EXPECT_EQ(GitHubVerifiedPrimaryEmail(unverified).error().code, oidc_reason::kNoVerifiedEmail);
  EXPECT_FALSE(
      GitHubVerifiedPrimaryEmail(R"([{"email":"a@b.c","primary":"true","verified":"true"}])").ok());
  EXPECT_FALSE(GitHubVerifiedPrimaryEmail("{}").ok());
  EXPECT_FALSE(GitHubVerifiedPrimaryEmail("not json").ok());
}

}  // namespace
}  // namespace gh::sso
