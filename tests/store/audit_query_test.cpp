// The store conformance suite (see conformance.h). The audit log at scale, reading: filters, keyset
// pages, and the export streams.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "conformance.h"
#include "core/audit_chain.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, FilteredAuditEventsApplyEachFilterAndTheirCombination) {
  Workspace w = AddWorkspace();
  auto e = AppendSpecs(w.id, {{"usr_a", "member.invited", "", "usr_x", kT0},
                              {"usr_b", "member.removed", "prj_1", "usr_y", kT0 + 10},
                              {"usr_a", "api_key.created", "prj_1", "key_1", kT0 + 20},
                              {"usr_a", "member.role_changed", "prj_2", "usr_x", kT0 + 30},
                              {"usr_b", "memberx.odd", "", "usr_x", kT0 + 40},
                              {"usr_a", "report.exported", "", "rep_1", kT0 + 50}});
  AuditFilter f{.workspace_id = w.id};
  EXPECT_EQ(FilteredIds(f), Reversed(Ids(e)));

  AuditFilter actor = f;
  actor.actor_id = "usr_a";
  EXPECT_EQ(FilteredIds(actor), (std::vector<std::string>{e[5].id, e[3].id, e[2].id, e[0].id}));

  AuditFilter exact = f;
  exact.action = "member.removed";
  EXPECT_EQ(FilteredIds(exact), (std::vector<std::string>{e[1].id}));

  AuditFilter prefix = f;
  prefix.action_prefix = "member.";  // not memberx.odd
  EXPECT_EQ(FilteredIds(prefix), (std::vector<std::string>{e[3].id, e[1].id, e[0].id}));

  AuditFilter project = f;
  project.project_id = "prj_1";
  EXPECT_EQ(FilteredIds(project), (std::vector<std::string>{e[2].id, e[1].id}));

  AuditFilter target = f;
  target.target_id = "usr_x";
  EXPECT_EQ(FilteredIds(target), (std::vector<std::string>{e[4].id, e[3].id, e[0].id}));

  AuditFilter range = f;
  range.from = kT0 + 10;  // inclusive
  range.to = kT0 + 40;    // exclusive
  EXPECT_EQ(FilteredIds(range), (std::vector<std::string>{e[3].id, e[2].id, e[1].id}));

  AuditFilter combined = f;
  combined.actor_id = "usr_a";
  combined.action_prefix = "member.";
  combined.from = kT0 + 1;
  EXPECT_EQ(FilteredIds(combined), (std::vector<std::string>{e[3].id}));

  AuditFilter visible = f;
  visible.visible_projects = std::vector<std::string>{"prj_2"};
  EXPECT_EQ(FilteredIds(visible), (std::vector<std::string>{e[5].id, e[4].id, e[3].id, e[0].id}));
  visible.visible_projects = std::vector<std::string>{};
  EXPECT_EQ(FilteredIds(visible), (std::vector<std::string>{e[5].id, e[4].id, e[0].id}));

  AuditFilter other{.workspace_id = AddWorkspace().id};
  EXPECT_TRUE(FilteredIds(other).empty());
}

TEST_P(StoreConformance, FilteredAuditPagesFollowTimeThenSeqAndStayStableUnderAppends) {
  Workspace w = AddWorkspace();
  // Out-of-order times (a clock step back) and ties: the order is (occurred_at, seq) desc.
  auto e = AppendSpecs(w.id, {{"usr_a", "x.one", "", "t", kT0 + 5},
                              {"usr_a", "x.two", "", "t", kT0 + 5},
                              {"usr_a", "x.three", "", "t", kT0 + 1},
                              {"usr_a", "x.four", "", "t", kT0 + 9},
                              {"usr_a", "x.five", "", "t", kT0 + 5}});
  AuditFilter f{.workspace_id = w.id};
  EXPECT_EQ(FilteredIds(f),
            (std::vector<std::string>{e[3].id, e[4].id, e[1].id, e[0].id, e[2].id}));
  for (int limit : {1, 2, 3, 5, 6}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::string> expected = FilteredIds(f);
    std::vector<std::string> seen;
    std::optional<AuditKey> after;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = store().FilteredAuditEvents(f, after, limit);
      for (const auto& ev : page.events) seen.push_back(ev.id);
      if (!page.next) break;
      EXPECT_EQ(page.next->seq, page.events.back().seq);
      after = page.next;
      if (pages == 0) AppendSpecs(w.id, {{"usr_a", "x.later", "", "t", kT0 + 100}});
    }
    EXPECT_EQ(seen, expected) << "events appended meanwhile do not shift the pages";
  }
}

