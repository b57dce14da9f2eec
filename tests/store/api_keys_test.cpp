// The store conformance suite (see conformance.h). API keys: revocation of an owner's keys, what
// other processes poll to follow changes, usage counters, first uses from new addresses, and
// reading keys by id, per workspace and all of them.
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

// ---------------------------------------------------------------------------------------------
// Revocation, changes other processes follow, usage and first uses

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
  InTx([&](WriteTx& tx) {
    for (const auto& k : tx.RevokeAllKeysOfOwner(owner.id, kT0 + 90)) {
      EXPECT_EQ(k.revoked_at, std::optional<UnixTime>(kT0 + 90));  // returned as written
      EXPECT_EQ(k.version, 2);
      got.emplace_back(k.workspace_id, k.id);
    }
  });
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
  // This test's keys only: a database the suite ran on before holds earlier runs' rows.
  auto ids_of = [&w](const std::vector<ApiKey>& keys) {
    std::set<std::string> ids;
    for (const auto& k : keys) {
      if (k.workspace_id == w.id) ids.insert(k.id);
    }
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
  for (const auto& k : revoked) {
    if (k.workspace_id == w.id) {
      EXPECT_EQ(k.revoked_at, kLater + 300);
    }
  }

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

// ---------------------------------------------------------------------------------------------
// Reading keys: by id, per workspace, all of them for the verification index, changes since

TEST_P(StoreConformance, ApiKeyRoundTripsEveryFieldAndIsFoundOnlyThroughItsWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User owner = AddUser();
  Project p = AddProject(w.id, "Payments");
  ApiKey full = NewKey(w.id, owner.id, kT0 + 1);
  full.project_id = p.id;
  full.environment = KeyEnvironment::kTest;
  full.name = "Deploy \"bot\" – Zürich ✓";
  full.service = "billing-worker";
  full.prefix = "sk_test_9f";
  full.allow = {"/v1/payments/*", "/v1/refunds"};
  full.deny = {"/v1/payments/admin*"};
  full.methods = {"GET", "POST"};
  full.rate_per_minute = 120;
  full.rate_per_month = 1'000'000;
  full.ip_allowlist = {"203.0.113.0/24", "2001:db8::/32"};
  full.expires_at = kT0 + 86400;
  full.previous_hash = NewId("hash");
  full.previous_expires_at = kT0 + 3600;
  full.updated_at = kT0 + 2;
  full.last_used_at = kT0 + 3;
  ApiKey publishable = NewKey(w.id, owner.id, kT0 + 2);
  publishable.type = KeyType::kPublishable;
  publishable.prefix = "pk_live_";
  publishable.publishable_key = "pk_live_" + NewId("x").substr(2);
  publishable.revoked_at = kT0 + 9;
  ApiKey theirs = NewKey(other.id, owner.id, kT0 + 3);
  for (const ApiKey* k : {&full, &publishable, &theirs}) AddKey(*k);

  for (const ApiKey* k : {&full, &publishable}) {
    auto got = store().ApiKeyById(w.id, k->id);
    ASSERT_TRUE(got.has_value()) << k->name;
    EXPECT_EQ(Fields(*got), Fields(*k));
  }
  EXPECT_EQ(Fields(*store().ApiKeyById(other.id, theirs.id)), Fields(theirs));

  // Scoped to the workspace: a key is not found through another one, either way.
  EXPECT_FALSE(store().ApiKeyById(other.id, full.id).has_value());
  EXPECT_FALSE(store().ApiKeyById(w.id, theirs.id).has_value());
  EXPECT_FALSE(store().ApiKeyById(NewId("ws"), full.id).has_value());
  EXPECT_FALSE(store().ApiKeyById(w.id, NewId("key")).has_value());
  EXPECT_FALSE(store().ApiKeyById(w.id, "").has_value());
}

TEST_P(StoreConformance, UpdateApiKeyWritesTheMutableColumnsAndKeepsTheOthers) {
  Workspace w = AddWorkspace();
  User owner = AddUser();
  Project p = AddProject(w.id, "Payments");
  ApiKey k = NewKey(w.id, owner.id, kT0 + 1);
  k.project_id = p.id;
  k.allow = {"/v1/*"};
  k.rate_per_minute = 60;
  k.expires_at = kT0 + 1000;
  ApiKey bystander = AddKey(NewKey(w.id, owner.id, kT0 + 2));
  AddKey(k);
  InTx([&](WriteTx& tx) { tx.RecordKeyUsage({{k.id, kT0 + 5, "2031-01", 1}}); });
  k.last_used_at = kT0 + 5;

  // A rotation: new secret, the old one kept for a grace period, new rules and name.
  ApiKey rotated = k;
  rotated.name = "Rotated";
  rotated.service = "worker-2";
  rotated.prefix = "sk_live_new";
  rotated.previous_hash = k.hash;
  rotated.previous_expires_at = kT0 + 600;
  rotated.hash = NewId("hash");
  rotated.allow = {};
  rotated.deny = {"/v1/admin*"};
  rotated.methods = {"DELETE"};
  rotated.rate_per_minute = std::nullopt;
  rotated.rate_per_month = 10;
  rotated.ip_allowlist = {"198.51.100.7/32"};
  rotated.expires_at = std::nullopt;
  rotated.publishable_key = "";
  rotated.updated_at = kT0 + 100;
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UpdateApiKey(rotated)); });
  EXPECT_EQ(rotated.version, 2);  // every write moves the version, which orders index updates
  EXPECT_EQ(Fields(*store().ApiKeyById(w.id, k.id)), Fields(rotated));
  EXPECT_EQ(store().ApiKeyById(w.id, k.id)->version, 2);

  // Immutable columns are not written: scope, type, environment, owner, creation, last use.
  ApiKey sneaky = rotated;
  sneaky.project_id = "";
  sneaky.type = KeyType::kPublishable;
  sneaky.environment = KeyEnvironment::kTest;
  sneaky.owner_id = NewId("usr");
  sneaky.created_at = kT0 + 500;
  sneaky.last_used_at = std::nullopt;
  sneaky.revoked_at = kT0 + 200;
  sneaky.updated_at = kT0 + 200;
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UpdateApiKey(sneaky)); });
  EXPECT_EQ(sneaky.version, 3);
  ApiKey gone = NewKey(w.id, owner.id, kT0 + 3);
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.UpdateApiKey(gone)); });
  ApiKey want = rotated;
  want.revoked_at = kT0 + 200;
  want.updated_at = kT0 + 200;
  EXPECT_EQ(Fields(*store().ApiKeyById(w.id, k.id)), Fields(want));
  EXPECT_EQ(Fields(*store().ApiKeyById(w.id, bystander.id)), Fields(bystander));
}

