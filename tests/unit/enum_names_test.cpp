// Closed sets are enums inside and names at the edges (core/enum_names.h). The names are the
// wire and storage format: these tests pin every one of them, so that renaming an enumerator
// or reordering a table cannot change what the API answers or what the store holds.
#include "core/enum_names.h"

#include <gtest/gtest.h>

#include <string_view>
#include <utility>
#include <vector>

#include "core/key_rules.h"
#include "core/model.h"

namespace gh {
namespace {

// Each enumerator has its name, and the name parses back to it.
template <typename E, typename Parse>
void ExpectNames(const std::vector<std::pair<E, std::string_view>>& want, Parse parse) {
  for (const auto& [e, name] : want) {
    EXPECT_EQ(ToString(e), name);
    EXPECT_EQ(parse(name), e) << name;
  }
}

TEST(EnumNames, ApiKeyTypesAndEnvironmentsAreTheirApiNames) {
  ExpectNames<KeyType>({{KeyType::kSecret, "secret"}, {KeyType::kPublishable, "publishable"}},
                       ParseKeyType);
  ExpectNames<KeyEnvironment>({{KeyEnvironment::kLive, "live"}, {KeyEnvironment::kTest, "test"}},
                              ParseKeyEnvironment);
}

TEST(EnumNames, AuditActorTypesAreTheirApiNames) {
  ExpectNames<ActorType>(
      {{ActorType::kUser, "user"}, {ActorType::kApiKey, "api_key"}, {ActorType::kSystem, "system"}},
      ParseActorType);
}

TEST(EnumNames, MailStatusesAreTheirStoredNames) {
  ExpectNames<MailStatus>({{MailStatus::kStored, "stored"},
                           {MailStatus::kQueued, "queued"},
                           {MailStatus::kSent, "sent"},
                           {MailStatus::kFailed, "failed"}},
                          ParseMailStatus);
}

TEST(EnumNames, VerifyCodesAreTheApiCodes) {
  ExpectNames<VerifyCode>({{VerifyCode::kValid, "VALID"},
                           {VerifyCode::kNotFound, "NOT_FOUND"},
                           {VerifyCode::kRevoked, "REVOKED"},
                           {VerifyCode::kExpired, "EXPIRED"},
                           {VerifyCode::kForbiddenEndpoint, "FORBIDDEN_ENDPOINT"},
                           {VerifyCode::kIpNotAllowed, "IP_NOT_ALLOWED"},
                           {VerifyCode::kRateLimited, "RATE_LIMITED"},
                           {VerifyCode::kQuotaExceeded, "QUOTA_EXCEEDED"}},
                          ParseVerifyCode);
}

TEST(EnumNames, ParsingIsExactAndRefusesEverythingElse) {
  for (std::string_view text : {"", "Secret", "secret ", " live", "LIVE", "valid", "sk", "pk"}) {
    EXPECT_FALSE(ParseKeyType(text).has_value()) << text;
    EXPECT_FALSE(ParseKeyEnvironment(text).has_value()) << text;
    EXPECT_FALSE(ParseVerifyCode(text).has_value()) << text;
    EXPECT_FALSE(ParseActorType(text).has_value()) << text;
    EXPECT_FALSE(ParseMailStatus(text).has_value()) << text;
  }
  EXPECT_FALSE(ParseKeyType(std::string_view("secret\0", 7)).has_value());
}

}  // namespace
}  // namespace gh