TEST_P(StoreConformance, NounPrefixPagesInKeysetOrderOverSingleAndBatchAppends) {
  Workspace w = AddWorkspace();
  // Ties and a clock step back; nouns that share the prefix's letters must not match.
  auto e = AppendSpecs(w.id, {{"usr_a", "member.invited", "", "t", kT0 + 5},
                              {"usr_a", "members.listed", "", "t", kT0 + 5},
                              {"usr_a", "member.removed", "prj_1", "t", kT0 + 5},
                              {"usr_a", "member_x.odd", "", "t", kT0 + 6},
                              {"usr_a", "member.joined", "prj_2", "t", kT0 + 1}});
  std::vector<AuditEvent> batch;
  InTx([&](WriteTx& tx) {
    std::string prev = tx.LockAuditChain(w.id);
    for (int i = 0; i < 60; ++i) {  // the batch path stores the noun as well
      AuditEvent ev;
      ev.id = NewId("evt");
      ev.workspace_id = w.id;
      ev.occurred_at = kT0 + 5 + i % 3;
      ev.action = i % 2 ? "member.batched" : "memberx.batched";
      ev.actor_type = ActorType::kUser;
      ev.actor_id = "usr_b";
      ev.details_json = "{}";
      ev.prev_hash = prev;
      ev.hash = AuditEventHash(ev);
      prev = ev.hash;
      batch.push_back(ev);
    }
    tx.AppendAuditEvents(batch);
  });
  std::vector<AuditEvent> all = store().AuditChainSegment(w.id, 0, 1000);
  std::vector<AuditEvent> members;
  for (const auto& ev : all) {
    if (ev.action.rfind("member.", 0) == 0) members.push_back(ev);
  }
  std::sort(members.begin(), members.end(), [](const AuditEvent& x, const AuditEvent& y) {
    return std::tie(x.occurred_at, x.seq) > std::tie(y.occurred_at, y.seq);
  });
  ASSERT_EQ(members.size(), 33u);
  AuditFilter f{.workspace_id = w.id, .action_prefix = "member."};
  EXPECT_EQ(FilteredIds(f), Ids(members));
  for (int limit : {1, 7, 33, 34}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::string> seen;
    std::optional<AuditKey> after;
    for (int pages = 0; pages < 50; ++pages) {
      auto page = store().FilteredAuditEvents(f, after, limit);
      for (const auto& ev : page.events) seen.push_back(ev.id);
      if (!page.next) break;
      after = page.next;
    }
    EXPECT_EQ(seen, Ids(members));
  }
  AuditFilter visible = f;
  visible.visible_projects = std::vector<std::string>{"prj_2"};
  std::vector<std::string> want;
  for (const auto& ev : members) {
    if (ev.project_id != "prj_1") want.push_back(ev.id);
  }
  EXPECT_EQ(FilteredIds(visible), want);
  EXPECT_EQ(std::find(want.begin(), want.end(), e[2].id), want.end());
}

// Every event left in `stream`, read `max` at a time (copies: the stream reuses its event).
std::vector<AuditEvent> ReadAll(AuditEventStream& stream, int max) {
  std::vector<AuditEvent> out;
  while (stream.Read(max, [&](AuditEvent& e) { out.push_back(e); }) == max) {
  }
  return out;
}

