#include "core/webhook_sign.h"

#include <gtest/gtest.h>

namespace gh {
namespace {

// The example published with the Standard Webhooks specification (and used by every official
// library's own tests).
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr std::string_view kBody = R"({"test": 2432232314})";
constexpr std::string_view kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

std::string Key(std::string_view secret) {
  auto key = WebhookSecretKey(secret);
  EXPECT_TRUE(key.has_value()) << secret;
  return key.value_or("");
}

}  // namespace

TEST(WebhookSign, MatchesTheSpecificationsPublishedExample) {
  EXPECT_EQ(WebhookSignature(Key(kSecret), kMsgId, kTimestamp, kBody), kSignature);
}

TEST(WebhookSign, SecretPrefixIsOptional) {
  EXPECT_EQ(Key(kSecret), Key(kSecret.substr(6)));
  EXPECT_EQ(Key(kSecret).size(), 24u);
}

TEST(WebhookSign, AnyChangeToBodyIdOrTimestampChangesTheSignature) {
  std::string key = Key(kSecret);
  EXPECT_NE(WebhookSignature(key, kMsgId, kTimestamp, R"({"test": 2432232315})"), kSignature);
  EXPECT_NE(WebhookSignature(key, kMsgId, kTimestamp, R"({"test":2432232314})"), kSignature);
  EXPECT_NE(WebhookSignature(key, "msg_p5jXN8AQM9LWM0D4loKWxJeK", kTimestamp, kBody), kSignature);
  EXPECT_NE(WebhookSignature(key, kMsgId, kTimestamp + 1, kBody), kSignature);
  EXPECT_NE(
      WebhookSignature(Key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx"), kMsgId, kTimestamp, kBody),
      kSignature);
}

TEST(WebhookSign, HeaderCarriesEverySignatureCurrentFirst) {
  // "second-secret-for-rotation", signed by Python's hmac over the same content.
  std::string previous = Key("whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=");
  EXPECT_EQ(previous, "second-secret-for-rotation");
  EXPECT_EQ(WebhookSignatureHeader({Key(kSecret), previous}, kMsgId, kTimestamp, kBody),
            std::string(kSignature) + " v1,H1dghkiigkIfP2+S0A4rDaNYD9ZpZynI1PDk3tSUiqY=");
  EXPECT_EQ(WebhookSignatureHeader({Key(kSecret)}, kMsgId, kTimestamp, kBody), kSignature);
  EXPECT_EQ(WebhookSignatureHeader({}, kMsgId, kTimestamp, kBody), "");
}

TEST(WebhookSign, NewSecretsAreThirtyTwoRandomBytes) {
  std::string a = NewWebhookSecret(), b = NewWebhookSecret();
  ASSERT_TRUE(a.starts_with("whsec_"));
  EXPECT_EQ(a.size(), 6u + 44u);
  EXPECT_NE(a, b);
  EXPECT_EQ(Key(a).size(), 32u);
}

TEST(WebhookSign, RefusesSecretsThatAreNotStandardBase64) {
  for (std::string_view bad :
       {"", "whsec_", "whsec_a", "whsec_abd", "whsec_MfKQ9r8G-YqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8G_YqrTwjUPD8ILPZIo2LaLaSw", "whsec_Zm9v YmFy", "whsec_Zm9v=YmFy",
        "whsec_Zg===", "whsec_Zh==", "whsec_Zm8\n"}) {
    EXPECT_FALSE(WebhookSecretKey(bad).has_value()) << bad;
  }
  EXPECT_EQ(WebhookSecretKey("whsec_Zg=="), "f");
  EXPECT_EQ(WebhookSecretKey("whsec_Zg"), "f");
  EXPECT_EQ(WebhookSecretKey("Zm8="), "fo");
  EXPECT_EQ(WebhookSecretKey("Zm9v"), "foo");
}

}  // namespace gh
