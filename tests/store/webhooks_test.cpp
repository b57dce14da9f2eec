// The store conformance suite (see conformance.h). The event bus and webhooks: outbox events in
// order and deleted once (also by two stores at once), endpoints, deliveries claimed by one
// process at a time, attempts recorded, the log paged newest first and purged when finished.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>

#include "conformance.h"

namespace gh::conformance {
namespace {

auto Fields(const WebhookEndpoint& e) {
  return std::tie(e.id, e.workspace_id, e.url, e.description, e.event_types, e.enabled,
                  e.disabled_reason, e.secret, e.previous_secret, e.previous_secret_expires_at,
                  e.created_at, e.updated_at);
}

auto Fields(const WebhookDelivery& d) {
  return std::tie(d.id, d.endpoint_id, d.workspace_id, d.event_type, d.payload, d.status,
                  d.attempts, d.last_status_code, d.last_error, d.next_attempt_at, d.created_at,
                  d.updated_at);
}

WebhookEndpoint NewEndpoint(const std::string& ws, UnixTime at = kT0) {
  WebhookEndpoint e;
  e.id = NewTimeOrderedId("whk");
  e.workspace_id = ws;
  e.url = "https://hooks.example.com/in?x=ü";
  e.description = "CI – Zürich";
  e.event_types = {"api_key.*", "member.removed"};
  e.secret = "whsec_c2VjcmV0";
  e.created_at = e.updated_at = at;
  return e;
}

WebhookDelivery NewDelivery(const WebhookEndpoint& e, UnixTime at) {
  WebhookDelivery d;
  d.id = NewTimeOrderedId("msg");
  d.endpoint_id = e.id;
  d.workspace_id = e.workspace_id;
  d.event_type = "member.removed";
  d.payload = R"({"type":"member.removed"})";
  d.next_attempt_at = at;
  d.created_at = d.updated_at = at;
  return d;
}

TEST_P(StoreConformance, OutboxEventsAreReadInOrderAndDeletedOnce) {
  Workspace w = AddWorkspace();
  std::vector<OutboxEvent> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back({NewTimeOrderedId("evt"), w.id, "member.removed", "{\"n\":" + std::to_string(i) + "}",
                      kT0 + 2 - i});
  }
  InTx([&](WriteTx& tx) {
    for (const auto& e : events) tx.InsertOutboxEvent(e);
  });
  auto pending = store().PendingOutboxEvents(1000);
  std::vector<std::string> mine;
  for (const auto& e : pending) {
    if (e.workspace_id == w.id) mine.push_back(e.id);
  }
  EXPECT_EQ(mine, (std::vector<std::string>{events[2].id, events[1].id, events[0].id}));
  // Two stores dispatching the same event: exactly one deletes it.
  auto other = OpenStore(url());
  std::atomic<int> deleted{0};
  std::latch start(2);
  auto race = [&](Store& s) {
    start.arrive_and_wait();
    if (s.Write([&](WriteTx& tx) { return tx.DeleteOutboxEvent(events[0].id); })) ++deleted;
  };
  std::thread a([&] { race(store()); });
  std::thread b([&] { race(*other); });
  a.join();
  b.join();
  EXPECT_EQ(deleted.load(), 1);
}

TEST_P(StoreConformance, WebhookEndpointsReadBackAndUpdateWhole) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  WebhookEndpoint e = NewEndpoint(w.id);
  InTx([&](WriteTx& tx) { tx.InsertWebhookEndpoint(e); });
  ASSERT_EQ(store().WebhookEndpoints(w.id).size(), 1u);
  EXPECT_EQ(Fields(store().WebhookEndpoints(w.id)[0]), Fields(e));
  EXPECT_TRUE(store().WebhookEndpoints(other.id).empty());
  EXPECT_FALSE(store().WebhookEndpointById(other.id, e.id).has_value());
  e.enabled = false;
  e.disabled_reason = "410";
  e.previous_secret = e.secret;
  e.previous_secret_expires_at = kT0 + 86400;
  e.secret = "whsec_bmV3";
  e.event_types.clear();
  e.updated_at = kT0 + 5;
  InTx([&](WriteTx& tx) {
    ASSERT_TRUE(tx.LockWebhookEndpoint(w.id, e.id).has_value());
    tx.UpdateWebhookEndpoint(e);
  });
  EXPECT_EQ(Fields(*store().WebhookEndpointById(w.id, e.id)), Fields(e));
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.DeleteWebhookEndpoint(other.id, e.id)); });
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.DeleteWebhookEndpoint(w.id, e.id)); });
  EXPECT_FALSE(store().WebhookEndpointById(w.id, e.id).has_value());
}