// The key's type and environment are enums in the program and their API names in the store,
// as before the enums: rows of earlier versions read the same. A name no version wrote is
// refused.
TEST_P(StoreConformance, ApiKeyTypeAndEnvironmentAreStoredAsTheirNames) {
  Workspace w = AddWorkspace();
  User owner = AddUser();
  ApiKey k = NewKey(w.id, owner.id, kT0 + 1);
  k.type = KeyType::kPublishable;
  k.environment = KeyEnvironment::kTest;
  AddKey(k);
  std::string where = " WHERE id='" + k.id + "'";
  ASSERT_TRUE(RawSql(url(), "UPDATE api_keys SET name='as text'" + where +
                                " AND type='publishable' AND environment='test'"));
  EXPECT_EQ(store().ApiKeyById(w.id, k.id)->name, "as text");

  ASSERT_TRUE(RawSql(url(), "UPDATE api_keys SET type='admin'" + where));
  EXPECT_THROW(store().ApiKeyById(w.id, k.id), StoreError);
  ASSERT_TRUE(RawSql(url(), "UPDATE api_keys SET type='secret', environment='staging'" + where));
  EXPECT_THROW(store().ApiKeyById(w.id, k.id), StoreError);
  ASSERT_TRUE(RawSql(url(), "UPDATE api_keys SET environment='live'" + where));  // for others
  auto restored = store().ApiKeyById(w.id, k.id);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->type, KeyType::kSecret);
  EXPECT_EQ(restored->environment, KeyEnvironment::kLive);
}

TEST_P(StoreConformance, ApiKeysListTheWorkspacesKeysOldestFirst) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User owner = AddUser();
  ApiKey mid = NewKey(w.id, owner.id, kT0 + 20);
  ApiKey oldest = NewKey(w.id, owner.id, kT0 + 10);
  ApiKey newest = NewKey(w.id, owner.id, kT0 + 30);
  newest.revoked_at = kT0 + 40;
  newest.updated_at = kT0 + 40;
  ApiKey abroad = NewKey(other.id, owner.id, kT0 + 5);
  // Inserted in an order that is neither by creation nor reversed.
  for (const ApiKey* k : {&mid, &newest, &abroad, &oldest}) AddKey(*k);

  auto keys = store().ApiKeys(w.id);
  ASSERT_EQ(IdsOf(keys), (std::vector<std::string>{oldest.id, mid.id, newest.id}));
  EXPECT_EQ(Fields(keys[0]), Fields(oldest));
  EXPECT_EQ(Fields(keys[1]), Fields(mid));
  EXPECT_EQ(Fields(keys[2]), Fields(newest)) << "revoked keys are listed too";
  EXPECT_EQ(IdsOf(store().ApiKeys(other.id)), std::vector<std::string>{abroad.id});
  EXPECT_TRUE(store().ApiKeys(AddWorkspace().id).empty());
  EXPECT_TRUE(store().ApiKeys(NewId("ws")).empty());

  // An edit does not reorder them: creation does.
  mid.name = "renamed";
  mid.updated_at = kT0 + 100;
  InTx([&](WriteTx& tx) { tx.UpdateApiKey(mid); });
  EXPECT_EQ(IdsOf(store().ApiKeys(w.id)), (std::vector<std::string>{oldest.id, mid.id, newest.id}));
}

