// The store conformance suite (see conformance.h). Mail: the outbox listing, delivery state, due
// mail and the lease that keeps two processes from sending the same message.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conformance.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, MailIsListedNewestFirstAndCanBeMarked) {
  // The mailbox is shared by the whole run: put these three after anything already there.
  auto newest = store().Mail(1);
  UnixTime base = std::max(kT0, newest.empty() ? kT0 : newest[0].created_at) + 10;
  MailMessage m1{NewId("mail"), "ada@example.test", "Welcome", "Hello Ada,\n\nwelcome ✓",
                 base + 1,      std::nullopt,       MailStatus::kStored};
  MailMessage m2{NewId("mail"), "bob@example.test", "Reset", "Your code: 123456",
                 base + 2,      base + 2,           MailStatus::kSent};
  MailMessage m3{NewId("mail"), "eve@example.test", "Invite", "Join Acme",
                 base + 3,      std::nullopt,       MailStatus::kQueued};
  InTx([&](WriteTx& tx) {
    tx.InsertMail(m2);
    tx.InsertMail(m3);
    tx.InsertMail(m1);
  });

  auto got = store().Mail(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(Fields(got[0]), Fields(m3));
  EXPECT_EQ(Fields(got[1]), Fields(m2));
  EXPECT_EQ(Fields(got[2]), Fields(m1));
  ASSERT_EQ(store().Mail(2).size(), 2u);
  EXPECT_EQ(store().Mail(2)[1].id, m2.id);

  InTx([&](WriteTx& tx) {
    tx.MarkMail(m3.id, MailStatus::kSent, base + 50);
    tx.MarkMail(m2.id, MailStatus::kFailed, std::nullopt);
  });
  got = store().Mail(3);
  ASSERT_EQ(got.size(), 3u);
  MailMessage m3_sent = m3, m2_failed = m2;
  m3_sent.status = MailStatus::kSent;
  m3_sent.sent_at = base + 50;
  m2_failed.status = MailStatus::kFailed;
  m2_failed.sent_at = std::nullopt;
  EXPECT_EQ(Fields(got[0]), Fields(m3_sent));
  EXPECT_EQ(Fields(got[1]), Fields(m2_failed));
  EXPECT_EQ(Fields(got[2]), Fields(m1));
}

// A mail's status is an enum in the program and its name in the row, as before the enum: mail
// of earlier versions reads the same. A name no version wrote is refused rather than read as
// some other status.
TEST_P(StoreConformance, MailStatusesAreStoredAsTheirNames) {
  auto newest = store().Mail(1);
  UnixTime base = std::max(kT0, newest.empty() ? kT0 : newest[0].created_at) + 10;
  std::vector<std::pair<MailStatus, std::string>> want = {{MailStatus::kStored, "stored"},
                                                          {MailStatus::kQueued, "queued"},
                                                          {MailStatus::kSent, "sent"},
                                                          {MailStatus::kFailed, "failed"}};
  std::vector<MailMessage> mine;
  for (size_t i = 0; i < want.size(); ++i) {
    mine.push_back(NewMail(base + 1 + static_cast<UnixTime>(i), want[i].first, INT64_MAX / 2));
  }
  InTx([&](WriteTx& tx) {
    for (const auto& m : mine) tx.InsertMail(m);
  });
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(RawSql(url(), "UPDATE mail SET subject='as text' WHERE id='" + mine[i].id +
                                  "' AND status='" + want[i].second + "'"));
  }
  auto got = store().Mail(4);  // newest first
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[3 - i].id, mine[i].id);
    EXPECT_EQ(got[3 - i].status, want[i].first) << want[i].second;
    EXPECT_EQ(got[3 - i].subject, "as text") << want[i].second;
  }

  std::string where = " WHERE id='" + mine[0].id + "'";
  ASSERT_TRUE(RawSql(url(), "UPDATE mail SET status='bounced'" + where));
  EXPECT_THROW(store().Mail(4), StoreError);
  ASSERT_TRUE(RawSql(url(), "UPDATE mail SET status='stored'" + where));
  // Leave nothing due behind for later runs against the same database.
  InTx([&](WriteTx& tx) {
    for (MailMessage m : mine) {
      m.status = MailStatus::kSent;
      m.sent_at = base;
      tx.RecordMailAttempt(m);
    }
  });
}

