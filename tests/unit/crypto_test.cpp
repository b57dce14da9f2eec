#include "core/crypto.h"

#include <gtest/gtest.h>

#include "core/ids.h"

namespace gh {

TEST(Crypto, Sha256MatchesKnownVector) {
  EXPECT_EQ(crypto::Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(crypto::Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Crypto, Base64UrlHasNoPaddingAndUrlSafeAlphabet) {
  EXPECT_EQ(crypto::Base64Url("f"), "Zg");
  EXPECT_EQ(crypto::Base64Url("fo"), "Zm8");
  EXPECT_EQ(crypto::Base64Url("foo"), "Zm9v");
  EXPECT_EQ(crypto::Base64Url(std::string("\xfb\xff", 2)), "-_8");
}

TEST(Crypto, Base62PadsToWidth) {
  EXPECT_EQ(crypto::Base62(std::string(1, '\0'), 4), "0000");
  EXPECT_EQ(crypto::Base62(std::string(1, '\x3e'), 2), "10");  // 62
}

TEST(Crypto, TokensAreLongAndDistinct) {
  std::string a = crypto::NewToken(), b = crypto::NewToken();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
}

TEST(Crypto, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(crypto::ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(crypto::ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(crypto::ConstantTimeEquals("abc", "abcd"));
}

TEST(Crypto, PasswordHashIsArgon2idAndVerifies) {
  crypto::PasswordParams cheap{1, 8 * 1024 * 1024};
  std::string h = crypto::HashPassword("correct horse battery", cheap);
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(crypto::VerifyPassword("correct horse battery", h));
  EXPECT_FALSE(crypto::VerifyPassword("correct horse batterY", h));
  EXPECT_NE(h, crypto::HashPassword("correct horse battery", cheap));  // salted
}

// The login of an unknown email burns one verification at the configured cost: at another
// cost the answer's timing would tell registered emails apart.
TEST(Crypto, DummyPasswordHashHasTheCostItIsGiven) {
  crypto::PasswordParams cheap{1, 8 * 1024 * 1024};
  crypto::PasswordParams dearer{3, 16 * 1024 * 1024};
  std::string a = crypto::DummyPasswordHash(cheap);
  std::string b = crypto::DummyPasswordHash(dearer);
  EXPECT_NE(a.find("$m=8192,t=1,"), std::string::npos) << a;
  EXPECT_NE(b.find("$m=16384,t=3,"), std::string::npos) << b;
  EXPECT_EQ(crypto::DummyPasswordHash(cheap), a);  // made once per cost
  crypto::VerifyPasswordDummy("anything", dearer);
}

TEST(Ids, HavePrefixAnd22Base62Characters) {
  std::string id = NewId("ws");
  EXPECT_EQ(id.size(), 25u);
  EXPECT_TRUE(IsWellFormedId(id, "ws"));
  EXPECT_FALSE(IsWellFormedId(id, "usr"));
  EXPECT_FALSE(IsWellFormedId("ws_short", "ws"));
  EXPECT_FALSE(IsWellFormedId("ws_" + std::string(21, 'a') + "!", "ws"));
  EXPECT_NE(NewId("ws"), NewId("ws"));
}

}  // namespace gh