TEST_P(StoreConformance, AuditStreamsReadWhatThePagesReadForEveryFilter) {
  Workspace w = AddWorkspace();
  auto e = AppendSpecs(w.id, {{"usr_a", "member.invited", "", "usr_x", kT0},
                              {"usr_b", "member.removed", "prj_1", "usr_y", kT0 + 10},
                              {"usr_a", "api_key.created", "prj_1", "key_1", kT0 + 20},
                              {"usr_a", "member.role_changed", "prj_2", "usr_x", kT0 + 20},
                              {"usr_b", "memberx.odd", "", "usr_x", kT0 + 40}});
  {  // details with quotes and commas, a name with a comma and no user agent
    Principal p{User{}, "", ClientInfo{"2001:db8::7", ""}};
    p.user.id = "usr_c";
    p.user.name = "Carol, \"C\"";
    p.user.email = "carol@example.com";
    AuditRecord r{
        w.id, "report.exported", "report", "rep_1", "=Report", "", R"({"a":"b,\"c\"","n":[1,2]})"};
    auto tx = store().Begin();
    e.push_back(AppendAudit(*tx, p, r, kT0 + 50));
    tx->Commit();
  }
  AuditFilter all{.workspace_id = w.id};
  std::vector<AuditFilter> filters{all};
  auto with = [&](auto change) {
    AuditFilter f = all;
    change(f);
    filters.push_back(f);
  };
  with([](AuditFilter& f) { f.actor_id = "usr_a"; });
  with([](AuditFilter& f) { f.action = "member.removed"; });
  with([](AuditFilter& f) { f.action_prefix = "member."; });
  with([](AuditFilter& f) { f.project_id = "prj_1"; });
  with([](AuditFilter& f) { f.target_id = "usr_x"; });
  with([](AuditFilter& f) {
    f.from = kT0 + 10;
    f.to = kT0 + 40;
  });
  with([](AuditFilter& f) { f.visible_projects = std::vector<std::string>{"prj_2"}; });
  with([](AuditFilter& f) { f.visible_projects = std::vector<std::string>{}; });
  with([](AuditFilter& f) {
    f.actor_id = "usr_a";
    f.action_prefix = "member.";
    f.from = kT0 + 1;
  });
  with([](AuditFilter& f) { f.actor_id = "usr_nobody"; });
  for (size_t i = 0; i < filters.size(); ++i) {
    const AuditFilter& f = filters[i];
    std::vector<AuditEvent> paged = store().FilteredAuditEvents(f, std::nullopt, 100).events;
    for (int max : {1, 2, 1000}) {
      SCOPED_TRACE("filter " + std::to_string(i) + ", batches of " + std::to_string(max));
      auto stream = store().StreamAuditEvents(f);
      std::vector<AuditEvent> got = ReadAll(*stream, max);
      ASSERT_EQ(Ids(got), Ids(paged));
      for (size_t k = 0; k < got.size(); ++k) {
        AuditEvent want = paged[k];
        want.prev_hash.clear();  // streams leave the chain hashes out
        want.hash.clear();
        EXPECT_EQ(std::tie(got[k].seq, got[k].id, got[k].workspace_id, got[k].occurred_at,
                           got[k].action, got[k].actor_type, got[k].actor_id, got[k].actor_name,
                           got[k].actor_email, got[k].target_type, got[k].target_id,
                           got[k].target_name, got[k].project_id, got[k].ip, got[k].user_agent,
                           got[k].details_json, got[k].prev_hash, got[k].hash),
                  std::tie(want.seq, want.id, want.workspace_id, want.occurred_at, want.action,
                           want.actor_type, want.actor_id, want.actor_name, want.actor_email,
                           want.target_type, want.target_id, want.target_name, want.project_id,
                           want.ip, want.user_agent, want.details_json, want.prev_hash, want.hash));
      }
      EXPECT_EQ(stream->Read(max, [](AuditEvent&) {}), 0) << "an exhausted stream stays so";
    }
  }
  EXPECT_EQ(FilteredIds(all).size(), 6u);
}

TEST_P(StoreConformance, AuditStreamReadsOneSnapshotWhileEventsArePurgedAndAppended) {
  Workspace w = AddWorkspace();
  std::vector<Spec> specs;
  for (int i = 0; i < 12; ++i) specs.push_back({"usr_a", "x.event", "", "t", kT0 + i * 100});
  auto e = AppendSpecs(w.id, specs);
  AuditFilter f{.workspace_id = w.id};
  auto stream = store().StreamAuditEvents(f);
  std::vector<std::string> seen;
  auto take = [&](AuditEvent& ev) { seen.push_back(ev.id); };
  ASSERT_EQ(stream->Read(3, take), 3);
  // Meanwhile retention deletes the four oldest, and an event older than every other one
  // (a host clock behind) is appended: pages would end without the first and with the second.
  EXPECT_EQ(AuditLog(store()).PurgeChain(w.id, kT0 + 400, 100), 4);
  auto late = AppendSpecs(w.id, {{"usr_a", "x.late", "", "t", kT0 - 50}});
  while (stream->Read(4, take) == 4) {
  }
  EXPECT_EQ(seen, Reversed(Ids(e)));
  // A new stream reads the log as it is now.
  std::vector<std::string> now = Ids(ReadAll(*store().StreamAuditEvents(f), 5));
  std::vector<std::string> want(seen.begin(), seen.begin() + 8);
  want.push_back(late[0].id);
  EXPECT_EQ(now, want);
}

