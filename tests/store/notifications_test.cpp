// The store conformance suite (see conformance.h). Notifications: rules stored and replaced,
// preferences, the in-app inbox visible only while its user is an active member of its
// workspace, read marks, digest lines taken once, the cross-process throttle, and retention.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>

#include "conformance.h"

namespace gh::conformance {
namespace {

Notification NewNotification(const std::string& user, const std::string& ws, UnixTime at) {
  Notification n;
  n.id = NewTimeOrderedId("ntf");
  n.user_id = user;
  n.workspace_id = ws;
  n.type = "member.joined";
  n.category = "invite_access";
  n.title = "Zoë joined – Zürich ✓";
  n.body = "Role: viewer";
  n.created_at = at;
  n.link = "/w/" + ws + "/settings/team";
  return n;
}

}  // namespace

TEST_P(StoreConformance, NotificationRulesAreStoredAndReplaced) {
  Workspace w = AddWorkspace();
  NotificationRule r;
  r.workspace_id = w.id;
  r.type = "member.invited";
  r.channels = {"email", "in_app"};
  r.roles = {"owner", "role_x"};
  r.actor = true;
  r.users = {"usr_a", "usr_b"};
  r.frequency = "daily_digest";
  r.updated_at = kT0;
  InTx([&](WriteTx& tx) { tx.PutNotificationRule(r); });
  auto got = store().NotificationRules(w.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].channels, r.channels);
  EXPECT_EQ(got[0].roles, r.roles);
  EXPECT_EQ(got[0].users, r.users);
  EXPECT_TRUE(got[0].actor);
  EXPECT_FALSE(got[0].subject);
  EXPECT_EQ(got[0].frequency, "daily_digest");
  r.channels = {};
  r.subject = true;
  r.updated_at = kT0 + 5;
  InTx([&](WriteTx& tx) { tx.PutNotificationRule(r); });
  got = store().NotificationRules(w.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].channels.empty());
  EXPECT_TRUE(got[0].subject);
  EXPECT_EQ(got[0].updated_at, kT0 + 5);
  bool deleted = false;
  InTx([&](WriteTx& tx) { deleted = tx.DeleteNotificationRule(w.id, "member.invited"); });
  EXPECT_TRUE(deleted);
  EXPECT_TRUE(store().NotificationRules(w.id).empty());
}

TEST_P(StoreConformance, NotificationPreferencesDefaultToNoneAndAreReplaced) {
  User u = AddUser();
  EXPECT_FALSE(store().NotificationPreferencesOf(u.id).has_value());
  InTx([&](WriteTx& tx) {
    tx.PutNotificationPreferences(u.id, {"off", "daily_digest", "immediate"}, kT0);
  });
  auto p = store().NotificationPreferencesOf(u.id);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->invite_access, "off");
  EXPECT_EQ(p->security, "daily_digest");
  InTx([&](WriteTx& tx) {
    tx.PutNotificationPreferences(u.id, {"immediate", "off", "off"}, kT0 + 1);
  });
  EXPECT_EQ(store().NotificationPreferencesOf(u.id)->system, "off");
}

TEST_P(StoreConformance, TheInboxShowsOnlyWorkspacesTheUserIsAnActiveMemberOf) {
  User u = AddUser();
  Workspace a = AddWorkspace(), b = AddWorkspace();
  AddMember(a.id, u.id, "owner");
  AddMember(b.id, u.id, "viewer");
  std::vector<Notification> in_a;
  InTx([&](WriteTx& tx) {
    for (int i = 0; i < 3; ++i) {
      in_a.push_back(NewNotification(u.id, a.id, kT0 + i));
      tx.InsertNotification(in_a.back());
    }
    tx.InsertNotification(NewNotification(u.id, b.id, kT0 + 9));
  });
  auto all = store().NotificationsOf(u.id, "", false, "", 10);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].workspace_id, b.id);  // newest first
  EXPECT_EQ(all[1].id, in_a[2].id);
  EXPECT_EQ(all[1].title, in_a[2].title);
  EXPECT_EQ(all[1].link, in_a[2].link);
  auto page = store().NotificationsOf(u.id, a.id, false, in_a[2].id, 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, in_a[1].id);
  EXPECT_EQ(store().CountUnreadNotifications(u.id, ""), 4);
  EXPECT_EQ(store().CountUnreadNotifications(u.id, a.id), 3);
  bool marked = false;
  InTx([&](WriteTx& tx) { marked = tx.MarkNotificationRead(u.id, in_a[0].id, kT0 + 20); });
  EXPECT_TRUE(marked);
  InTx([&](WriteTx& tx) { marked = tx.MarkNotificationRead(u.id, in_a[0].id, kT0 + 21); });
  EXPECT_FALSE(marked);  // already read
  EXPECT_EQ(store().NotificationById(u.id, in_a[0].id)->read_at, kT0 + 20);
  EXPECT_EQ(store().NotificationsOf(u.id, a.id, true, "", 10).size(), 2u);
  int64_t n = 0;
  InTx([&](WriteTx& tx) { n = tx.MarkAllNotificationsRead(u.id, a.id, kT0 + 30); });
  EXPECT_EQ(n, 2);
  EXPECT_EQ(store().CountUnreadNotifications(u.id, ""), 1);
  // Someone else's id is not found; a deactivated or removed member sees nothing there.
  User other = AddUser();
  EXPECT_FALSE(store().NotificationById(other.id, in_a[0].id).has_value());
  InTx([&](WriteTx& tx) { tx.SetMembershipSuspension(b.id, u.id, kT0 + 35, "review"); });
  EXPECT_EQ(store().NotificationsOf(u.id, "", false, "", 10).size(), 3u);
  EXPECT_EQ(store().MembershipOf(b.id, u.id)->suspended_reason, "review");
  InTx([&](WriteTx& tx) { tx.SetMembershipSuspension(b.id, u.id, std::nullopt, ""); });
  EXPECT_EQ(store().NotificationsOf(u.id, "", false, "", 10).size(), 4u);
  InTx([&](WriteTx& tx) { tx.SetMembershipState(b.id, u.id, kT0 + 40, true); });
  EXPECT_EQ(store().NotificationsOf(u.id, "", false, "", 10).size(), 3u);
  EXPECT_EQ(store().CountUnreadNotifications(u.id, b.id), 0);
  InTx([&](WriteTx& tx) { tx.DeleteMembership(a.id, u.id); });
  EXPECT_TRUE(store().NotificationsOf(u.id, "", false, "", 10).empty());
  EXPECT_FALSE(store().NotificationById(u.id, in_a[1].id).has_value());
}

