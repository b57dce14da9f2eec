#include "core/totp.h"

#include <gtest/gtest.h>

namespace gh::totp {
namespace {

// RFC 6238 appendix B, SHA-1 rows: the 20-byte ASCII secret, 8 digits.
TEST(Totp, Rfc6238TestVectors) {
  const std::string secret = "12345678901234567890";
  struct Row {
    int64_t time;
    const char* code;
  } rows[] = {{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
              {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (const auto& r : rows) {
    EXPECT_EQ(Hotp(secret, static_cast<uint64_t>(StepOf(r.time)), 8), r.code) << r.time;
  }
}

// RFC 4226 appendix D: HOTP of counters 0..2 with 6 digits.
TEST(Totp, Rfc4226HotpValues) {
  const std::string secret = "12345678901234567890";
  EXPECT_EQ(Hotp(secret, 0), "755224");
  EXPECT_EQ(Hotp(secret, 1), "287082");
  EXPECT_EQ(Hotp(secret, 2), "359152");
}

TEST(Totp, Base32RoundTripsAndReadsWhatAppsShow) {
  EXPECT_EQ(Base32Encode("12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_EQ(Base32Decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq"), "12345678901234567890");
  EXPECT_EQ(Base32Encode("f"), "MY");
  EXPECT_EQ(Base32Decode("MY======"), "f");
  EXPECT_FALSE(Base32Decode("GEZ1").has_value());  // 1 is not in the alphabet
}

TEST(Totp, MatchAcceptsOneStepEitherSideAndNeverTheSameStepTwice) {
  const std::string secret = "12345678901234567890";
  const int64_t now = 1'111'111'111;
  const int64_t step = StepOf(now);
  EXPECT_EQ(Match(secret, Hotp(secret, step), now, 0), step);
  EXPECT_EQ(Match(secret, Hotp(secret, step - 1), now, 0), step - 1);
  EXPECT_EQ(Match(secret, Hotp(secret, step + 1), now, 0), step + 1);
  EXPECT_FALSE(Match(secret, Hotp(secret, step - 2), now, 0).has_value());
  EXPECT_FALSE(Match(secret, Hotp(secret, step + 2), now, 0).has_value());
  // The step already used (or an earlier one) is refused.
  EXPECT_FALSE(Match(secret, Hotp(secret, step), now, step).has_value());
  EXPECT_FALSE(Match(secret, Hotp(secret, step - 1), now, step).has_value());
  EXPECT_FALSE(Match(secret, "12345", now, 0).has_value());
  EXPECT_FALSE(Match(secret, "abcdef", now, 0).has_value());
}

}  // namespace
}  // namespace gh::totp
