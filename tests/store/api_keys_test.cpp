// The store conformance suite (see conformance.h). API keys: revocation of an owner's keys, what
// other processes poll to follow changes, usage counters and first uses from new addresses.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "conformance.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, RevokeAllKeysOfOwnerRevokesTheirLiveKeysInEveryWorkspace) {
  Workspace w1 = AddWorkspace();
  Workspace w2 = AddWorkspace();
  User owner = AddUser();
  User other = AddUser();
  auto key = [&](const Workspace& w, const User& by, std::optional<UnixTime> revoked) {
    ApiKey k;
    k.id = NewId("key");
    k.workspace_id = w.id;
    k.owner_id = by.id;
    k.name = "k";
    k.prefix = "sk_live_abc";
    k.hash = NewId("hash");
    k.created_at = k.updated_at = kT0;
    k.revoked_at = revoked;
    InTx([&](WriteTx& tx) { tx.InsertApiKey(k); });
    return k;
  };
  ApiKey a = key(w1, owner, std::nullopt);
  ApiKey b = key(w2, owner, std::nullopt);
  ApiKey old = key(w2, owner, kT0 + 5);
  ApiKey theirs = key(w1, other, std::nullopt);
  std::vector<std::pair<std::string, std::string>> got;
  InTx([&](WriteTx& tx) { got = tx.RevokeAllKeysOfOwner(owner.id, kT0 + 90); });
  std::sort(got.begin(), got.end());
  std::vector<std::pair<std::string, std::string>> want = {{w1.id, a.id}, {w2.id, b.id}};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(store().ApiKeyById(w1.id, a.id)->revoked_at, std::optional<UnixTime>(kT0 + 90));
  EXPECT_EQ(store().ApiKeyById(w2.id, b.id)->revoked_at, std::optional<UnixTime>(kT0 + 90));
  EXPECT_EQ(store().ApiKeyById(w2.id, old.id)->revoked_at, std::optional<UnixTime>(kT0 + 5));
  EXPECT_FALSE(store().ApiKeyById(w1.id, theirs.id)->revoked_at.has_value());
}

// What other processes poll to keep their key index current.
TEST_P(StoreConformance, ChangesSinceFindKeysProjectsAndDeletedWorkspaces) {
  constexpr UnixTime kLater = kT0 + 5'000'000;  // after every other test's rows
  Workspace w = AddWorkspace();
  Workspace quiet = AddWorkspace();
  User owner = AddUser();
  auto ids_of = [](const std::vector<ApiKey>& keys) {
    std::set<std::string> ids;
    for (const auto& k : keys) ids.insert(k.id);
    return ids;
  };
  ApiKey old_key, new_key;
  for (ApiKey* k : {&old_key, &new_key}) {
    k->id = NewId("key");
    k->workspace_id = w.id;
    k->owner_id = owner.id;
    k->name = "k";
    k->prefix = "sk_live_abc";
    k->hash = NewId("hash");  // unique; its shape does not matter to the store
    k->created_at = k->updated_at = k == &old_key ? kLater : kLater + 100;
  }
  InTx([&](WriteTx& tx) {
    tx.InsertApiKey(old_key);
    tx.InsertApiKey(new_key);
  });
  auto since = ids_of(store().ApiKeysUpdatedSince(kLater + 50));
  EXPECT_FALSE(since.contains(old_key.id));
  EXPECT_TRUE(since.contains(new_key.id));

  // An edit moves updated_at; so does revocation of an owner's keys.
  old_key.name = "renamed";
  old_key.updated_at = kLater + 200;
  InTx([&](WriteTx& tx) { tx.UpdateApiKey(old_key); });
  auto edited = store().ApiKeysUpdatedSince(kLater + 150);
  ASSERT_TRUE(ids_of(edited).contains(old_key.id));
  EXPECT_FALSE(ids_of(edited).contains(new_key.id));
  InTx([&](WriteTx& tx) { tx.RevokeKeysOfOwner(w.id, owner.id, kLater + 300); });
  auto revoked = store().ApiKeysUpdatedSince(kLater + 250);
  EXPECT_EQ(ids_of(revoked), (std::set<std::string>{old_key.id, new_key.id}));
  for (const auto& k : revoked) EXPECT_EQ(k.revoked_at, kLater + 300);

  // A project's change names its workspace; a workspace without changes is not named.
  Project p;
  p.id = NewId("prj");
  p.workspace_id = w.id;
  p.name = "Changes";
  p.created_at = p.updated_at = kLater + 400;
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertProject(p).ok()); });
  auto changed = store().WorkspacesChangedSince(kLater + 350);
  EXPECT_NE(std::find(changed.begin(), changed.end(), w.id), changed.end());
  EXPECT_EQ(std::find(changed.begin(), changed.end(), quiet.id), changed.end());

  // A deleted workspace leaves a tombstone dated by the deletion.
  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(w.id, kLater + 500); });
  auto deleted = store().WorkspacesDeletedSince(kLater + 450);
  EXPECT_NE(std::find(deleted.begin(), deleted.end(), w.id), deleted.end());
  EXPECT_EQ(std::find(deleted.begin(), deleted.end(), quiet.id), deleted.end());
  auto before = store().WorkspacesDeletedSince(kLater + 501);
  EXPECT_EQ(std::find(before.begin(), before.end(), w.id), before.end());
  // The workspace's keys went with it.
  EXPECT_TRUE(ids_of(store().ApiKeysUpdatedSince(kLater + 250)).empty());
}