TEST_P(StoreConformance, DigestLinesAreTakenOnceWhenDue) {
  User u = AddUser();
  Workspace w = AddWorkspace();
  auto line = [&](UnixTime due, const char* title) {
    return DigestItem{NewTimeOrderedId("dgi"), u.id, w.id, "api_key.created", "security",
                      title, due - 100, due};
  };
  InTx([&](WriteTx& tx) {
    tx.InsertDigestItem(line(kT0 + 10, "first"));
    tx.InsertDigestItem(line(kT0 + 20, "second"));
    tx.InsertDigestItem(line(kT0 + 1000, "later"));
  });
  auto due = store().DueDigests(kT0 + 50, 100);
  EXPECT_NE(std::find(due.begin(), due.end(), std::make_pair(u.id, w.id)), due.end());
  std::vector<DigestItem> taken;
  InTx([&](WriteTx& tx) { taken = tx.TakeDigestItems(u.id, w.id, kT0 + 50); });
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].title, "first");
  InTx([&](WriteTx& tx) { taken = tx.TakeDigestItems(u.id, w.id, kT0 + 50); });
  EXPECT_TRUE(taken.empty());
  InTx([&](WriteTx& tx) { taken = tx.TakeDigestItems(u.id, w.id, std::nullopt); });
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].title, "later");
}

TEST_P(StoreConformance, AThrottleKeyIsTakenByOneProcessPerPeriod) {
  std::string key = "rate_limit.exceeded:" + NewId("key");
  auto other = OpenStore(url());
  std::atomic<int> taken{0};
  std::latch start(2);
  auto race = [&](Store& s) {
    start.arrive_and_wait();
    if (s.Write([&](WriteTx& tx) { return tx.TakeThrottle(key, kT0, kT0 + 3600); })) ++taken;
  };
  std::thread a([&] { race(store()); });
  std::thread b([&] { race(*other); });
  a.join();
  b.join();
  EXPECT_EQ(taken.load(), 1);
  bool again = true;
  InTx([&](WriteTx& tx) { again = tx.TakeThrottle(key, kT0 + 3599, kT0 + 7199); });
  EXPECT_FALSE(again);
  InTx([&](WriteTx& tx) { again = tx.TakeThrottle(key, kT0 + 3600, kT0 + 7200); });
  EXPECT_TRUE(again);
}

TEST_P(StoreConformance, OldNotificationsArePurged) {
  User u = AddUser();
  Workspace w = AddWorkspace();
  AddMember(w.id, u.id, "owner");
  Notification old_one = NewNotification(u.id, w.id, kT0 - 100 * 86400);
  Notification recent = NewNotification(u.id, w.id, kT0);
  InTx([&](WriteTx& tx) {
    tx.InsertNotification(old_one);
    tx.InsertNotification(recent);
  });
  int64_t n = 0;
  InTx([&](WriteTx& tx) { n = tx.PurgeNotifications(kT0 - 90 * 86400, kT0, 1000); });
  EXPECT_GE(n, 1);
  EXPECT_FALSE(store().NotificationById(u.id, old_one.id).has_value());
  EXPECT_TRUE(store().NotificationById(u.id, recent.id).has_value());
}

}  // namespace gh::conformance