TEST_P(StoreConformance, AWebhookDeliveryIsClaimedByOneProcessAndItsLogPages) {
  Workspace w = AddWorkspace();
  WebhookEndpoint e = NewEndpoint(w.id);
  std::vector<WebhookDelivery> ds;
  for (int i = 0; i < 3; ++i) ds.push_back(NewDelivery(e, kT0 + i));
  InTx([&](WriteTx& tx) {
    tx.InsertWebhookEndpoint(e);
    for (const auto& d : ds) tx.InsertWebhookDelivery(d);
  });
  EXPECT_EQ(Fields(*store().WebhookDeliveryById(e.id, ds[0].id)), Fields(ds[0]));
  // Due at kT0 + 1: the two oldest.
  std::vector<std::string> due;
  for (const auto& d : store().DueWebhookDeliveries(kT0 + 1, 100)) {
    if (d.endpoint_id == e.id) due.push_back(d.id);
  }
  EXPECT_EQ(due, (std::vector<std::string>{ds[0].id, ds[1].id}));
  // Two stores claim one delivery: one wins; the lease hides it from the due list.
  auto other = OpenStore(url());
  std::atomic<int> claimed{0};
  std::latch start(2);
  auto race = [&](Store& s) {
    start.arrive_and_wait();
    if (s.Write([&](WriteTx& tx) { return tx.ClaimWebhookDelivery(ds[0].id, kT0 + 1, kT0 + 61); })) {
      ++claimed;
    }
  };
  std::thread a([&] { race(store()); });
  std::thread b([&] { race(*other); });
  a.join();
  b.join();
  EXPECT_EQ(claimed.load(), 1);
  for (const auto& d : store().DueWebhookDeliveries(kT0 + 1, 100)) EXPECT_NE(d.id, ds[0].id);
  // An attempt recorded: succeeded, no next attempt; it can no longer be claimed.
  WebhookDelivery done = ds[0];
  done.status = "succeeded";
  done.attempts = 1;
  done.last_status_code = 204;
  done.next_attempt_at.reset();
  done.updated_at = kT0 + 2;
  InTx([&](WriteTx& tx) { tx.RecordWebhookAttempt(done); });
  EXPECT_EQ(Fields(*store().WebhookDeliveryById(e.id, done.id)), Fields(done));
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.ClaimWebhookDelivery(done.id, kT0 + 100, kT0 + 160)); });
  // The log, newest first, a page at a time.
  auto first = store().WebhookDeliveries(e.id, "", 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, ds[2].id);
  EXPECT_EQ(first[1].id, ds[1].id);
  auto second = store().WebhookDeliveries(e.id, first[1].id, 2);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, ds[0].id);
  // Retention removes finished deliveries only.
  InTx([&](WriteTx& tx) { EXPECT_GE(tx.PurgeWebhookDeliveries(kT0 + 3, 100), 1); });
  EXPECT_FALSE(store().WebhookDeliveryById(e.id, done.id).has_value());
  EXPECT_TRUE(store().WebhookDeliveryById(e.id, ds[1].id).has_value());
  // Deleting the endpoint deletes its log.
  InTx([&](WriteTx& tx) { tx.DeleteWebhookEndpoint(w.id, e.id); });
  EXPECT_FALSE(store().WebhookDeliveryById(e.id, ds[1].id).has_value());
}

}  // namespace
}  // namespace gh::conformance
