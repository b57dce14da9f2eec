#include "service/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace gh {

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Config, DefaultsAreValid) {
  auto c = LoadConfig("", false);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen, "127.0.0.1:8080");
  EXPECT_EQ(c->db, "sqlite:./data/gatehouse.db");
  EXPECT_EQ(c->PublicUrl(), "http://127.0.0.1:8080");
  EXPECT_TRUE(ValidateConfig(*c).ok());
}

TEST(Config, FileThenEnvironment) {
  std::string path = WriteFile("gh1.toml",
                               "listen = \"0.0.0.0:9000\"\n"
                               "db = \"sqlite:/tmp/x.db\"\n"
                               "[session]\nidle_days = 7\n"
                               "[[plans]]\nid = \"solo\"\nmember_limit = 1\n");
  ::setenv("GATEHOUSE_DB", "postgres://u@h/db", 1);
  auto c = LoadConfig(path, true);
  ::unsetenv("GATEHOUSE_DB");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen, "0.0.0.0:9000");
  EXPECT_EQ(c->db, "postgres://u@h/db");  // the environment beats the file
  EXPECT_EQ(c->session_idle_days, 7);
  ASSERT_EQ(c->plans.size(), 1u);
  EXPECT_EQ(c->plans[0].member_limit, 1);
  EXPECT_FALSE(ValidateConfig(*c).ok());  // default plan "pro" no longer exists
}

TEST(Config, GeoIpDatabaseDefaultsToDebiansPathAndReadsFileThenEnvironment) {
  auto d = LoadConfig("", false);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->geoip_db, "/usr/share/GeoIP");
  std::string path = WriteFile("gh-geoip.toml", "geoip_db = \"/srv/geo/GeoIP.dat\"\n");
  auto f = LoadConfig(path, false);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->geoip_db, "/srv/geo/GeoIP.dat");
  ::setenv("GATEHOUSE_GEOIP_DB", "off", 1);
  auto e = LoadConfig(path, true);
  ::unsetenv("GATEHOUSE_GEOIP_DB");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->geoip_db, "off");
}

TEST(Config, ErrorsNameTheLine) {
  auto c = LoadConfig(WriteFile("gh2.toml", "listen = \"a\"\nthreads = \"many\"\n"), false);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(":2:"), std::string::npos) << c.error().message;
  auto d = LoadConfig(WriteFile("gh3.toml", "\n\nlisten = [oops\n"), false);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find(":3"), std::string::npos) << d.error().message;
  auto e = LoadConfig(WriteFile("gh4.toml", "lisen = \"x\"\n"), false);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("unknown key 'lisen'"), std::string::npos);
}

TEST(Config, TrustedProxiesFromFileThenEnvironment) {
  EXPECT_TRUE(LoadConfig("", false)->trusted_proxies.empty());  // none by default
  std::string path =
      WriteFile("gh_proxies.toml", "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n");
  auto c = LoadConfig(path, false);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  ASSERT_TRUE(ValidateConfig(*c).ok());
  EXPECT_EQ(c->TrustedProxyRanges().size(), 2u);
  ::setenv("GATEHOUSE_TRUSTED_PROXIES", " 192.0.2.0/24 ,127.0.0.1,", 1);
  auto e = LoadConfig(path, true);
  ::unsetenv("GATEHOUSE_TRUSTED_PROXIES");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->trusted_proxies, (std::vector<std::string>{"192.0.2.0/24", "127.0.0.1"}));
  Config bad;
  bad.trusted_proxies = {"10.0.0.1/8"};
  ASSERT_FALSE(ValidateConfig(bad).ok());
  EXPECT_NE(ValidateConfig(bad).error().message.find("trusted_proxies"), std::string::npos);
  auto wrong_type =
      LoadConfig(WriteFile("gh_proxies2.toml", "trusted_proxies = \"10.0.0.0/8\"\n"), false);
  EXPECT_FALSE(wrong_type.ok());
}

TEST(Config, DescribeMasksPasswords) {
  Config c;
  c.db = "postgres://gate:s3cret@db.internal:5432/gh";
  std::string d = c.Describe();
  EXPECT_EQ(d.find("s3cret"), std::string::npos);
  EXPECT_NE(d.find("postgres://gate:***@db.internal:5432/gh"), std::string::npos);
}

}  // namespace gh
