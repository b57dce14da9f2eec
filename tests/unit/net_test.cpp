#include "core/net.h"

#include <gtest/gtest.h>

namespace gh {
namespace {

std::vector<Cidr> Ranges(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* t : texts) out.push_back(*ParseCidr(t));
  return out;
}

TEST(Cidr, BareAddressesAreSingleHostRanges) {
  EXPECT_EQ(ParseCidr("198.51.100.42")->text, "198.51.100.42/32");
  EXPECT_EQ(ParseCidr("2001:db8::1")->text, "2001:db8::1/128");
}

TEST(Cidr, TextIsCanonical) {
  EXPECT_EQ(ParseCidr("2001:DB8:0:0::/32")->text, "2001:db8::/32");
  EXPECT_EQ(ParseCidr("2001:0db8:0000:0000:0000:0000:0000:0001")->text, "2001:db8::1/128");
  EXPECT_EQ(ParseCidr("::ffff:192.0.2.0/24")->text, "192.0.2.0/24");  // IPv4-mapped is IPv4
  EXPECT_EQ(ParseCidr("203.0.113.0/24")->text, "203.0.113.0/24");
  EXPECT_EQ(ParseCidr("0.0.0.0/0")->text, "0.0.0.0/0");
  EXPECT_EQ(ParseCidr("::/0")->text, "::/0");
}

TEST(Cidr, HostBitsBelowThePrefixAreRefused) {
  EXPECT_FALSE(ParseCidr("203.0.113.5/24"));
  EXPECT_FALSE(ParseCidr("10.0.0.1/8"));
  EXPECT_FALSE(ParseCidr("2001:db8::1/32"));
  EXPECT_TRUE(ParseCidr("203.0.113.0/24"));
}

TEST(Cidr, MalformedRangesAreRefused) {
  for (const char* bad :
       {"", "/24", "10.0.0.0/", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/2 4",
        "example.com", "300.1.1.1", "10.0.0.0/24/8", " 10.0.0.0/8", "10.0.0.0/0008"}) {
    EXPECT_FALSE(ParseCidr(bad)) << bad;
  }
}

TEST(Cidr, ContainsMatchesTheFamilyAndPrefix) {
  auto v4 = *ParseCidr("203.0.113.0/24");
  EXPECT_TRUE(v4.Contains(*ParseIp("203.0.113.255")));
  EXPECT_TRUE(v4.Contains(*ParseIp("::ffff:203.0.113.9")));
  EXPECT_FALSE(v4.Contains(*ParseIp("203.0.114.0")));
  auto v6 = *ParseCidr("2001:db8::/32");
  EXPECT_TRUE(v6.Contains(*ParseIp("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.Contains(*ParseIp("2001:db9::1")));
  EXPECT_FALSE(v6.Contains(*ParseIp("203.0.113.1")));
}

TEST(ClientAddress, WithoutTrustedProxiesThePeerIsTheClient) {
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.7"}, {}), "127.0.0.1");
}

TEST(ClientAddress, AnUntrustedPeerIsTheClientWhateverItForwards) {
  EXPECT_EQ(ClientAddress("198.51.100.1", {"203.0.113.7"}, Ranges({"10.0.0.0/8"})), "198.51.100.1");
}

TEST(ClientAddress, ATrustedPeerWithoutTheHeaderIsTheClient) {
  EXPECT_EQ(ClientAddress("10.0.0.2", {}, Ranges({"10.0.0.0/8"})), "10.0.0.2");
}

TEST(ClientAddress, TheRightMostUntrustedEntryWins) {
  auto trusted = Ranges({"10.0.0.0/8", "127.0.0.1"});
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.7"}, trusted), "203.0.113.7");
  // The client sent "1.2.3.4" itself; our proxies appended the real address and each other.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"1.2.3.4, 203.0.113.7, 10.0.0.5"}, trusted), "203.0.113.7");
  // Several headers count as one list, in order.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"1.2.3.4", "203.0.113.7", "10.0.0.5"}, trusted),
            "203.0.113.7");
}

TEST(ClientAddress, WhenEveryEntryIsTrustedTheLeftMostIsTheClient) {
  auto trusted = Ranges({"10.0.0.0/8"});
  EXPECT_EQ(ClientAddress("10.0.0.1", {"10.1.1.1, 10.2.2.2"}, trusted), "10.1.1.1");
}

TEST(ClientAddress, AMalformedEntryReachedByTheWalkMeansThePeer) {
  auto trusted = Ranges({"127.0.0.1"});
  for (const char* bad : {"unknown", "", " , ", "203.0.113.7:443", "203.0.113.7 10.0.0.1",
                          "1.2.3.4, garbage", "1.2.3.4,"}) {
    EXPECT_EQ(ClientAddress("127.0.0.1", {bad}, trusted), "127.0.0.1") << bad;
  }
  // Past the client, what the client itself wrote is not looked at.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"garbage, 203.0.113.7"}, trusted), "203.0.113.7");
}

TEST(ClientAddress, AddressesComeOutCanonical) {
  auto trusted = Ranges({"::1", "127.0.0.1"});
  EXPECT_EQ(ClientAddress("::1", {" 2001:DB8::0001 "}, trusted), "2001:db8::1");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"::ffff:203.0.113.7"}, trusted), "203.0.113.7");
}

}  // namespace
}  // namespace gh
