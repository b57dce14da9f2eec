// The store conformance suite (see conformance.h). Store::Write, the unit of work: reads inside
// the transaction, commit or rollback by the callback's result, lost races run again,
// after-commit callbacks; the locking reads and the key writes that return what they wrote;
// and the workspace lock holding an invariant between two stores racing for real.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "conformance.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, WriteCommitsASuccessfulResultAndThenRunsItsCallbacks) {
  Workspace w = NewWorkspace();
  std::vector<std::string> seen;
  auto r = store().Write([&](WriteTx& tx) -> Result<std::string> {
    tx.InsertWorkspace(w);
    // The transaction reads its own writes; the rest of the store does not see them yet.
    EXPECT_TRUE(tx.WorkspaceById(w.id).has_value());
    tx.AfterCommit([&] {
      seen.push_back(store().WorkspaceById(w.id) ? "first: committed" : "first: not yet");
    });
    tx.AfterCommit([&] { seen.push_back("second"); });
    EXPECT_TRUE(seen.empty());
    return w.id;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, w.id);
  EXPECT_EQ(seen, (std::vector<std::string>{"first: committed", "second"}));
  EXPECT_TRUE(store().WorkspaceById(w.id).has_value());
}

TEST_P(StoreConformance, WriteRollsBackAnErrorResultAndSkipsItsCallbacks) {
  Workspace w = NewWorkspace();
  bool called = false;
  Status st = store().Write([&](WriteTx& tx) -> Status {
    tx.InsertWorkspace(w);
    tx.AfterCommit([&] { called = true; });
    return Error::Conflict("no", "Changed my mind.");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "no");
  EXPECT_FALSE(called);
  EXPECT_FALSE(store().WorkspaceById(w.id).has_value());
}

TEST_P(StoreConformance, WriteRollsBackWhenTheCallbackThrows) {
  Workspace w = NewWorkspace();
  bool called = false;
  EXPECT_THROW(store().Write([&](WriteTx& tx) {
    tx.InsertWorkspace(w);
    tx.AfterCommit([&] { called = true; });
    throw std::runtime_error("bug");
  }),
               std::runtime_error);
  EXPECT_FALSE(called);
  EXPECT_FALSE(store().WorkspaceById(w.id).has_value());
  // The store is usable afterwards (the connection went back rolled back).
  EXPECT_TRUE(store().Write([&](WriteTx& tx) { tx.InsertWorkspace(w); return true; }));
  EXPECT_TRUE(store().WorkspaceById(w.id).has_value());
}

TEST_P(StoreConformance, WriteRunsALostRaceAgainWithOnlyTheLastAttemptsCallbacks) {
  Workspace w = NewWorkspace();
  int attempts = 0;
  std::vector<int> callbacks;
  int n = store().Write([&](WriteTx& tx) {
    ++attempts;
    tx.InsertWorkspace(w);  // the failed attempt's row must not survive: no unique violation
    int mine = attempts;
    tx.AfterCommit([&callbacks, mine] { callbacks.push_back(mine); });
    if (attempts < 3) throw RetryableStoreError("simulated serialization failure");
    return attempts;
  });
  EXPECT_EQ(n, 3);
  EXPECT_EQ(callbacks, std::vector<int>{3});
  EXPECT_TRUE(store().WorkspaceById(w.id).has_value());
}

TEST_P(StoreConformance, WriteGivesUpAfterItsAttempts) {
  int attempts = 0;
  EXPECT_THROW(store().Write([&](WriteTx&) {
    ++attempts;
    throw RetryableStoreError("always losing");
  }),
               RetryableStoreError);
  EXPECT_EQ(attempts, Store::kWriteAttempts);
}

TEST_P(StoreConformance, LockingReadsReturnTheCommittedRowOfTheirWorkspaceOnly) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User u = AddUser();
  ApiKey k = AddKey(NewKey(w.id, u.id, kT0 + 1));
  Invitation inv = AddInvitation(w.id, NewEmail(), kT0, kT0 + 7 * 86400);
  store().Write([&](WriteTx& tx) {
    ASSERT_TRUE(tx.LockWorkspace(w.id).has_value());
    EXPECT_EQ(Fields(*tx.LockWorkspace(w.id)), Fields(w));
    EXPECT_FALSE(tx.LockWorkspace(NewId("ws")).has_value());
    ASSERT_TRUE(tx.LockApiKey(w.id, k.id).has_value());
    EXPECT_EQ(Fields(*tx.LockApiKey(w.id, k.id)), Fields(k));
    EXPECT_EQ(tx.LockApiKey(w.id, k.id)->version, 1);
    EXPECT_FALSE(tx.LockApiKey(other.id, k.id).has_value());
    ASSERT_TRUE(tx.LockUser(u.id).has_value());
    EXPECT_EQ(Fields(*tx.LockUser(u.id)), Fields(u));
    EXPECT_FALSE(tx.LockUser(NewId("usr")).has_value());
    ASSERT_TRUE(tx.LockInvitation(w.id, inv.id).has_value());
    EXPECT_EQ(Fields(*tx.LockInvitation(w.id, inv.id)), Fields(inv));
    EXPECT_FALSE(tx.LockInvitation(other.id, inv.id).has_value());
  });
}

