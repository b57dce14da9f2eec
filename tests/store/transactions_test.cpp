// The store conformance suite (see conformance.h). Write transactions: all or nothing, visible once
// committed, rolled back on failure.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "conformance.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, TransactionDestroyedWithoutCommitLeavesNoTrace) {
  Workspace existing = AddWorkspace();
  User u = NewUser();
  Session s = NewSession(u.id, kT0 + 1);
  Workspace w = NewWorkspace();
  Membership m{NewId("mem"), w.id, u.id, "owner", kT0};
  MailMessage mail{NewId("mail"),     u.email,      "Welcome", "Hello",
                   9'000'000'000'000, std::nullopt, MailStatus::kStored};
  std::string scope = NewId("scope"), key = NewId("key");
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertUser(u).ok());
    tx->InsertSession(s);
    tx->InsertWorkspace(w);
    tx->InsertMembership(m);
    tx->PutLogo(existing.id, Logo{"image/png", "png", kT0});
    AppendAudit(*tx, Actor(), Record(existing.id, "workspace.updated"), kT0);
    tx->InsertMail(mail);
    tx->SaveIdempotentResponse(scope, key, IdempotentResponse{"h", 201, "text/plain", "b", kT0});

    // Not visible to readers before commit either.
    EXPECT_FALSE(store().UserById(u.id).has_value());
    EXPECT_FALSE(store().WorkspaceById(w.id).has_value());
    EXPECT_TRUE(store().AuditEvents(existing.id, std::nullopt, 10).events.empty());
  }
  EXPECT_FALSE(store().UserById(u.id).has_value());
  EXPECT_FALSE(store().UserByEmail(u.email).has_value());
  EXPECT_FALSE(store().SessionByTokenHash(s.token_hash).has_value());
  EXPECT_FALSE(store().WorkspaceById(w.id).has_value());
  EXPECT_FALSE(store().MembershipOf(w.id, u.id).has_value());
  EXPECT_FALSE(store().LogoOf(existing.id).has_value());
  EXPECT_TRUE(store().AuditEvents(existing.id, std::nullopt, 10).events.empty());
  EXPECT_FALSE(store().FindIdempotentResponse(scope, key).has_value());
  for (const auto& m2 : store().Mail(50)) EXPECT_NE(m2.id, mail.id);

  // The chain head did not move: the next event starts the chain afresh.
  AuditEvent first = AppendOne(existing.id, "workspace.updated", kT0 + 1);
  EXPECT_EQ(first.prev_hash, "");
  // And the email is still free.
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.InsertUser(u).ok()); });
}

TEST_P(StoreConformance, CommittedTransactionIsVisibleToReads) {
  User u = NewUser();
  Workspace w = NewWorkspace();
  Membership m{NewId("mem"), w.id, u.id, "owner", kT0};
  AuditEvent e;
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertUser(u).ok());
    tx->InsertWorkspace(w);
    tx->InsertMembership(m);
    e = AppendAudit(*tx, Actor(), Record(w.id, "workspace.created"), kT0);
    tx->Commit();
    // Visible as soon as Commit returns, while the transaction object still lives.
    EXPECT_TRUE(store().UserById(u.id).has_value());
  }
  EXPECT_EQ(Fields(*store().UserById(u.id)), Fields(u));
  EXPECT_EQ(Fields(*store().WorkspaceById(w.id)), Fields(w));
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, u.id)), Fields(m));
  auto page = store().AuditEvents(w.id, std::nullopt, 10);
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(Fields(page.events[0]), Fields(e));
}

TEST_P(StoreConformance, FailedStatementThrowsStoreErrorAndItsTransactionRollsBack) {
  User u = NewUser();
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertUser(u).ok());
    Membership orphan{NewId("mem"), NewId("ws"), u.id, "owner", kT0};  // no such workspace
    EXPECT_THROW(tx->InsertMembership(orphan), StoreError);
  }
  EXPECT_FALSE(store().UserById(u.id).has_value());
  // The store takes writes afterwards.
  User v = AddUser();
  EXPECT_TRUE(store().UserById(v.id).has_value());
}

}  // namespace
}  // namespace gh::conformance