TEST_P(StoreConformance, AuditStreamsBeyondTheSnapshotLimitPageAndSlotsComeBack) {
  Workspace w = AddWorkspace();
  std::vector<Spec> specs;
  for (int i = 0; i < 12; ++i) specs.push_back({"usr_a", "x.event", "", "t", kT0 + i * 100});
  auto e = AppendSpecs(w.id, specs);
  AuditFilter f{.workspace_id = w.id};
  constexpr int kSnapshots = Store::kAuditSnapshotStreams;
  std::vector<std::unique_ptr<AuditEventStream>> streams;
  std::vector<std::vector<std::string>> seen(kSnapshots + 2);
  for (int i = 0; i < kSnapshots + 2; ++i) {
    streams.push_back(store().StreamAuditEvents(f));
    ASSERT_EQ(streams[i]->Read(1, [&](AuditEvent& ev) { seen[i].push_back(ev.id); }), 1);
  }
  EXPECT_EQ(AuditLog(store()).PurgeChain(w.id, kT0 + 400, 100), 4);
  std::vector<std::string> before = Reversed(Ids(e));
  std::vector<std::string> after(before.begin(), before.begin() + 8);
  for (int i = 0; i < kSnapshots + 2; ++i) {
    SCOPED_TRACE("stream " + std::to_string(i));
    for (const auto& id : Ids(ReadAll(*streams[i], 5))) seen[i].push_back(id);
    // The first ones read their snapshot; the others paged and miss what was purged.
    EXPECT_EQ(seen[i], i < kSnapshots ? before : after);
  }
  // Exhausted streams (still alive here) and an abandoned one have given their slots back.
  auto abandoned = store().StreamAuditEvents(f);
  ASSERT_EQ(abandoned->Read(2, [](AuditEvent&) {}), 2);
  abandoned.reset();
  std::vector<std::unique_ptr<AuditEventStream>> again;
  std::vector<std::vector<std::string>> read(kSnapshots);
  for (int i = 0; i < kSnapshots; ++i) {
    again.push_back(store().StreamAuditEvents(f));
    ASSERT_EQ(again[i]->Read(1, [&](AuditEvent& ev) { read[i].push_back(ev.id); }), 1);
  }
  AppendSpecs(w.id, {{"usr_a", "x.late", "", "t", kT0 - 50}});
  for (int i = 0; i < kSnapshots; ++i) {
    for (const auto& id : Ids(ReadAll(*again[i], 3))) read[i].push_back(id);
    EXPECT_EQ(read[i], after) << "stream " << i << " reads a snapshot";
  }
}

TEST_P(StoreConformance, AnAbandonedAuditStreamLeavesItsConnectionUsable) {
  Workspace w = AddWorkspace();
  constexpr int kEvents = 5000;
  InTx([&](WriteTx& tx) {
    std::string prev = tx.LockAuditChain(w.id);
    std::vector<AuditEvent> batch;
    for (int i = 0; i < kEvents; ++i) {
      AuditEvent ev;
      ev.id = NewId("evt");
      ev.workspace_id = w.id;
      ev.occurred_at = kT0 + i;
      ev.action = "x.many";
      ev.actor_type = ActorType::kUser;
      ev.actor_id = "usr_a";
      ev.details_json = R"({"padding":")" + std::string(200, 'p') + R"("})";
      ev.prev_hash = prev;
      ev.hash = AuditEventHash(ev);
      prev = ev.hash;
      batch.push_back(ev);
    }
    tx.AppendAuditEvents(batch);
  });
  AuditFilter f{.workspace_id = w.id};
  for (int round = 0; round < 3; ++round) {
    auto stream = store().StreamAuditEvents(f);
    ASSERT_EQ(stream->Read(5, [](AuditEvent&) {}), 5);
    stream.reset();  // the rest of the rows were still coming
    // The connections it used serve reads and writes as before.
    EXPECT_EQ(FilteredIds(f, 3).size(), 3u);
    AppendSpecs(w.id, {{"usr_a", "x.after", "", "t", kT0 - 1 - round}});
  }
  auto stream = store().StreamAuditEvents(f);
  EXPECT_EQ(ReadAll(*stream, 1000).size(), static_cast<size_t>(kEvents + 3));
}

}  // namespace
}  // namespace gh::conformance
