// The GeoIP lookup against Debian's geoip-database (skipped when it is not installed). The
// addresses were looked up with geoiplookup / geoiplookup6 in the installed database.
#include "service/geoip.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace gh {
namespace {

std::unique_ptr<GeoIp> DebianDatabase() {
  auto g = GeoIp::Open(GeoIp::kDefaultPath);
  return g->available() ? std::move(g) : nullptr;
}

}  // namespace

TEST(GeoIp, FindsTheCountryOfIpv4AndIpv6Addresses) {
  auto g = DebianDatabase();
  if (!g) GTEST_SKIP() << "Debian's geoip-database is not installed";
  Country ro = g->Lookup("193.231.20.1");
  EXPECT_EQ(ro.code, "RO");
  EXPECT_EQ(ro.name, "Romania");
  EXPECT_EQ(g->Lookup("8.8.8.8").code, "US");
  EXPECT_EQ(g->Lookup("2a01:4f8::1").code, "DE");
  EXPECT_EQ(g->Lookup("2a02:2f0c:8000::1").code, "RO");
  // An IPv4 address written as IPv6 (a dual-stack socket's peer) is looked up as IPv4.
  EXPECT_EQ(g->Lookup("::ffff:193.231.20.1").code, "RO");
}

TEST(GeoIp, PrivateLoopbackAndMalformedAddressesAreUnknown) {
  auto g = DebianDatabase();
  if (!g) GTEST_SKIP() << "Debian's geoip-database is not installed";
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "192.168.0.1", "::1", "fd00::1", "", "1.2.3",
                         "not an ip", "2001:db8::zz"}) {
    Country c = g->Lookup(ip);
    EXPECT_EQ(c.code, "") << ip;
    EXPECT_EQ(c.name, "") << ip;
  }
}

TEST(GeoIp, OneFileCoversOnlyItsAddressFamily) {
  std::string v4 = std::string(GeoIp::kDefaultPath) + "/GeoIP.dat";
  if (!std::filesystem::exists(v4)) GTEST_SKIP() << "no " << v4;
  std::string status;
  auto g = GeoIp::Open(v4, &status);
  ASSERT_TRUE(g->available()) << status;
  EXPECT_EQ(status, "IPv4 from " + v4);
  EXPECT_EQ(g->Lookup("193.231.20.1").code, "RO");
  EXPECT_EQ(g->Lookup("2a01:4f8::1").code, "");
}

TEST(GeoIp, WithoutADatabaseEveryAddressIsUnknown) {
  std::string status;
  auto missing = GeoIp::Open("/nonexistent/geoip", &status);
  EXPECT_FALSE(missing->available());
  EXPECT_NE(status.find("no GeoIP country database"), std::string::npos) << status;
  EXPECT_EQ(missing->Lookup("193.231.20.1").code, "");
  auto off = GeoIp::Open("", &status);
  EXPECT_FALSE(off->available());
  EXPECT_EQ(off->Lookup("8.8.8.8").code, "");
}

TEST(GeoIp, CountryNamesComeFromCodes) {
  if (!DebianDatabase()) GTEST_SKIP() << "Debian's geoip-database is not installed";
  EXPECT_EQ(GeoIp::CountryName("RO"), "Romania");
  EXPECT_EQ(GeoIp::CountryName("DE"), "Germany");
  EXPECT_EQ(GeoIp::CountryName("ZZZ"), "ZZZ");
}

}  // namespace gh
