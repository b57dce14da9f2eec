// The store conformance suite (see conformance.h). The audit log: appending, hash chains per
// workspace, pages, verification and tampering, concurrent appends.
#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "conformance.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, AppendedAuditEventReadsBackExactly) {
  Workspace w = AddWorkspace();
  AuditEvent e;
  InTx([&](WriteTx& tx) {
    e = AppendAudit(tx, Actor(), Record(w.id, "member.role_changed", NewId("usr")), kT0 + 3);
  });
  EXPECT_GT(e.seq, 0);
  EXPECT_EQ(e.prev_hash, "");
  EXPECT_FALSE(e.hash.empty());

  auto page = store().AuditEvents(w.id, std::nullopt, 10);
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(Fields(page.events[0]), Fields(e));
  EXPECT_FALSE(page.next_seq.has_value());
  auto segment = store().AuditChainSegment(w.id, 0, 10);
  ASSERT_EQ(segment.size(), 1u);
  EXPECT_EQ(Fields(segment[0]), Fields(e));
}

TEST_P(StoreConformance, AuditEventsOfAChainAreLinkedInSeqOrder) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 3);
  // Two more in one transaction.
  InTx([&](WriteTx& tx) {
    events.push_back(AppendAudit(tx, Actor(), Record(w.id, "a.first_of_two"), kT0 + 10));
    events.push_back(AppendAudit(tx, Actor(), Record(w.id, "a.second_of_two"), kT0 + 10));
  });
  EXPECT_EQ(events[0].prev_hash, "");
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].prev_hash, events[i - 1].hash) << i;
    EXPECT_GT(events[i].seq, events[i - 1].seq) << i;
  }
  auto stored = store().AuditChainSegment(w.id, 0, 100);
  ASSERT_EQ(stored.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(Fields(stored[i]), Fields(events[i]));
}

TEST_P(StoreConformance, AuditEventsPageNewestFirstWithoutGapsOrDuplicates) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 7);
  std::vector<std::string> newest_first = Reversed(Ids(events));

  for (int limit : {1, 2, 3, 7, 8, 100}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::string> seen;
    std::optional<int64_t> before;
    int pages = 0;
    int64_t last_seq = INT64_MAX;
    while (true) {
      AuditPage page = store().AuditEvents(w.id, before, limit);
      ++pages;
      ASSERT_LE(pages, 10);
      ASSERT_LE(page.events.size(), static_cast<size_t>(limit));
      for (const auto& e : page.events) {
        EXPECT_LT(e.seq, last_seq);
        last_seq = e.seq;
        seen.push_back(e.id);
      }
      if (!page.next_seq) break;
      EXPECT_EQ(page.events.size(), static_cast<size_t>(limit)) << "a short page has a next page";
      EXPECT_EQ(*page.next_seq, page.events.back().seq);
      before = page.next_seq;
    }
    EXPECT_EQ(seen, newest_first);
    EXPECT_EQ(pages, (7 + limit - 1) / limit) << "no empty trailing page";
  }

  // before_seq excludes that event and everything newer.
  auto older = store().AuditEvents(w.id, events[3].seq, 10);
  EXPECT_EQ(Ids(older.events),
            (std::vector<std::string>{events[2].id, events[1].id, events[0].id}));
  EXPECT_FALSE(older.next_seq.has_value());
  EXPECT_TRUE(store().AuditEvents(w.id, events[0].seq, 10).events.empty());
  auto empty = store().AuditEvents(NewId("ws"), std::nullopt, 10);
  EXPECT_TRUE(empty.events.empty());
  EXPECT_FALSE(empty.next_seq.has_value());
}

TEST_P(StoreConformance, AuditChainSegmentIsOldestFirstAfterTheGivenSeq) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 6);
  std::vector<std::string> ids = Ids(events);

  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, 0, 100)), ids);
  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, 0, 2)), (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, events[2].seq, 100)),
            (std::vector<std::string>(ids.begin() + 3, ids.end())));
  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, events[2].seq, 2)),
            (std::vector<std::string>{ids[3], ids[4]}));
  EXPECT_TRUE(store().AuditChainSegment(w.id, events.back().seq, 100).empty());
}

