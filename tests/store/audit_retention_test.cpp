// The store conformance suite (see conformance.h). The audit log at scale, keeping: retention that
// leaves chains verifiable, daily counters, and batch appends.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "conformance.h"
#include "core/audit_chain.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, PurgeKeepsTheChainVerifiableFromItsAnchor) {
  Workspace w = AddWorkspace();
  std::vector<Spec> specs;
  for (int i = 0; i < 12; ++i) specs.push_back({"usr_a", "x.event", "", "t", kT0 + i * 100});
  auto e = AppendSpecs(w.id, specs);
  AuditLog log(store());

  // Batches of 5: events before kT0+700 are e[0..6], deleted in two transactions.
  EXPECT_EQ(log.PurgeChain(w.id, kT0 + 700, 5), 7);
  auto left = store().AuditChainSegment(w.id, 0, 100);
  ASSERT_EQ(left.size(), 5u);
  EXPECT_EQ(left.front().id, e[7].id);
  AuditChainBounds b = store().AuditBounds(w.id);
  EXPECT_EQ(b.anchor_hash, e[6].hash);
  EXPECT_EQ(b.purged_through_seq, e[6].seq);
  AuditVerification v = log.Verify(w.id);
  EXPECT_TRUE(v.valid) << v.reason << " " << v.first_invalid_id;
  EXPECT_EQ(v.checked, 5);
  EXPECT_EQ(log.PurgeChain(w.id, kT0 + 700, 5), 0) << "nothing more is due";

  // New events keep linking to the head; the chain still verifies.
  AppendSpecs(w.id, {{"usr_a", "x.after_purge", "", "t", kT0 + 5000}});
  EXPECT_TRUE(log.Verify(w.id).valid);

  // Removing the oldest retained event by hand is not retention: the anchor shows it.
  ASSERT_TRUE(RawSql(url(), "DELETE FROM audit_events WHERE id='" + e[7].id + "'"));
  v = log.Verify(w.id);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.first_invalid_id, e[8].id);
  EXPECT_EQ(v.reason, "anchor");
}

TEST_P(StoreConformance, VerifyNoticesTheNewestEventsRemoved) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 4);
  ASSERT_TRUE(RawSql(url(), "DELETE FROM audit_events WHERE id='" + events[3].id + "'"));
  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.reason, "head");
  EXPECT_EQ(v.first_invalid_id, events[2].id);
}

TEST_P(StoreConformance, PurgeStopsAtTheFirstYoungerEventInSeqOrder) {
  Workspace w = AddWorkspace();
  // A clock step back: e[2] is old but follows a young event, so only e[0] may go.
  auto e = AppendSpecs(w.id, {{"usr_a", "x.a", "", "t", kT0},
                              {"usr_a", "x.b", "", "t", kT0 + 1000},
                              {"usr_a", "x.c", "", "t", kT0 + 1}});
  AuditLog log(store());
  EXPECT_EQ(log.PurgeChain(w.id, kT0 + 500), 1);
  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, 0, 10)),
            (std::vector<std::string>{e[1].id, e[2].id}));
  EXPECT_TRUE(log.Verify(w.id).valid);
}

TEST_P(StoreConformance, RetentionsNameEachChainWithItsWorkspaceDays) {
  Workspace w = AddWorkspace();
  w.audit_retention_days = 30;
  InTx([&](WriteTx& tx) { tx.UpdateWorkspace(w); });
  AppendMany(w.id, 1);
  std::string gone = NewId("ws");  // a deleted workspace's log keeps the default
  AppendMany(gone, 1);
  std::map<std::string, int> days;
  for (const auto& [chain, d] : store().AuditRetentions()) days[chain] = d;
  EXPECT_EQ(days.at(w.id), 30);
  EXPECT_EQ(days.at(gone), 365);
}