// The verification index loads every key, a page at a time. The keys' ids share a random
// stem and differ in their last digit: every collation orders them alike, and no other test's
// key falls between them.
TEST_P(StoreConformance, AllApiKeysPagesThroughEveryKeyOfEveryWorkspaceById) {
  Workspace w1 = AddWorkspace();
  Workspace w2 = AddWorkspace();
  User owner = AddUser();
  std::string stem = NewId("key");
  stem.pop_back();
  std::vector<ApiKey> mine;
  for (int i = 0; i < 10; ++i) {
    ApiKey k = NewKey(i % 2 ? w2.id : w1.id, owner.id, kT0 + 10 - i);
    k.id = stem + std::to_string(i);
    if (i == 3) k.revoked_at = kT0 + 50;
    if (i == 6) k.expires_at = kT0 - 1;
    mine.push_back(k);
  }
  for (int i : {7, 2, 9, 0, 5, 3, 8, 1, 6, 4}) AddKey(mine[i]);

  // Pages of 3 from the stem (which sorts before its keys), across both workspaces, revoked
  // and expired keys included.
  std::vector<ApiKey> got;
  std::string after = stem;
  for (int pages = 0; got.size() < mine.size() && pages < 10; ++pages) {
    auto page = store().AllApiKeys(after, 3);
    ASSERT_FALSE(page.empty()) << "after " << after;
    ASSERT_LE(page.size(), 3u);
    if (got.size() + 3 <= mine.size()) {
      EXPECT_EQ(page.size(), 3u) << "a short page too early";
    }
    for (const auto& k : page) {
      if (got.size() < mine.size()) got.push_back(k);
    }
    after = page.back().id;
  }
  ASSERT_EQ(IdsOf(got), IdsOf(mine));
  for (size_t i = 0; i < mine.size(); ++i) EXPECT_EQ(Fields(got[i]), Fields(mine[i])) << i;
  EXPECT_EQ(IdsOf(store().AllApiKeys(mine[3].id, 2)),
            (std::vector<std::string>{mine[4].id, mine[5].id}))
      << "after_id excludes that key";

  // Paging the whole store from the start meets each key once, and ours among them.
  std::set<std::string> seen;
  std::vector<std::string> duplicates;
  after = "";
  for (int pages = 0; pages < 100'000; ++pages) {
    auto page = store().AllApiKeys(after, 50);
    for (const auto& k : page) {
      if (!seen.insert(k.id).second) duplicates.push_back(k.id);
    }
    if (page.size() < 50) break;
    after = page.back().id;
  }
  EXPECT_TRUE(duplicates.empty()) << duplicates.size() << " keys seen twice";
  for (const auto& k : mine) EXPECT_TRUE(seen.contains(k.id)) << k.id;
}

// Other processes poll ApiKeysUpdatedSince to follow key changes ("at or after `since`").
TEST_P(StoreConformance, ApiKeysUpdatedSinceFindsKeysChangedAtOrAfterTheTime) {
  // Apart from other tests' keys (kT0 + small offsets, and kT0 + 5'000'000 for
  // ChangesSinceFindKeysProjectsAndDeletedWorkspaces, which expects none after that).
  constexpr UnixTime kBase = kT0 + 3'000'000;
  Workspace w1 = AddWorkspace();
  Workspace w2 = AddWorkspace();
  User owner = AddUser();
  ApiKey before = AddKey(NewKey(w1.id, owner.id, kBase - 1));
  ApiKey at = AddKey(NewKey(w2.id, owner.id, kBase));
  ApiKey after = NewKey(w1.id, owner.id, kBase - 100);
  after.revoked_at = kBase + 1;
  after.updated_at = kBase + 1;
  AddKey(after);
  // The keys of these two workspaces among the answer.
  auto mine = [&](UnixTime since) {
    std::map<std::string, ApiKey> out;
    for (const auto& k : store().ApiKeysUpdatedSince(since)) {
      if (k.workspace_id == w1.id || k.workspace_id == w2.id) out[k.id] = k;
    }
    return out;
  };
  auto ids = [](const std::map<std::string, ApiKey>& keys) {
    std::set<std::string> out;
    for (const auto& [id, k] : keys) out.insert(id);
    return out;
  };

  EXPECT_EQ(ids(mine(kBase - 1)), (std::set<std::string>{before.id, at.id, after.id}));
  EXPECT_EQ(ids(mine(kBase)), (std::set<std::string>{at.id, after.id})) << "since is inclusive";
  auto latest = mine(kBase + 1);
  ASSERT_EQ(ids(latest), std::set<std::string>{after.id});
  EXPECT_EQ(Fields(latest[after.id]), Fields(after)) << "revoked keys are reported whole";
  EXPECT_TRUE(mine(kBase + 2).empty());

  // An edit brings a key back, with its new fields.
  before.name = "renamed";
  before.updated_at = kBase + 10;
  InTx([&](WriteTx& tx) { tx.UpdateApiKey(before); });
  auto edited = mine(kBase + 2);
  ASSERT_EQ(ids(edited), std::set<std::string>{before.id});
  EXPECT_EQ(Fields(edited[before.id]), Fields(before));
}

}  // namespace
}  // namespace gh::conformance
