// The store conformance suite (see conformance.h). Email verification and password reset:
// the verified address of a user, and the single-use links mailed to them (used once, retired
// together, expired ones dropped, deleted with the account), and the migration that counts
// existing accounts as verified.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <optional>
#include <string>
#include <thread>

#include "conformance.h"

namespace gh::conformance {
namespace {

AccountToken NewToken(const User& u, AccountTokenPurpose purpose, UnixTime created = kT0,
                      UnixTime ttl = 3600) {
  AccountToken t;
  t.token_hash = Lower(NewId("tok"));
  t.purpose = purpose;
  t.user_id = u.id;
  t.email = u.email;
  t.created_at = created;
  t.expires_at = created + ttl;
  return t;
}

auto Fields(const AccountToken& t) {
  return std::tie(t.token_hash, t.purpose, t.user_id, t.email, t.created_at, t.expires_at,
                  t.used_at);
}

constexpr auto kReset = AccountTokenPurpose::kPasswordReset;
constexpr auto kVerify = AccountTokenPurpose::kEmailVerification;

TEST_P(StoreConformance, NewUsersAreUnverifiedUnlessInsertedVerified) {
  User plain = AddUser();
  EXPECT_FALSE(store().UserById(plain.id)->email_verified_at.has_value());
  User verified = NewUser();
  verified.email_verified_at = kT0 + 5;
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertUser(verified).ok()); });
  EXPECT_EQ(store().UserByEmail(verified.email)->email_verified_at,
            std::optional<UnixTime>(kT0 + 5));
}

TEST_P(StoreConformance, MarkEmailVerifiedKeepsTheFirstProofAndSurvivesProfileUpdates) {
  User u = AddUser();
  User bystander = AddUser();
  InTx([&](WriteTx& tx) { tx.MarkEmailVerified(u.id, kT0 + 10); });
  InTx([&](WriteTx& tx) { tx.MarkEmailVerified(u.id, kT0 + 20); });
  EXPECT_EQ(store().UserById(u.id)->email_verified_at, std::optional<UnixTime>(kT0 + 10));
  User renamed = *store().UserById(u.id);
  renamed.name = "Ada King";
  renamed.email_verified_at.reset();  // UpdateUser does not write it
  InTx([&](WriteTx& tx) { tx.UpdateUser(renamed); });
  EXPECT_EQ(store().UserById(u.id)->email_verified_at, std::optional<UnixTime>(kT0 + 10));
  EXPECT_FALSE(store().UserById(bystander.id)->email_verified_at.has_value());
}

TEST_P(StoreConformance, AccountTokensReadBackByHashOnlyAndLockTheSameRow) {
  User u = AddUser();
  AccountToken reset = NewToken(u, kReset);
  AccountToken verify = NewToken(u, kVerify, kT0, 86400);
  InTx([&](WriteTx& tx) {
    tx.InsertAccountToken(reset);
    tx.InsertAccountToken(verify);
  });
  auto got = store().AccountTokenByHash(reset.token_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(reset));
  EXPECT_EQ(Fields(*store().AccountTokenByHash(verify.token_hash)), Fields(verify));
  EXPECT_FALSE(store().AccountTokenByHash(Lower(NewId("tok"))).has_value());
  EXPECT_FALSE(store().AccountTokenByHash(u.id).has_value());
  InTx([&](WriteTx& tx) {
    auto locked = tx.LockAccountToken(verify.token_hash);
    ASSERT_TRUE(locked.has_value());
    EXPECT_EQ(Fields(*locked), Fields(verify));
    EXPECT_FALSE(tx.LockAccountToken(Lower(NewId("tok"))).has_value());
  });
}

TEST_P(StoreConformance, AnAccountTokenIsUsedOnce) {
  User u = AddUser();
  AccountToken t = NewToken(u, kReset);
  InTx([&](WriteTx& tx) { tx.InsertAccountToken(t); });
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseAccountToken(t.token_hash, kT0 + 60)); });
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.UseAccountToken(t.token_hash, kT0 + 70)); });
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.UseAccountToken(Lower(NewId("tok")), kT0 + 70)); });
  EXPECT_EQ(store().AccountTokenByHash(t.token_hash)->used_at, std::optional<UnixTime>(kT0 + 60));
}