TEST_P(StoreConformance, IntactAuditChainVerifies) {
  Workspace w = AddWorkspace();
  AppendMany(w.id, 5);
  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_TRUE(v.valid);
  EXPECT_EQ(v.checked, 5);
  EXPECT_EQ(v.first_invalid_id, "");
}

TEST_P(StoreConformance, VerifyReportsTheFirstTamperedEvent) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 5);
  ASSERT_TRUE(RawSql(
      url(), "UPDATE audit_events SET action='workspace.deleted' WHERE id='" + events[2].id + "'"));
  ASSERT_EQ(store().AuditChainSegment(w.id, events[1].seq, 1).at(0).action, "workspace.deleted");

  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.first_invalid_id, events[2].id);
  EXPECT_EQ(v.checked, 3);
}

// The actor's type is an enum in the program and its name in the row, as before the enum: events
// written by earlier versions read, and hash, the same. A name no version wrote is refused with
// the event's id rather than read as another kind of actor (the chain would not hold either).
TEST_P(StoreConformance, AuditActorTypesAreStoredAsTheirNames) {
  Workspace w = AddWorkspace();
  Principal key = Actor();
  key.api_key_id = NewId("key");
  key.api_key_name = "CI";
  Principal system{User{}, "", ClientInfo{}};
  std::vector<AuditEvent> events;
  for (const Principal& p : {Actor(), key, system}) {
    InTx([&](WriteTx& tx) {
      events.push_back(AppendAudit(tx, p, Record(w.id, "workspace.updated"), kT0));
    });
  }
  std::vector<std::pair<ActorType, std::string>> want = {
      {ActorType::kUser, "user"}, {ActorType::kApiKey, "api_key"}, {ActorType::kSystem, "system"}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(events[i].actor_type, want[i].first);
    ASSERT_TRUE(RawSql(url(), "UPDATE audit_events SET target_name='as text' WHERE id='" +
                                  events[i].id + "' AND actor_type='" + want[i].second + "'"));
  }
  std::vector<AuditEvent> read = store().AuditChainSegment(w.id, 0, 100);
  ASSERT_EQ(read.size(), 3u);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(read[i].actor_type, want[i].first);
    EXPECT_EQ(read[i].target_name, "as text") << want[i].second;
  }

  std::string where = " WHERE id='" + events[0].id + "'";
  ASSERT_TRUE(RawSql(url(), "UPDATE audit_events SET actor_type='admin'" + where));
  try {
    store().AuditChainSegment(w.id, 0, 100);
    ADD_FAILURE() << "an unknown actor type was read";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(events[0].id), std::string::npos) << e.what();
  }
  ASSERT_TRUE(RawSql(url(), "UPDATE audit_events SET actor_type='user'" + where));
}

TEST_P(StoreConformance, VerifyReportsTheEventAfterARemovedOne) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 5);
  ASSERT_TRUE(RawSql(url(), "DELETE FROM audit_events WHERE id='" + events[2].id + "'"));

  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.first_invalid_id, events[3].id);
}

TEST_P(StoreConformance, ChainsOfTwoWorkspacesAreIndependent) {
  Workspace a = AddWorkspace();
  Workspace b = AddWorkspace();
  std::vector<AuditEvent> ea, eb;
  for (int i = 0; i < 4; ++i) {
    ea.push_back(AppendOne(a.id, "a.event", kT0 + i));
    eb.push_back(AppendOne(b.id, "b.event", kT0 + i));
  }
  EXPECT_EQ(ea[0].prev_hash, "");
  EXPECT_EQ(eb[0].prev_hash, "");
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(ea[i].prev_hash, ea[i - 1].hash);
    EXPECT_EQ(eb[i].prev_hash, eb[i - 1].hash);
  }
  EXPECT_EQ(Ids(store().AuditEvents(a.id, std::nullopt, 100).events), Reversed(Ids(ea)));
  EXPECT_EQ(Ids(store().AuditChainSegment(b.id, 0, 100)), Ids(eb));

  ASSERT_TRUE(
      RawSql(url(), "UPDATE audit_events SET action='b.forged' WHERE id='" + eb[1].id + "'"));
  AuditVerification vb = AuditLog(store()).Verify(b.id);
  EXPECT_FALSE(vb.valid);
  EXPECT_EQ(vb.first_invalid_id, eb[1].id);
  AuditVerification va = AuditLog(store()).Verify(a.id);
  EXPECT_TRUE(va.valid);
  EXPECT_EQ(va.checked, 4);
}

