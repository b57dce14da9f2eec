#include "core/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace gh::log {
namespace {

TEST(Log, EveryValueIsEscapedSoTheLineStaysOneJsonObject) {
  // An error message quoting SQL, a newline and a control character, and an attempt to forge
  // a field: none of them may end the string or the line.
  std::string line = Line(Level::kError, "store: \"syntax\" error\nnext",
                          {{"error", "x\",\"level\":\"info"}, {"bell", "\x07"}, {"n", 42}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "store: \"syntax\" error\nnext");
  EXPECT_EQ(j["error"], "x\",\"level\":\"info");
  EXPECT_EQ(j["bell"], "\x07");
  EXPECT_EQ(j["n"], 42);
  EXPECT_EQ(j.size(), 5u);
}

TEST(Log, LevelsAreNamed) {
  EXPECT_EQ(nlohmann::json::parse(Line(Level::kInfo, "m"))["level"], "info");
  EXPECT_EQ(nlohmann::json::parse(Line(Level::kWarn, "m"))["level"], "warn");
}

}  // namespace
}  // namespace gh::log