TEST_P(StoreConformance, RetiringAccountTokensTouchesOneUsersUnusedLinksOfOnePurpose) {
  User u = AddUser();
  User other = AddUser();
  AccountToken a = NewToken(u, kReset);
  AccountToken b = NewToken(u, kReset);
  AccountToken used = NewToken(u, kReset);
  AccountToken verify = NewToken(u, kVerify);
  AccountToken foreign = NewToken(other, kReset);
  InTx([&](WriteTx& tx) {
    for (const auto* t : {&a, &b, &used, &verify, &foreign}) tx.InsertAccountToken(*t);
    ASSERT_TRUE(tx.UseAccountToken(used.token_hash, kT0 + 1));
  });
  int retired = -1;
  InTx([&](WriteTx& tx) { retired = tx.RetireAccountTokens(u.id, kReset, kT0 + 9); });
  EXPECT_EQ(retired, 2);
  auto used_at = [](const AccountToken& t) {
    return store().AccountTokenByHash(t.token_hash)->used_at;
  };
  EXPECT_EQ(used_at(a), std::optional<UnixTime>(kT0 + 9));
  EXPECT_EQ(used_at(b), std::optional<UnixTime>(kT0 + 9));
  EXPECT_EQ(used_at(used), std::optional<UnixTime>(kT0 + 1));
  EXPECT_FALSE(used_at(verify).has_value());
  EXPECT_FALSE(used_at(foreign).has_value());
}

TEST_P(StoreConformance, InsertingAnAccountTokenDropsThatUsersExpiredOnes) {
  User u = AddUser();
  User other = AddUser();
  AccountToken old = NewToken(u, kReset, kT0, 3600);
  AccountToken old_verify = NewToken(u, kVerify, kT0, 3600);
  AccountToken live = NewToken(u, kVerify, kT0, 86400);
  AccountToken foreign = NewToken(other, kReset, kT0, 3600);
  InTx([&](WriteTx& tx) {
    for (const auto* t : {&old, &old_verify, &live, &foreign}) tx.InsertAccountToken(*t);
  });
  AccountToken fresh = NewToken(u, kReset, kT0 + 7200);
  InTx([&](WriteTx& tx) { tx.InsertAccountToken(fresh); });
  EXPECT_FALSE(store().AccountTokenByHash(old.token_hash).has_value());
  EXPECT_FALSE(store().AccountTokenByHash(old_verify.token_hash).has_value());
  EXPECT_TRUE(store().AccountTokenByHash(live.token_hash).has_value());
  EXPECT_TRUE(store().AccountTokenByHash(fresh.token_hash).has_value());
  EXPECT_TRUE(store().AccountTokenByHash(foreign.token_hash).has_value());
}

TEST_P(StoreConformance, DeletingAnAccountDeletesItsLinks) {
  User u = AddUser();
  User other = AddUser();
  AccountToken mine = NewToken(u, kReset);
  AccountToken theirs = NewToken(other, kReset);
  InTx([&](WriteTx& tx) {
    tx.InsertAccountToken(mine);
    tx.InsertAccountToken(theirs);
  });
  InTx([&](WriteTx& tx) { tx.AnonymiseUser(u.id, kT0 + 5); });
  EXPECT_FALSE(store().AccountTokenByHash(mine.token_hash).has_value());
  EXPECT_TRUE(store().AccountTokenByHash(theirs.token_hash).has_value());
}

