// The bookkeeping thread: runs its flush periodically at idle priority and, when stopped, once
// more with everything = true.
#include "jobs/bookkeeper.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gh {

TEST(Bookkeeper, FlushesPeriodicallyAtIdlePriorityAndEverythingAtStop) {
  std::mutex mu;
  std::vector<bool> calls;   // everything, per call
  std::vector<int> policies;  // the calling thread's scheduling policy, per call
  std::vector<pid_t> tids;
  Bookkeeper b(
      [&](bool everything) {
        std::lock_guard lock(mu);
        calls.push_back(everything);
        policies.push_back(sched_getscheduler(0));  // 0: the calling thread
        tids.push_back(gettid());
      },
      std::chrono::milliseconds(20));
  b.Start();
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mu);
      if (calls.size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  b.Stop();
  std::lock_guard lock(mu);
  ASSERT_GE(calls.size(), 4u);
  for (size_t i = 0; i + 1 < calls.size(); ++i) {
    EXPECT_FALSE(calls[i]) << i;
    EXPECT_EQ(policies[i], SCHED_IDLE) << i;  // the periodic runs: the bookkeeping thread
    EXPECT_NE(tids[i], gettid()) << i;
  }
  EXPECT_TRUE(calls.back());                // the last one: everything, on the stopping thread
  EXPECT_EQ(tids.back(), gettid());
  EXPECT_EQ(policies.back(), SCHED_OTHER);  // the caller's own policy is untouched

  size_t n = calls.size();
  b.Stop();  // a second Stop does nothing
  EXPECT_EQ(calls.size(), n);
}

TEST(Bookkeeper, AFlushThatThrowsDoesNotStopTheNextOnes) {
  std::atomic<int> runs{0};
  Bookkeeper b(
      [&](bool) {
        ++runs;
        throw std::runtime_error("store unavailable");
      },
      std::chrono::milliseconds(10));
  b.Start();
  for (int i = 0; i < 500 && runs < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  b.Stop();
  EXPECT_GE(runs.load(), 4);
}

}  // namespace gh
