#include "jobs/lifecycle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gh {
namespace {

struct FakeJob {
  std::string name;
  std::vector<std::string>* log;
  void Start() { log->push_back("start " + name); }
  void Stop() { log->push_back("stop " + name); }
};

TEST(Lifecycle, StartsJobsInOrderAndStopsThemInReverseOnce) {
  std::vector<std::string> log;
  FakeJob mail{"mail", &log}, flush{"flush", &log}, refresh{"refresh", &log};
  {
    Lifecycle jobs;
    jobs.Add("mail", mail);
    jobs.Add("flush", flush);
    jobs.Add("refresh", refresh);
    EXPECT_EQ(jobs.Names(), (std::vector<std::string>{"mail", "flush", "refresh"}));
    EXPECT_TRUE(log.empty());
    jobs.StartAll();
    jobs.StopAll();
    jobs.StopAll();  // nothing left to stop
  }  // nor at destruction
  EXPECT_EQ(log, (std::vector<std::string>{"start mail", "start flush", "start refresh",
                                           "stop refresh", "stop flush", "stop mail"}));
}

TEST(Lifecycle, StopsWhatWasStartedWhenItGoesOutOfScope) {
  std::vector<std::string> log;
  FakeJob a{"a", &log}, b{"b", &log};
  {
    Lifecycle jobs;
    jobs.Add("a", a);
    jobs.Add("b", b);
    jobs.StartAll();
  }
  EXPECT_EQ(log, (std::vector<std::string>{"start a", "start b", "stop b", "stop a"}));
}

}  // namespace
}  // namespace gh