// Usage is written in batches by the verification flusher: counts add up per key and month,
// last_used_at only moves forward, and a key deleted meanwhile is skipped, not an error.
TEST_P(StoreConformance, RecordKeyUsageAddsCountsInBatchesAndSkipsVanishedKeys) {
  Workspace w = AddWorkspace();
  User owner = AddUser();
  std::vector<ApiKey> keys(250);
  for (auto& k : keys) {
    k.id = NewId("key");
    k.workspace_id = w.id;
    k.owner_id = owner.id;
    k.name = "usage";
    k.prefix = "sk_live_abc";
    k.hash = NewId("hash");
    k.created_at = k.updated_at = kT0;
  }
  InTx([&](WriteTx& tx) {
    for (const auto& k : keys) tx.InsertApiKey(k);
  });
  const std::string period = "2031-" + NewId("p").substr(4, 6);  // this test's own month
  std::vector<KeyUsage> batch;
  for (size_t i = 0; i < keys.size(); ++i) {
    batch.push_back({keys[i].id, kT0 + 100, period, static_cast<int64_t>(i + 1)});
  }
  batch.push_back({NewId("key"), kT0 + 100, period, 5});  // no such key
  batch.push_back({keys[0].id, 0, period, 10});           // count only
  InTx([&](WriteTx& tx) { tx.RecordKeyUsage(batch); });
  InTx([&](WriteTx& tx) { tx.RecordKeyUsage({{keys[1].id, kT0 + 50, period, 1}}); });

  std::map<std::string, int64_t> counts;
  for (const auto& [id, n] : store().KeyUsageIn(period)) counts[id] = n;
  EXPECT_EQ(counts.size(), keys.size());
  EXPECT_EQ(counts[keys[0].id], 1 + 10);
  EXPECT_EQ(counts[keys[1].id], 2 + 1);
  EXPECT_EQ(counts[keys[249].id], 250);
  EXPECT_EQ(store().ApiKeyById(w.id, keys[249].id)->last_used_at, kT0 + 100);
  // An older last use does not move it back.
  EXPECT_EQ(store().ApiKeyById(w.id, keys[1].id)->last_used_at, kT0 + 100);
}

// First uses from new addresses are written in batches: a pair recorded already (by this
// process or another) and a key deleted meanwhile are skipped, and the answer says which of
// the batch's positions were new, across the store's multi-row chunks.
TEST_P(StoreConformance, InsertKeyIpsReportsOnlyNewPairs) {
  Workspace w = AddWorkspace();
  User owner = AddUser();
  std::vector<ApiKey> keys(3);
  for (auto& k : keys) {
    k.id = NewId("key");
    k.workspace_id = w.id;
    k.owner_id = owner.id;
    k.name = "ips";
    k.prefix = "sk_live_abc";
    k.hash = NewId("hash");
    k.created_at = k.updated_at = kT0;
  }
  InTx([&](WriteTx& tx) {
    for (const auto& k : keys) tx.InsertApiKey(k);
  });
  std::vector<size_t> first;
  InTx([&](WriteTx& tx) { first = tx.InsertKeyIps({{keys[0].id, "203.0.113.1", kT0}}); });
  EXPECT_EQ(first, std::vector<size_t>{0});

  std::vector<KeyIpUse> uses;
  uses.push_back({keys[0].id, "203.0.113.1", kT0 + 1});    // 0: known already
  uses.push_back({NewId("key"), "203.0.113.2", kT0 + 1});  // 1: no such key
  for (int i = 0; i < 300; ++i) {                          // 2..301: new, over two chunks
    uses.push_back({keys[1 + i % 2].id, "2001:db8::" + std::to_string(i), kT0 + 2});
  }
  uses.push_back({keys[0].id, "203.0.113.1", kT0 + 3});  // 302: known already
  std::vector<size_t> fresh;
  InTx([&](WriteTx& tx) { fresh = tx.InsertKeyIps(uses); });
  ASSERT_EQ(fresh.size(), 300u);
  EXPECT_EQ(fresh.front(), 2u);
  EXPECT_EQ(fresh.back(), 301u);
  EXPECT_TRUE(std::is_sorted(fresh.begin(), fresh.end()));

  size_t stored = 0;
  for (const auto& [key, ip] : store().AllKeyIps("", "", 100000)) {
    if (key == keys[0].id || key == keys[1].id || key == keys[2].id) ++stored;
  }
  EXPECT_EQ(stored, 301u);
  std::vector<size_t> again;
  InTx([&](WriteTx& tx) { again = tx.InsertKeyIps(uses); });
  EXPECT_TRUE(again.empty());
}

}  // namespace
}  // namespace gh::conformance