// Two stores on one database (two processes) use the same link at once, each reading it under
// its lock first as the services do: exactly one use succeeds in every round.
TEST_P(StoreConformance, ALinkUsedFromTwoStoresAtOnceWorksOnce) {
  auto second = OpenStore(url());
  constexpr int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    User u = AddUser();
    AccountToken t = NewToken(u, kReset);
    InTx([&](WriteTx& tx) { tx.InsertAccountToken(t); });
    std::latch start(2);
    std::atomic<int> used{0};
    auto use = [&](Store& s, UnixTime at) {
      start.arrive_and_wait();
      bool done = s.Write([&](WriteTx& tx) {
        auto locked = tx.LockAccountToken(t.token_hash);
        if (!locked || locked->used_at) return false;
        return tx.UseAccountToken(t.token_hash, at);
      });
      if (done) ++used;
    };
    std::thread t1(use, std::ref(store()), kT0 + 1);
    std::thread t2(use, std::ref(*second), kT0 + 2);
    t1.join();
    t2.join();
    ASSERT_EQ(used.load(), 1) << "round " << round;
  }
}

// Accounts that existed before verification did count as verified (migration 12): they
// could not have verified, and would otherwise be locked out of accepting invitations.
TEST_P(StoreConformance, MigrationCountsExistingAccountsAsVerified) {
  ScratchDatabase scratch;
  ASSERT_TRUE(scratch.ready());
  OpenStore(scratch.url()).reset();
  // Back to schema 11, with a user and a deleted user written as that schema had them.
  ASSERT_TRUE(RawSql(scratch.url(),
                     "ALTER TABLE memberships DROP COLUMN suspended_at; "
                     "ALTER TABLE memberships DROP COLUMN suspended_reason; "
                     "DROP TABLE notification_throttle; DROP TABLE digest_items; "
                     "DROP TABLE notifications; DROP TABLE notification_preferences; "
                     "DROP TABLE notification_rules; "
                     "DROP TABLE webhook_deliveries; DROP TABLE webhook_endpoints; "
                     "DROP TABLE outbox_events; "
                     "DROP TABLE scim_group_members; DROP TABLE scim_groups; DROP TABLE scim_users; "
                     "DROP TABLE scim_tokens; DROP TABLE scim_settings; "
                     "ALTER TABLE memberships DROP COLUMN deactivated_at; "
                     "ALTER TABLE memberships DROP COLUMN directory_managed; "
                     "ALTER TABLE api_keys DROP COLUMN owner_hold; "
                     "DROP TABLE sso_assertions; DROP TABLE sso_requests; DROP TABLE sso_domains; "
                     "DROP TABLE sso_connections; ALTER TABLE workspaces DROP COLUMN sso_enforced; "
                     "ALTER TABLE sessions DROP COLUMN method; "
                     "ALTER TABLE sessions DROP COLUMN sso_connection_id; "
                     "ALTER TABLE sessions DROP COLUMN scope_workspace_id; "
                     "DROP TABLE account_tokens; ALTER TABLE users DROP COLUMN email_verified_at; "
                     "DELETE FROM schema_migrations WHERE version >= 12; "
                     "INSERT INTO users (id, email, name, password_hash, theme, language, "
                     "created_at, updated_at) VALUES ('usr_old', 'old@example.test', 'Old', 'x', "
                     "'system', 'en', 1700000000, 1700000000), ('usr_gone', 'deleted:usr_gone', "
                     "'Deleted user', '', 'system', 'en', 1700000000, 1700000001); "
                     "UPDATE users SET deleted_at = 1700000001 WHERE id = 'usr_gone'"));
  ASSERT_EQ(MigrateStore(scratch.url()).first, 11);
  auto migrated = OpenStore(scratch.url());
  EXPECT_EQ(migrated->UserById("usr_old")->email_verified_at, std::optional<UnixTime>(1700000000));
  EXPECT_FALSE(migrated->UserById("usr_gone")->email_verified_at.has_value());
  // New accounts are not.
  User fresh = NewUser();
  {
    auto tx = migrated->Begin();
    ASSERT_TRUE(tx->InsertUser(fresh).ok());
    tx->Commit();
  }
  EXPECT_FALSE(migrated->UserById(fresh.id)->email_verified_at.has_value());
}

}  // namespace
}  // namespace gh::conformance
