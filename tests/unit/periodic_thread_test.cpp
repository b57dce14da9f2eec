// PeriodicThread: the first run at once or after a period, Wake() runs at once, Stop() once.
#include "jobs/periodic_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace gh {
namespace {

using std::chrono::hours;

// Waits (up to 5 s) until `runs` reaches `n`.
bool Reaches(const std::atomic<int>& runs, int n) {
  for (int i = 0; i < 500 && runs.load() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return runs.load() >= n;
}

TEST(PeriodicThread, RunsAtOnceThenOnWakeWithoutWaitingForThePeriod) {
  std::atomic<int> runs{0};
  PeriodicThread t("test", hours(1), [&] { ++runs; });
  t.Start();
  EXPECT_TRUE(Reaches(runs, 1));
  t.Wake();
  EXPECT_TRUE(Reaches(runs, 2));
  t.Wake();
  EXPECT_TRUE(Reaches(runs, 3));
  EXPECT_TRUE(t.Stop());
  EXPECT_FALSE(t.Stop());  // already stopped
  EXPECT_EQ(runs.load(), 3);
}

TEST(PeriodicThread, AfterPeriodWaitsForTheFirstPeriodOrAWake) {
  std::atomic<int> runs{0};
  PeriodicThread t("test", hours(1), [&] { ++runs; }, PeriodicThread::First::kAfterPeriod);
  t.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(runs.load(), 0);
  t.Wake();
  EXPECT_TRUE(Reaches(runs, 1));
  EXPECT_TRUE(t.Stop());
}

TEST(PeriodicThread, KeepsRunningAfterAThrowAndStopsWithoutEverStarting) {
  std::atomic<int> runs{0};
  PeriodicThread t("test", std::chrono::milliseconds(5), [&] {
    ++runs;
    throw std::runtime_error("unavailable");
  });
  t.Start();
  EXPECT_TRUE(Reaches(runs, 3));
  EXPECT_TRUE(t.Stop());

  PeriodicThread never("never", hours(1), [] {});
  EXPECT_FALSE(never.Stop());
}

}  // namespace
}  // namespace gh
