// The store conformance suite (see conformance.h). Users and their sessions: sign-up, profile
// updates, account deletion, session revocation and activity, and the lists of live and recent
// sessions.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "conformance.h"

namespace gh::conformance {
namespace {

// ---------------------------------------------------------------------------------------------
// Users

TEST_P(StoreConformance, InsertedUserReadsBackByIdAndEmail) {
  User u = AddUser();
  auto by_id = store().UserById(u.id);
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(Fields(*by_id), Fields(u));
  auto by_email = store().UserByEmail(u.email);
  ASSERT_TRUE(by_email.has_value());
  EXPECT_EQ(Fields(*by_email), Fields(u));

  EXPECT_FALSE(store().UserById(NewId("usr")).has_value());
  EXPECT_FALSE(store().UserByEmail(Lower(NewId("nobody")) + "@example.test").has_value());
}

TEST_P(StoreConformance, UserWithLastLoginRoundTrips) {
  User u = NewUser();
  u.last_login_at = kT0 + 42;
  u.avatar_url = "";
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertUser(u).ok()); });
  auto got = store().UserById(u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(u));
}

TEST_P(StoreConformance, DuplicateEmailIsRefused) {
  User first = AddUser();
  User second = NewUser();
  second.email = first.email;
  second.name = "Someone Else";
  {
    auto tx = store().Begin();
    Status st = tx->InsertUser(second);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "email_taken");
    EXPECT_TRUE(st.error().kind == ErrorKind::kConflict);
    EXPECT_EQ(st.error().field, "email");
    tx->Commit();
  }
  EXPECT_FALSE(store().UserById(second.id).has_value());
  auto owner = store().UserByEmail(first.email);
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(Fields(*owner), Fields(first));
}

TEST_P(StoreConformance, TransactionStaysUsableAfterADuplicateEmail) {
  User first = AddUser();
  User duplicate = NewUser();
  duplicate.email = first.email;
  User other = NewUser();
  Workspace ws = NewWorkspace();
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertUser(other).ok());
    ASSERT_FALSE(tx->InsertUser(duplicate).ok());
    // The refusal is an expected outcome, not a failure of the transaction.
    tx->InsertWorkspace(ws);
    tx->Commit();
  }
  EXPECT_TRUE(store().UserById(other.id).has_value());
  EXPECT_TRUE(store().WorkspaceById(ws.id).has_value());
  EXPECT_FALSE(store().UserById(duplicate.id).has_value());
}

TEST_P(StoreConformance, UpdateUserChangesTheProfileOfThatUserOnly) {
  User u = AddUser();
  User bystander = AddUser();
  User changed = u;
  changed.name = "Ada King";
  changed.theme = "light";
  changed.language = "en";
  changed.avatar_url = "";
  changed.password_hash = "$argon2id$v=19$m=65536,t=3,p=1$bmV3c2FsdA$bmV3aGFzaA";
  changed.updated_at = kT0 + 600;
  InTx([&](WriteTx& tx) { tx.UpdateUser(changed); });

  auto got = store().UserById(u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(changed));
  auto other = store().UserById(bystander.id);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(Fields(*other), Fields(bystander));
}

TEST_P(StoreConformance, SetUserLastLoginRecordsTheTime) {
  User u = AddUser();
  ASSERT_FALSE(store().UserById(u.id)->last_login_at.has_value());
  InTx([&](WriteTx& tx) { tx.SetUserLastLogin(u.id, kT0 + 120); });
  EXPECT_EQ(store().UserById(u.id)->last_login_at, std::optional<UnixTime>(kT0 + 120));
  InTx([&](WriteTx& tx) { tx.SetUserLastLogin(u.id, kT0 + 900); });
  auto got = store().UserById(u.id);
  ASSERT_TRUE(got.has_value());
  User expected = u;
  expected.last_login_at = kT0 + 900;
  EXPECT_EQ(Fields(*got), Fields(expected));
}

