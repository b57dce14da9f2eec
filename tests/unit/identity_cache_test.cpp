// IdentityCache's users by id: served for the TTL, dropped by ForgetUser (what a change to
// the user in this process calls), one user at a time.
#include <gtest/gtest.h>

#include "service/identity_cache.h"

namespace gh {
namespace {

std::shared_ptr<const User> Named(const std::string& id, const std::string& name) {
  User u;
  u.id = id;
  u.name = name;
  return std::make_shared<const User>(u);
}

TEST(IdentityCache, ServesAUserForTheTtl) {
  IdentityCache cache(2);
  cache.PutUser(Named("usr_a", "Ada"), 100);
  ASSERT_NE(cache.UserById("usr_a", 101), nullptr);
  EXPECT_EQ(cache.UserById("usr_a", 101)->name, "Ada");
  EXPECT_EQ(cache.UserById("usr_a", 102), nullptr);  // loaded 2 s ago: read again
  EXPECT_EQ(cache.UserById("usr_b", 100), nullptr);
}

TEST(IdentityCache, ForgetUserDropsOnlyThatUser) {
  IdentityCache cache(2);
  cache.PutUser(Named("usr_a", "Ada"), 100);
  cache.PutUser(Named("usr_b", "Bob"), 100);
  cache.ForgetUser("usr_a");
  EXPECT_EQ(cache.UserById("usr_a", 100), nullptr);
  ASSERT_NE(cache.UserById("usr_b", 100), nullptr);
  EXPECT_EQ(cache.UserById("usr_b", 100)->name, "Bob");
}

}  // namespace
}  // namespace gh