TEST_P(StoreConformance, RevokingAndReOwningAMembersKeysReturnThemAsWritten) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User leaver = AddUser();
  User heir = AddUser();
  ApiKey a = AddKey(NewKey(w.id, leaver.id, kT0 + 1));
  ApiKey b = AddKey(NewKey(w.id, leaver.id, kT0 + 2));
  ApiKey dead = NewKey(w.id, leaver.id, kT0 + 3);
  dead.revoked_at = kT0 + 4;
  AddKey(dead);
  ApiKey abroad = AddKey(NewKey(other.id, leaver.id, kT0 + 5));

  std::vector<ApiKey> moved;
  store().Write([&](WriteTx& tx) { moved = tx.TransferKeysOfOwner(w.id, leaver.id, heir.id, kT0 + 50); });
  ASSERT_EQ(IdsOf(moved).size(), 2u);
  for (const auto& k : moved) {
    EXPECT_EQ(k.owner_id, heir.id);
    EXPECT_EQ(k.updated_at, kT0 + 50);
    EXPECT_EQ(k.version, 2);
    EXPECT_FALSE(k.revoked_at.has_value());
  }
  EXPECT_EQ(store().ApiKeyById(w.id, a.id)->owner_id, heir.id);
  EXPECT_EQ(store().ApiKeyById(w.id, dead.id)->owner_id, leaver.id);  // revoked keys stay put
  EXPECT_EQ(store().ApiKeyById(other.id, abroad.id)->owner_id, leaver.id);

  std::vector<ApiKey> revoked;
  store().Write([&](WriteTx& tx) { revoked = tx.RevokeKeysOfOwner(w.id, heir.id, kT0 + 60); });
  ASSERT_EQ(revoked.size(), 2u);
  for (const auto& k : revoked) {
    EXPECT_EQ(k.revoked_at, std::optional<UnixTime>(kT0 + 60));
    EXPECT_EQ(k.version, 3);
  }
  EXPECT_EQ(store().ApiKeyById(w.id, b.id)->revoked_at, std::optional<UnixTime>(kT0 + 60));
  EXPECT_FALSE(store().ApiKeyById(other.id, abroad.id)->revoked_at.has_value());
  store().Write([&](WriteTx& tx) { EXPECT_TRUE(tx.RevokeKeysOfOwner(w.id, heir.id, kT0 + 70).empty()); });
}

// Two stores on one database (two connection pools: two processes, as far as the database
// can tell) each remove a different admin when they count two. Under the workspace lock the
// second one counts again after the first commits, so one admin always remains; a count
// read without the lock (or outside the transaction) lets both through.
TEST_P(StoreConformance, TheWorkspaceLockHoldsAnInvariantBetweenTwoStores) {
  auto second = OpenStore(url());
  constexpr int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    Workspace w = AddWorkspace();
    User x = AddUser();
    User y = AddUser();
    AddMember(w.id, x.id, "admin");
    AddMember(w.id, y.id, "admin");
    std::latch start(2);
    std::atomic<int> removed{0};
    auto remove = [&](Store& s, const std::string& victim) {
      start.arrive_and_wait();
      bool done = s.Write([&](WriteTx& tx) {
        if (!tx.LockWorkspace(w.id)) return false;
        if (tx.CountMembersWithRole(w.id, "admin") < 2) return false;
        return tx.DeleteMembership(w.id, victim);
      });
      if (done) ++removed;
    };
    std::thread t1(remove, std::ref(store()), x.id);
    std::thread t2(remove, std::ref(*second), y.id);
    t1.join();
    t2.join();
    ASSERT_EQ(removed.load(), 1) << "round " << round;
    ASSERT_EQ(store().CountMembersWithRole(w.id, "admin"), 1) << "round " << round;
  }
}

}  // namespace
}  // namespace gh::conformance