TEST_P(StoreConformance, AnonymiseUserFreesTheEmailAndKeepsTheRow) {
  User u = AddUser();
  User bystander = AddUser();
  InTx([&](WriteTx& tx) { tx.AnonymiseUser(u.id, kT0 + 700); });
  auto got = store().UserById(u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->deleted_at, std::optional<UnixTime>(kT0 + 700));
  EXPECT_EQ(got->name, "Deleted user");
  EXPECT_EQ(got->password_hash, "");
  EXPECT_EQ(got->avatar_url, "");
  EXPECT_EQ(got->email.find('@'), std::string::npos);
  EXPECT_FALSE(store().UserByEmail(u.email).has_value());
  // The email signs up again as a new user.
  User again = NewUser();
  again.email = u.email;
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.InsertUser(again).ok()); });
  EXPECT_EQ(store().UserByEmail(u.email)->id, again.id);
  EXPECT_EQ(Fields(*store().UserById(bystander.id)), Fields(bystander));
  EXPECT_FALSE(store().UserById(again.id)->deleted_at.has_value());
}

// ---------------------------------------------------------------------------------------------
// Sessions

TEST_P(StoreConformance, InsertedSessionIsFoundByTokenHash) {
  User u = AddUser();
  Session s = AddSession(u.id, kT0 + 10);
  auto got = store().SessionByTokenHash(s.token_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(s));
  EXPECT_FALSE(store().SessionByTokenHash(Lower(NewId("tok"))).has_value());
  EXPECT_FALSE(store().SessionByTokenHash(s.id).has_value());
}

TEST_P(StoreConformance, RevokeSessionWorksOnlyForTheOwnerAndOnlyOnce) {
  User owner = AddUser();
  User other = AddUser();
  Session s = AddSession(owner.id, kT0 + 10);

  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.RevokeSession(other.id, s.id, kT0 + 20)); });
  EXPECT_FALSE(SessionNow(s).revoked_at.has_value());

  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.RevokeSession(owner.id, s.id, kT0 + 30)); });
  EXPECT_EQ(SessionNow(s).revoked_at, std::optional<UnixTime>(kT0 + 30));

  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.RevokeSession(owner.id, s.id, kT0 + 40)); });
  EXPECT_EQ(SessionNow(s).revoked_at, std::optional<UnixTime>(kT0 + 30));

  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.RevokeSession(owner.id, NewId("ses"), kT0 + 50)); });
}

TEST_P(StoreConformance, RevokeOtherSessionsRevokesEveryLiveSessionButTheKeptOne) {
  User u = AddUser();
  User other = AddUser();
  Session keep = AddSession(u.id, kT0 + 1);
  Session a = AddSession(u.id, kT0 + 2);
  Session b = AddSession(u.id, kT0 + 3);
  Session already = AddSession(u.id, kT0 + 4);
  Session foreign = AddSession(other.id, kT0 + 5);
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.RevokeSession(u.id, already.id, kT0 + 10)); });

  int revoked = -1;
  InTx([&](WriteTx& tx) { revoked = tx.RevokeOtherSessions(u.id, keep.id, kT0 + 20); });
  EXPECT_EQ(revoked, 2);
  EXPECT_FALSE(SessionNow(keep).revoked_at.has_value());
  EXPECT_EQ(SessionNow(a).revoked_at, std::optional<UnixTime>(kT0 + 20));
  EXPECT_EQ(SessionNow(b).revoked_at, std::optional<UnixTime>(kT0 + 20));
  EXPECT_EQ(SessionNow(already).revoked_at, std::optional<UnixTime>(kT0 + 10));
  EXPECT_FALSE(SessionNow(foreign).revoked_at.has_value());

  InTx([&](WriteTx& tx) { revoked = tx.RevokeOtherSessions(u.id, keep.id, kT0 + 30); });
  EXPECT_EQ(revoked, 0);
}