TEST_P(StoreConformance, MailDeliveryFieldsRoundTrip) {
  auto newest = store().Mail(1);
  UnixTime base = std::max(kT0, newest.empty() ? kT0 : newest[0].created_at) + 10;
  MailMessage fresh = NewMail(base + 1, MailStatus::kQueued, base + 1);
  MailMessage retried = NewMail(base + 2, MailStatus::kQueued, base + 600);
  retried.attempts = 3;
  retried.last_error = "451 4.7.1 Greylisted, try again in 5 minutes – “later”";
  MailMessage plain = NewMail(base + 3, MailStatus::kStored, 0);
  plain.body_html = "";
  InTx([&](WriteTx& tx) {
    tx.InsertMail(retried);
    tx.InsertMail(plain);
    tx.InsertMail(fresh);
  });
  auto got = store().Mail(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(Fields(got[0]), Fields(plain));
  EXPECT_EQ(Fields(got[1]), Fields(retried));
  EXPECT_EQ(Fields(got[2]), Fields(fresh));

  // Leave nothing due behind for later tests.
  InTx([&](WriteTx& tx) {
    for (MailMessage m : {fresh, retried, plain}) {
      m.status = MailStatus::kSent;
      tx.RecordMailAttempt(m);
    }
  });
}

TEST_P(StoreConformance, DueMailListsMailOfTheStatusDueAtNowOldestFirst) {
  // The outbox is shared by the whole run: put these before anything already there.
  auto oldest = store().DueMail(INT64_MAX, 1);
  auto oldest_stored = store().DueMail(INT64_MAX, 1, MailStatus::kStored);
  UnixTime base = kT0;
  if (!oldest.empty()) base = std::min(base, oldest[0].created_at);
  if (!oldest_stored.empty()) base = std::min(base, oldest_stored[0].created_at);
  base -= 1000;
  const UnixTime now = kT0 + 5000;

  MailMessage q1 = NewMail(base + 1, MailStatus::kQueued, now - 10);
  MailMessage q2 = NewMail(base + 2, MailStatus::kQueued, now);  // due exactly at now
  MailMessage q3 = NewMail(base + 3, MailStatus::kQueued, now + 1);
  MailMessage q4 = NewMail(base + 4, MailStatus::kQueued, 0);
  MailMessage sent = NewMail(base + 0, MailStatus::kSent, 0);
  sent.sent_at = base + 5;
  MailMessage failed = NewMail(base + 0, MailStatus::kFailed, 0);
  MailMessage stored = NewMail(base + 0, MailStatus::kStored, 0);
  std::vector<MailMessage> mine = {q1, q2, q3, q4, sent, failed, stored};
  InTx([&](WriteTx& tx) {
    for (const MailMessage* m : {&q4, &sent, &q2, &stored, &q3, &failed, &q1}) tx.InsertMail(*m);
  });

  auto due = Only(store().DueMail(now, 10'000), mine);
  ASSERT_EQ(IdsOf(due), (std::vector<std::string>{q1.id, q2.id, q4.id}));
  EXPECT_EQ(Fields(due[0]), Fields(q1));
  EXPECT_EQ(Fields(due[1]), Fields(q2));
  EXPECT_EQ(Fields(due[2]), Fields(q4));
  // These are the oldest due mail of the store, so the limit keeps exactly them.
  EXPECT_EQ(IdsOf(store().DueMail(now, 1)), std::vector<std::string>{q1.id});
  EXPECT_EQ(IdsOf(store().DueMail(now, 2)), (std::vector<std::string>{q1.id, q2.id}));
  EXPECT_EQ(IdsOf(Only(store().DueMail(now - 11, 10'000), mine)), std::vector<std::string>{q4.id});
  EXPECT_EQ(IdsOf(Only(store().DueMail(now + 1, 10'000), mine)),
            (std::vector<std::string>{q1.id, q2.id, q3.id, q4.id}));
  // The mailbox log is read with status stored.
  EXPECT_EQ(IdsOf(Only(store().DueMail(now, 10'000, MailStatus::kStored), mine)),
            std::vector<std::string>{stored.id});
  EXPECT_EQ(IdsOf(store().DueMail(now, 1, MailStatus::kStored)),
            std::vector<std::string>{stored.id});

  // Leave nothing due behind for later runs against the same database.
  InTx([&](WriteTx& tx) {
    for (MailMessage m : {q1, q2, q3, q4, stored}) {
      m.status = MailStatus::kSent;
      m.sent_at = now;
      tx.RecordMailAttempt(m);
    }
  });
  EXPECT_TRUE(Only(store().DueMail(INT64_MAX, 10'000), mine).empty());
  EXPECT_TRUE(Only(store().DueMail(INT64_MAX, 10'000, MailStatus::kStored), mine).empty());
}

TEST_P(StoreConformance, RecordMailAttemptWritesTheDeliveryStateOfThatMessage) {
  auto newest = store().Mail(1);
  UnixTime base = std::max(kT0, newest.empty() ? kT0 : newest[0].created_at) + 10;
  MailMessage m = NewMail(base + 1, MailStatus::kQueued, base + 1);
  MailMessage bystander = NewMail(base + 2, MailStatus::kQueued, base + 1);
  InTx([&](WriteTx& tx) {
    tx.InsertMail(m);
    tx.InsertMail(bystander);
  });

  // A temporary failure: try again later.
  MailMessage retry = m;
  retry.attempts = 1;
  retry.next_attempt_at = base + 300;
  retry.last_error = "421 4.3.0 Temporary System Problem ✗";
  InTx([&](WriteTx& tx) { tx.RecordMailAttempt(retry); });
  auto got = store().Mail(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Fields(got[1]), Fields(retry));
  EXPECT_EQ(Fields(got[0]), Fields(bystander));
  EXPECT_TRUE(Only(store().DueMail(base + 299, 10'000), {m}).empty());
  EXPECT_EQ(Only(store().DueMail(base + 300, 10'000), {m}).size(), 1u);

  // Then delivered: the error is cleared and the message is no longer due.
  MailMessage delivered = retry;
  delivered.status = MailStatus::kSent;
  delivered.attempts = 2;
  delivered.last_error = "";
  delivered.sent_at = base + 301;
  InTx([&](WriteTx& tx) { tx.RecordMailAttempt(delivered); });
  got = store().Mail(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Fields(got[1]), Fields(delivered));
  EXPECT_EQ(Fields(got[0]), Fields(bystander));
  EXPECT_TRUE(Only(store().DueMail(INT64_MAX, 10'000), {m}).empty());

  // A permanent failure keeps its error.
  MailMessage bounced = bystander;
  bounced.status = MailStatus::kFailed;
  bounced.attempts = 5;
  bounced.last_error = "550 5.1.1 No such user";
  InTx([&](WriteTx& tx) { tx.RecordMailAttempt(bounced); });
  EXPECT_EQ(Fields(store().Mail(1)[0]), Fields(bounced));
  EXPECT_TRUE(Only(store().DueMail(INT64_MAX, 10'000), {bystander}).empty());
}

TEST_P(StoreConformance, ClaimMailLeasesADueMessageToOneClaimant) {
  auto newest = store().Mail(1);
  UnixTime base = std::max(kT0, newest.empty() ? kT0 : newest[0].created_at) + 10;
  const UnixTime now = base + 100;
  MailMessage due = NewMail(base + 1, MailStatus::kQueued, now);
  MailMessage later = NewMail(base + 2, MailStatus::kQueued, now + 1);
  InTx([&](WriteTx& tx) {
    tx.InsertMail(due);
    tx.InsertMail(later);
  });

  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.ClaimMail(due.id, now, now + 60));
    EXPECT_FALSE(tx.ClaimMail(later.id, now, now + 60)) << "claimed before it was due";
    EXPECT_FALSE(tx.ClaimMail(NewId("mail"), now, now + 60));
  });
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.ClaimMail(due.id, now, now + 60)) << "claimed twice"; });
  auto got = store().Mail(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].id, due.id);
  EXPECT_EQ(got[1].next_attempt_at, now + 60);
  EXPECT_EQ(got[1].status, MailStatus::kQueued);
  EXPECT_EQ(IdsOf(Only(store().DueMail(now + 59, 10'000), {due, later})),
            std::vector<std::string>{later.id});
  // When the lease runs out, it is due (and claimable) again.
  EXPECT_EQ(IdsOf(Only(store().DueMail(now + 60, 10'000), {due, later})),
            (std::vector<std::string>{due.id, later.id}));
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.ClaimMail(due.id, now + 60, now + 120)); });

  InTx([&](WriteTx& tx) {
    for (MailMessage m : {due, later}) {
      m.status = MailStatus::kSent;
      m.sent_at = now;
      tx.RecordMailAttempt(m);
    }
  });
}

}  // namespace
}  // namespace gh::conformance
