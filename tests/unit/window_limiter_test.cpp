#include "core/window_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace gh {
namespace {

TEST(WindowLimiter, RefusesTheEventOverTheLimitUntilTheWindowMoves) {
  WindowLimiter l(3, 60);
  EXPECT_EQ(l.Acquire("a", 1000), 0);
  EXPECT_EQ(l.Acquire("a", 1010), 0);
  EXPECT_EQ(l.Acquire("a", 1020), 0);
  EXPECT_EQ(l.Acquire("a", 1030), 30);  // the first leaves the window at 1060
  EXPECT_EQ(l.Acquire("b", 1030), 0);   // keys count apart
  EXPECT_EQ(l.RetryAfter("a", 1059), 1);
  EXPECT_EQ(l.Acquire("a", 1060), 0);
  EXPECT_EQ(l.Acquire("a", 1061), 9);
}

TEST(WindowLimiter, ZeroMeansNoLimit) {
  WindowLimiter l(0, 60);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(l.Acquire("a", 1000), 0);
}

TEST(WindowLimiter, ReleaseGivesBackAnAcquiredEvent) {
  WindowLimiter l(2, 60);
  EXPECT_EQ(l.Acquire("a", 100), 0);
  EXPECT_EQ(l.Acquire("a", 101), 0);
  EXPECT_GT(l.Acquire("a", 102), 0);
  l.Release("a", 101);
  EXPECT_EQ(l.Acquire("a", 102), 0);
  l.Reset("a");
  EXPECT_EQ(l.RetryAfter("a", 102), 0);
}

TEST(WindowLimiter, AddCountsPastTheLimitWithoutGrowing) {
  WindowLimiter l(2, 60);
  for (int i = 0; i < 100; ++i) l.Add("a", 100 + i % 5);
  EXPECT_GT(l.RetryAfter("a", 110), 0);
  EXPECT_EQ(l.RetryAfter("a", 200), 0);
}

TEST(WindowLimiter, ConcurrentAcquiresNeverPassMoreThanTheLimit) {
  WindowLimiter l(50, 3600);
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (l.Acquire("shared", 5000) == 0) passed++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(passed.load(), 50);
}

TEST(WindowLimiter, ForgetsExpiredKeysBeforeForgettingLiveOnes) {
  WindowLimiter l(1, 60, 3);
  EXPECT_EQ(l.Acquire("old1", 0), 0);
  EXPECT_EQ(l.Acquire("old2", 0), 0);
  EXPECT_EQ(l.Acquire("live", 100), 0);
  EXPECT_EQ(l.Acquire("new", 101), 0);  // table full: the two expired keys go
  EXPECT_GT(l.Acquire("live", 102), 0);  // the live one is still counted
}

TEST(AddressRateKey, CountsIpv6PerSlash64AndIpv4PerAddress) {
  EXPECT_EQ(AddressRateKey("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(AddressRateKey("2001:db8:1:2:aaaa::1"), AddressRateKey("2001:db8:1:2:bbbb::9"));
  EXPECT_NE(AddressRateKey("2001:db8:1:2::1"), AddressRateKey("2001:db8:1:3::1"));
  EXPECT_EQ(AddressRateKey("2001:DB8:1:2::1"), "2001:db8:1:2::/64");
}

}  // namespace
}  // namespace gh