TEST_P(StoreConformance, RecordSessionActivityOnlyMovesForward) {
  User u = AddUser();
  Session s = AddSession(u.id, kT0 + 100, kT0 + 1000);
  Session t = AddSession(u.id, kT0 + 100, kT0 + 1000);

  InTx([&](WriteTx& tx) { tx.RecordSessionActivity({{s.id, kT0 + 200, kT0 + 2000}}); });
  EXPECT_EQ(SessionNow(s).last_active_at, kT0 + 200);
  EXPECT_EQ(SessionNow(s).idle_expires_at, kT0 + 2000);

  // Late-arriving older activity is ignored, including its expiry.
  InTx([&](WriteTx& tx) { tx.RecordSessionActivity({{s.id, kT0 + 150, kT0 + 1500}}); });
  EXPECT_EQ(SessionNow(s).last_active_at, kT0 + 200);
  EXPECT_EQ(SessionNow(s).idle_expires_at, kT0 + 2000);

  // One batch: a newer then an older entry for s, an entry for t, one for an unknown session.
  InTx([&](WriteTx& tx) {
    tx.RecordSessionActivity({{s.id, kT0 + 400, kT0 + 4000},
                              {s.id, kT0 + 300, kT0 + 3000},
                              {t.id, kT0 + 250, kT0 + 2500},
                              {NewId("ses"), kT0 + 999, kT0 + 9999}});
  });
  Session s_now = SessionNow(s);
  EXPECT_EQ(s_now.last_active_at, kT0 + 400);
  EXPECT_EQ(s_now.idle_expires_at, kT0 + 4000);
  EXPECT_EQ(SessionNow(t).last_active_at, kT0 + 250);
  EXPECT_EQ(SessionNow(t).idle_expires_at, kT0 + 2500);
  // Nothing else about the session moves.
  Session expected = s;
  expected.last_active_at = kT0 + 400;
  expected.idle_expires_at = kT0 + 4000;
  EXPECT_EQ(Fields(s_now), Fields(expected));
}

TEST_P(StoreConformance, LiveSessionsExcludeRevokedAndExpiredAndListMostRecentFirst) {
  User u = AddUser();
  User other = AddUser();
  UnixTime now = kT0 + 10'000;
  Session a = AddSession(u.id, kT0 + 100, now + 100, now + 1000);
  Session b = AddSession(u.id, kT0 + 300, now + 100, now + 1000);
  Session c = AddSession(u.id, kT0 + 200, now + 100, now + 1000);
  Session revoked = AddSession(u.id, kT0 + 400, now + 100, now + 1000);
  Session idle_expired = AddSession(u.id, kT0 + 500, now - 1, now + 1000);
  Session absolute_expired = AddSession(u.id, kT0 + 600, now + 100, now - 1);
  AddSession(other.id, kT0 + 700, now + 100, now + 1000);
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.RevokeSession(u.id, revoked.id, kT0 + 450)); });

  auto live = store().LiveSessionsOfUser(u.id, now);
  EXPECT_EQ(Ids(live), (std::vector<std::string>{b.id, c.id, a.id}));
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(Fields(live[0]), Fields(b));

  // Activity reorders them.
  InTx([&](WriteTx& tx) { tx.RecordSessionActivity({{a.id, kT0 + 900, now + 500}}); });
  EXPECT_EQ(Ids(store().LiveSessionsOfUser(u.id, now)),
            (std::vector<std::string>{a.id, b.id, c.id}));

  // Later on, only a (whose idle expiry moved) is left.
  EXPECT_EQ(Ids(store().LiveSessionsOfUser(u.id, now + 200)), (std::vector<std::string>{a.id}));
  EXPECT_TRUE(store().LiveSessionsOfUser(u.id, now + 2000).empty());
  EXPECT_TRUE(store().LiveSessionsOfUser(NewId("usr"), now).empty());
  (void)idle_expired;
  (void)absolute_expired;
}

TEST_P(StoreConformance, RecentSessionsIncludeRevokedAndExpiredNewestFirstUpToTheLimit) {
  User u = AddUser();
  User other = AddUser();
  auto add_created = [&](UnixTime created, const std::string& country) {
    Session s = NewSession(u.id, created, kT0 + 1, kT0 + 2);  // expired long ago
    s.created_at = created;
    s.country = country;
    InTx([&](WriteTx& tx) { tx.InsertSession(s); });
    return s;
  };
  Session a = add_created(kT0 + 10, "RO");
  Session b = add_created(kT0 + 30, "");
  Session c = add_created(kT0 + 20, "US");
  AddSession(other.id, kT0 + 40);
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.RevokeSession(u.id, c.id, kT0 + 50)); });

  auto all = store().RecentSessionsOfUser(u.id, 10);
  EXPECT_EQ(Ids(all), (std::vector<std::string>{b.id, c.id, a.id}));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(Fields(all[2]), Fields(a));
  EXPECT_EQ(all[0].country, "");
  EXPECT_EQ(all[1].country, "US");
  EXPECT_EQ(Ids(store().RecentSessionsOfUser(u.id, 2)), (std::vector<std::string>{b.id, c.id}));
  EXPECT_TRUE(store().RecentSessionsOfUser(NewId("usr"), 10).empty());
}

}  // namespace
}  // namespace gh::conformance