TEST_P(StoreConformance, AccountEventsFormTheirOwnChain) {
  Workspace w = AddWorkspace();
  AuditEvent ws_event = AppendOne(w.id, "workspace.updated", kT0);
  AuditEvent first = AppendOne("", "user.signed_in", kT0 + 1);
  AuditEvent second = AppendOne("", "user.signed_out", kT0 + 2);
  EXPECT_EQ(first.workspace_id, "");
  EXPECT_NE(first.prev_hash, ws_event.hash);
  EXPECT_EQ(second.prev_hash, first.hash);

  auto page = store().AuditEvents("", std::nullopt, 2);
  EXPECT_EQ(Ids(page.events), (std::vector<std::string>{second.id, first.id}));
  EXPECT_EQ(Ids(store().AuditEvents(w.id, std::nullopt, 10).events),
            (std::vector<std::string>{ws_event.id}));
}

TEST_P(StoreConformance, ConcurrentAppendsToOneChainKeepItLinked) {
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  Workspace w = AddWorkspace();

  std::mutex mu;
  std::vector<std::string> failures;
  auto fail = [&](std::string what) {
    std::lock_guard lock(mu);
    failures.push_back(std::move(what));
  };
  std::atomic<bool> writing{true};
  std::atomic<bool> reading{false};
  std::atomic<int> reads{0};

  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      // Start once the reader runs: the writes can be over before it is first scheduled.
      while (!reading.load()) std::this_thread::yield();
      for (int i = 0; i < kEach; ++i) {
        try {
          auto tx = store().Begin();
          AppendAudit(*tx, Actor(), Record(w.id, "thread.append", "thread" + std::to_string(t)),
                      kT0 + i);
          tx->Commit();
        } catch (const std::exception& e) {
          fail("writer " + std::to_string(t) + ": " + e.what());
        }
      }
    });
  }
  // A reader meanwhile never sees a broken chain.
  std::thread reader([&] {
    reading.store(true);
    while (writing.load()) {
      try {
        auto page = store().AuditEvents(w.id, std::nullopt, 20);
        for (size_t i = 0; i + 1 < page.events.size(); ++i) {
          if (page.events[i].prev_hash != page.events[i + 1].hash ||
              page.events[i].seq <= page.events[i + 1].seq) {
            fail("reader saw an unlinked page at seq " + std::to_string(page.events[i].seq));
          }
        }
        reads.fetch_add(1);
      } catch (const std::exception& e) {
        fail(std::string("reader: ") + e.what());
      }
    }
  });
  for (auto& th : writers) th.join();
  writing.store(false);
  reader.join();

  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures.at(0);
  EXPECT_GT(reads.load(), 0);

  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_TRUE(v.valid) << "first invalid: " << v.first_invalid_id;
  EXPECT_EQ(v.checked, kThreads * kEach);

  auto all = store().AuditChainSegment(w.id, 0, 1000);
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  std::set<std::string> ids;
  std::map<std::string, int> per_thread;
  for (size_t i = 0; i < all.size(); ++i) {
    ids.insert(all[i].id);
    ++per_thread[all[i].target_id];
    if (i > 0) {
      EXPECT_GT(all[i].seq, all[i - 1].seq);
    }
  }
  EXPECT_EQ(ids.size(), all.size());
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(per_thread["thread" + std::to_string(t)], kEach);
}

}  // namespace
}  // namespace gh::conformance