TEST_P(StoreConformance, DailyCountersCountEventsByActorDayAndAction) {
  Workspace w = AddWorkspace();
  constexpr UnixTime kDay = 1'767'225'600;  // 2026-01-01T00:00:00Z
  AppendSpecs(w.id, {{"usr_a", "logs.viewed", "", "t", kDay + 10},
                     {"usr_a", "logs.viewed", "", "t", kDay + 86399},
                     {"usr_a", "report.exported", "", "t", kDay + 20},
                     {"usr_b", "logs.viewed", "", "t", kDay + 30},
                     {"usr_a", "logs.viewed", "", "t", kDay + 86400}});
  auto counts = store().AuditDailyCounts(w.id, "2026-01-01", "2026-01-02");
  std::map<std::string, int64_t> got;
  for (const auto& c : counts) got[c.day + " " + c.actor_id + " " + c.action] = c.count;
  EXPECT_EQ(got, (std::map<std::string, int64_t>{{"2026-01-01 usr_a logs.viewed", 2},
                                                 {"2026-01-01 usr_a report.exported", 1},
                                                 {"2026-01-01 usr_b logs.viewed", 1},
                                                 {"2026-01-02 usr_a logs.viewed", 1}}));
  EXPECT_EQ(store().AuditDailyCounts(w.id, "2026-01-02", "2026-01-02").size(), 1u);

  // Retention takes whole days before the given one, of this workspace only.
  Workspace other = AddWorkspace();
  AppendSpecs(other.id, {{"usr_a", "logs.viewed", "", "t", kDay + 10}});
  int64_t purged = 0;
  InTx([&](WriteTx& tx) { purged = tx.PurgeAuditDailyCounts(w.id, "2026-01-02"); });
  EXPECT_EQ(purged, 3);
  counts = store().AuditDailyCounts(w.id, "2000-01-01", "2100-01-01");
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].day, "2026-01-02");
  EXPECT_EQ(store().AuditDailyCounts(other.id, "2026-01-01", "2026-01-01").size(), 1u);
}

TEST_P(StoreConformance, BatchAppendLinksSeqsHeadAndCounters) {
  Workspace w = AddWorkspace();
  AppendMany(w.id, 1);  // an existing head to link to
  // 450 events over 450 distinct (actor, action) counters: more than one multi-row INSERT of
  // events and of counters. The second batch repeats the counters, which then count 2.
  std::vector<AuditEvent> batch;
  for (int round = 0; round < 2; ++round) {
    InTx([&](WriteTx& tx) {
      std::string prev = tx.LockAuditChain(w.id);
      std::vector<AuditEvent> events;
      for (int i = 0; i < 450; ++i) {
        AuditEvent e;
        e.id = NewId("evt");
        e.workspace_id = w.id;
        e.occurred_at = kT0 + 1000 + i;
        e.action = i % 2 ? "x.odd" : "x.even";
        e.actor_type = ActorType::kUser;
        e.actor_id = "usr_batch" + std::to_string(i % 225);
        e.details_json = "{}";
        e.prev_hash = prev;
        e.hash = AuditEventHash(e);
        prev = e.hash;
        events.push_back(e);
      }
      tx.AppendAuditEvents(events);
      batch.insert(batch.end(), events.begin(), events.end());
    });
  }
  for (size_t i = 1; i < batch.size(); ++i) EXPECT_GT(batch[i].seq, batch[i - 1].seq);
  EXPECT_EQ(store().AuditBounds(w.id).last_seq, batch.back().seq);
  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_TRUE(v.valid) << v.reason;
  EXPECT_EQ(v.checked, 901);
  std::map<std::string, int64_t> counters;
  for (const auto& c : store().AuditDailyCounts(w.id, "2000-01-01", "2100-01-01")) {
    if (c.actor_id.rfind("usr_batch", 0) == 0) counters[c.actor_id + " " + c.action] = c.count;
  }
  EXPECT_EQ(counters.size(), 450u);
  for (const auto& [k, n] : counters) EXPECT_EQ(n, 2) << k;
}

}  // namespace
}  // namespace gh::conformance
