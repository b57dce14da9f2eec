#include "core/user_agent.h"

#include <gtest/gtest.h>

namespace gh {

TEST(UserAgent, ChromeOnMac) {
  auto d = ParseUserAgent(
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36");
  EXPECT_EQ(d.device, "Mac");
  EXPECT_EQ(d.browser, "Chrome 120");
}

TEST(UserAgent, SafariOnIphone) {
  auto d = ParseUserAgent(
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) Version/17.1 Mobile/15E148 Safari/604.1");
  EXPECT_EQ(d.device, "iPhone");
  EXPECT_EQ(d.browser, "Safari 17");
}

TEST(UserAgent, EdgeIsNotChrome) {
  auto d = ParseUserAgent(
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91");
  EXPECT_EQ(d.device, "Windows PC");
  EXPECT_EQ(d.browser, "Edge 120");
}

TEST(UserAgent, FirefoxOnLinuxAndCurl) {
  EXPECT_EQ(ParseUserAgent("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")
                .browser,
            "Firefox 121");
  EXPECT_EQ(ParseUserAgent("curl/8.5.0").browser, "curl 8");
}

TEST(UserAgent, UnknownAndHostileInputs) {
  auto d = ParseUserAgent("");
  EXPECT_EQ(d.device, "Unknown device");
  EXPECT_EQ(d.browser, "Unknown browser");
  std::string huge(100000, 'A');
  EXPECT_EQ(ParseUserAgent(huge).browser, "Unknown browser");
  EXPECT_EQ(ParseUserAgent("Chrome/99999999999999999999").browser, "Chrome 999999");
}

}  // namespace gh
