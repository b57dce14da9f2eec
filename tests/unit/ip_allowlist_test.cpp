#include "service/ip_allowlist.h"

#include <gtest/gtest.h>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/key_format.h"
#include "service/key_index.h"
#include "service/presets.h"

namespace gh {
namespace {

using Entries = std::vector<IpAllowlistInput::Entry>;

TEST(IpAllowlist, EntriesComeOutCanonicalWithTrimmedLabels) {
  auto v = ValidateIpAllowlist(
      {{"203.0.113.0/24", " Office "}, {"198.51.100.42", "VPN"}, {"2001:DB8::/32", ""}});
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 3u);
  EXPECT_EQ((*v)[0], (IpAllowEntry{"203.0.113.0/24", "Office"}));
  EXPECT_EQ((*v)[1], (IpAllowEntry{"198.51.100.42/32", "VPN"}));
  EXPECT_EQ((*v)[2], (IpAllowEntry{"2001:db8::/32", ""}));
}

TEST(IpAllowlist, ErrorsNameTheEntryAtFault) {
  auto bad_cidr = ValidateIpAllowlist({{"10.0.0.0/8", ""}, {"10.0.0.0/8x", ""}});
  ASSERT_FALSE(bad_cidr.ok());
  EXPECT_EQ(bad_cidr.error().code, "invalid_cidr");
  EXPECT_EQ(bad_cidr.error().field, "entries[1].cidr");

  auto host_bits = ValidateIpAllowlist({{"203.0.113.5/24", ""}});
  ASSERT_FALSE(host_bits.ok());
  EXPECT_EQ(host_bits.error().field, "entries[0].cidr");

  auto long_label = ValidateIpAllowlist({{"10.0.0.0/8", std::string(65, 'x')}});
  ASSERT_FALSE(long_label.ok());
  EXPECT_EQ(long_label.error().code, "invalid_label");
  EXPECT_EQ(long_label.error().field, "entries[0].label");
  // 64 characters (code points, not bytes) are fine.
  std::string umlauts;
  for (int i = 0; i < 64; ++i) umlauts += "\xc3\xbc";
  EXPECT_TRUE(ValidateIpAllowlist({{"10.0.0.0/8", umlauts}}).ok());

  auto control = ValidateIpAllowlist({{"10.0.0.0/8", "a\nb"}});
  ASSERT_FALSE(control.ok());
  EXPECT_EQ(control.error().field, "entries[0].label");
}

TEST(IpAllowlist, TheSameRangeTwiceIsRefusedEvenWrittenDifferently) {
  auto dup =
      ValidateIpAllowlist({{"2001:db8::/32", "a"}, {"10.0.0.1", "b"}, {"2001:DB8:0::/32", "c"}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "duplicate_entry");
  EXPECT_EQ(dup.error().field, "entries[2].cidr");
}

TEST(IpAllowlist, AtMostOneHundredEntries) {
  Entries many;
  for (int i = 0; i < 101; ++i) many.push_back({"10.0." + std::to_string(i) + ".0/24", ""});
  auto v = ValidateIpAllowlist(many);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "too_many_entries");
  many.pop_back();
  EXPECT_TRUE(ValidateIpAllowlist(many).ok());
}

TEST(IpAllowlist, OnlyAnEnabledListRestricts) {
  Workspace w;
  w.ip_allowlist = {{"203.0.113.0/24", ""}, {"2001:db8::/32", ""}};
  EXPECT_TRUE(IpAllowedIn(w, "198.51.100.1"));
  w.ip_allowlist_enabled = true;
  EXPECT_TRUE(IpAllowedIn(w, "203.0.113.9"));
  EXPECT_TRUE(IpAllowedIn(w, "2001:db8::5"));
  EXPECT_FALSE(IpAllowedIn(w, "198.51.100.1"));
  EXPECT_FALSE(IpAllowedIn(w, ""));
  EXPECT_FALSE(IpAllowedIn(w, "not an address"));
}

TEST(KeyIndexWorkspaceAllowlist, VerifyRefusesAddressesOutsideTheWorkspaceList) {
  Catalogue catalogue = LoadCatalogue("four-role").value();
  KeyIndex index(catalogue);
  ApiKey k;
  k.id = NewId("key");
  k.workspace_id = "ws_test";
  k.owner_id = "usr_test";
  std::string secret = NewApiKey(KeyType::kSecret, KeyEnvironment::kLive);
  k.hash = crypto::Sha256Hex(secret);
  Workspace w;
  w.id = "ws_test";
  w.ip_allowlist = {{"203.0.113.0/24", "Office"}};
  int64_t now_us = 1'790'000'000'000'000;
  auto verify = [&](const char* ip) {
    return ToString(index.Verify({secret, "/v1/chat", "POST", ip}, now_us++).code);
  };
  index.Put(k, std::nullopt, KeyWorkspace::Of(w));  // list off
  EXPECT_EQ(verify("198.51.100.1"), "VALID");
  w.ip_allowlist_enabled = true;
  index.Put(k, std::nullopt, KeyWorkspace::Of(w));
  EXPECT_EQ(verify("198.51.100.1"), "IP_NOT_ALLOWED");
  EXPECT_EQ(verify(""), "IP_NOT_ALLOWED");
  EXPECT_EQ(verify("203.0.113.7"), "VALID");
  // A refresh that read the workspace before a local change leaves the newer state alone.
  uint64_t before = index.Generation();
  w.ip_allowlist_enabled = false;
  index.Put(k, std::nullopt, KeyWorkspace::Of(w));
  Workspace stale = w;
  stale.ip_allowlist_enabled = true;
  index.PutIfUnchangedSince(k, std::nullopt, KeyWorkspace::Of(stale), before);
  EXPECT_EQ(verify("198.51.100.1"), "VALID");
  // A refresh that saw another process turn the list on applies it.
  index.PutIfUnchangedSince(k, std::nullopt, KeyWorkspace::Of(stale), index.Generation());
  EXPECT_EQ(verify("198.51.100.1"), "IP_NOT_ALLOWED");
}

}  // namespace
}  // namespace gh
