#include "core/endpoint.h"

#include <gtest/gtest.h>

#include "core/key_rules.h"

namespace gh {
namespace {

std::string Canon(std::string_view e) { return CanonicalEndpoint(e).value_or("<refused>"); }

TEST(CanonicalEndpoint, ResolvesEverySpellingOfOnePathToOneForm) {
  EXPECT_EQ(Canon("/v1/admin"), "/v1/admin");
  EXPECT_EQ(Canon("/v1/metrics/../admin"), "/v1/admin");
  EXPECT_EQ(Canon("/v1/metrics/%2e%2E/admin"), "/v1/admin");
  EXPECT_EQ(Canon("/v1/metrics/.%2e/admin"), "/v1/admin");
  EXPECT_EQ(Canon("//v1///admin"), "/v1/admin");
  EXPECT_EQ(Canon("/v1/./admin/."), "/v1/admin");
  EXPECT_EQ(Canon("/v1/admin/"), "/v1/admin");
  EXPECT_EQ(Canon("/v1/admin?x=1"), "/v1/admin");
  EXPECT_EQ(Canon("/v1/admin#frag"), "/v1/admin");
  EXPECT_EQ(Canon("/v1/%61dmin"), "/v1/admin");
  EXPECT_EQ(Canon("/v1/%7e%5F"), "/v1/~_");
  EXPECT_EQ(Canon("/../../admin"), "/admin");
  EXPECT_EQ(Canon("/"), "/");
  EXPECT_EQ(Canon("/a/.."), "/");
  EXPECT_EQ(Canon("/caf\xc3\xa9"), "/caf%C3%A9");
  EXPECT_EQ(Canon("/caf%c3%a9"), "/caf%C3%A9");
  EXPECT_EQ(Canon("/a%20b"), "/a%20b");
  EXPECT_EQ(Canon("/a:b@c!$&'()*+,="), "/a:b@c!$&'()*+,=");
}

TEST(CanonicalEndpoint, RefusesWhatOriginServersResolveDifferently) {
  for (std::string_view e : {"", "v1/admin", "http://x/v1", "/v1%2fadmin", "/v1%2Fadmin",
                             "/v1%5cadmin", "/v1\\admin", "/v1/%2561dmin", "/v1/admin;x=1",
                             "/v1/admin%3bx", "/v1/%00", "/v1/\x01", "/a b", "/a%", "/a%4",
                             "/a%zz", "/a%3F", "/a%23"}) {
    EXPECT_FALSE(CanonicalEndpoint(e).has_value()) << e;
  }
}

TEST(EndpointMatches, PrefixExactAndCase) {
  EXPECT_TRUE(EndpointMatches("/v1/metrics/*", "/v1/metrics/cpu"));
  EXPECT_TRUE(EndpointMatches("/v1/metrics/*", "/v1/metrics"));
  EXPECT_FALSE(EndpointMatches("/v1/metrics/*", "/v1/metricsx"));
  EXPECT_TRUE(EndpointMatches("/v1/metrics*", "/v1/metricsx"));
  EXPECT_TRUE(EndpointMatches("/v1/admin", "/V1/Admin"));
  EXPECT_TRUE(EndpointMatches("/v1/admin/", "/v1/admin"));
  EXPECT_FALSE(EndpointMatches("/v1/admin", "/v1/admin/x"));
  EXPECT_TRUE(EndpointMatches("/*", "/"));
}

TEST(IsValidPathPattern, OnlyCanonicalPathsWithAnOptionalFinalStar) {
  for (std::string_view p : {"/v1/metrics", "/v1/metrics/*", "/v1/metrics*", "/*", "/",
                             "/v1/metrics/"}) {
    EXPECT_TRUE(IsValidPathPattern(p)) << p;
  }
  for (std::string_view p : {"", "v1", "/v1/*/x", "/v1//x", "/v1/../x", "/v1/./x", "/v1/%61",
                             "/v1?x", "/v1#x", "/v1;x", "/v1\\x", "/v1 x", "/a/.."}) {
    EXPECT_FALSE(IsValidPathPattern(p)) << p;
  }
  EXPECT_FALSE(IsValidPathPattern(std::string(300, 'a').insert(0, "/")));
}

TEST(KeyPermits, DenyHoldsForEverySpelling) {
  ApiKey k;
  k.type = KeyType::kSecret;
  k.deny = {"/v1/admin/*"};
  for (std::string_view e : {"/v1/admin/users", "/v1/metrics/../admin/users",
                             "/v1/metrics/%2e%2e/admin/users", "//v1//admin//users",
                             "/V1/ADMIN/users", "/v1/%61dmin/users", "/v1/admin", "/v1/admin/",
                             "/v1/admin?x", "/v1/admin#x", "/v1/admin;x", "/v1/admin%2fusers",
                             "/v1/%2561dmin/users"}) {
    EXPECT_FALSE(KeyPermits(k, e, "GET", {})) << e;
  }
  EXPECT_TRUE(KeyPermits(k, "/v1/metrics", "GET", {}));
}

TEST(KeyPermits, AllowDoesNotStretchPastItsPrefix) {
  ApiKey k;
  k.type = KeyType::kSecret;
  k.allow = {"/v1/metrics/*"};
  EXPECT_TRUE(KeyPermits(k, "/v1/metrics/cpu", "GET", {}));
  EXPECT_TRUE(KeyPermits(k, "/v1/metrics/./cpu?x", "GET", {}));
  EXPECT_FALSE(KeyPermits(k, "/v1/metrics/../admin/x", "GET", {}));
  EXPECT_FALSE(KeyPermits(k, "/v1/metrics/%2e%2e/admin/x", "GET", {}));
  EXPECT_FALSE(KeyPermits(k, "/v1/metrics/%252e%252e/admin", "GET", {}));
}

TEST(KeyPermits, AKeyWithoutRulesIgnoresTheEndpointAndAMethodRestrictionNeedsAMethod) {
  ApiKey k;
  k.type = KeyType::kSecret;
  EXPECT_TRUE(KeyPermits(k, "/anything;odd\\", "", {}));
  k.methods = {"GET"};
  EXPECT_TRUE(KeyPermits(k, "/x", "GET", {}));
  EXPECT_TRUE(KeyPermits(k, "/x", "get", {}));
  EXPECT_FALSE(KeyPermits(k, "/x", "POST", {}));
  EXPECT_FALSE(KeyPermits(k, "/x", "", {}));
}

TEST(KeyPermits, PublishableKeysStayOnTheirEndpointsWhateverTheSpelling) {
  ApiKey k;
  k.type = KeyType::kPublishable;
  std::vector<std::string> pub = {"/v1/public/*"};
  EXPECT_TRUE(KeyPermits(k, "/v1/public/x", "GET", pub));
  EXPECT_FALSE(KeyPermits(k, "/v1/public/../private", "GET", pub));
  EXPECT_FALSE(KeyPermits(k, "/v1/public/x;y", "GET", pub));
}

}  // namespace
}  // namespace gh
