// The pure parts of notifications: the catalogue and its defaults, what the host may raise,
// Slack's messages and answers, and local time in a workspace's zone.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/month.h"
#include "core/time.h"
#include "service/notification_types.h"
#include "service/slack.h"

namespace gh {
namespace {

UnixTime At(const char* rfc3339) { return ParseRfc3339(rfc3339).value(); }

TEST(NotificationTypes, TheDocumentsTwelveTypesInItsThreeCategories) {
  const auto& all = NotificationTypes::All();
  ASSERT_EQ(all.size(), 12u);
  int per[3] = {};
  for (const auto& t : all) {
    ASSERT_TRUE(NotificationTypes::IsCategory(t.category)) << t.id;
    per[t.category == "invite_access" ? 0 : t.category == "security" ? 1 : 2]++;
  }
  EXPECT_EQ(per[0], 4);
  EXPECT_EQ(per[1], 5);
  EXPECT_EQ(per[2], 3);
}

TEST(NotificationTypes, DefaultsAreTheDocumentsExamples) {
  std::vector<std::string> admins = {"owner", "admin"};
  auto invited = NotificationTypes::DefaultRule("ws_1", "member.invited", admins);
  EXPECT_EQ(invited.channels, (std::vector<std::string>{"email", "slack"}));
  EXPECT_EQ(invited.roles, admins);
  EXPECT_FALSE(invited.actor);
  EXPECT_EQ(invited.frequency, "immediate");
  auto created = NotificationTypes::DefaultRule("ws_1", "api_key.created", admins);
  EXPECT_EQ(created.channels, (std::vector<std::string>{"email", "webhook"}));
  EXPECT_TRUE(created.actor);
  auto own = NotificationTypes::DefaultRule("ws_1", "deploy.failed", admins);
  EXPECT_EQ(own.channels, (std::vector<std::string>{"webhook", "in_app"}));
}

TEST(NotificationTypes, AuditActionsRaiseTheirTypes) {
  EXPECT_EQ(NotificationTypes::ForAuditAction("project.member_added")->id, "project.access_granted");
  EXPECT_EQ(NotificationTypes::ForAuditAction("api_key.revoked")->id, "api_key.revoked");
  EXPECT_EQ(NotificationTypes::ForAuditAction("member.removed"), nullptr);
  EXPECT_EQ(NotificationTypes::ForAuditAction("budget.threshold_reached"), nullptr);
}

TEST(NotificationTypes, TheHostRaisesItsOwnTypesNotGatehouses) {
  EXPECT_TRUE(NotificationTypes::HostMayRaise("budget.threshold_reached"));
  EXPECT_TRUE(NotificationTypes::HostMayRaise("quality.degraded"));
  EXPECT_TRUE(NotificationTypes::HostMayRaise("deploy.failed"));
  EXPECT_FALSE(NotificationTypes::HostMayRaise("rate_limit.exceeded"));
  EXPECT_FALSE(NotificationTypes::HostMayRaise("anomaly.detected"));
  EXPECT_FALSE(NotificationTypes::HostMayRaise("member.invited"));
  EXPECT_FALSE(NotificationTypes::HostMayRaise("api_key.rotated"));
  EXPECT_FALSE(NotificationTypes::HostMayRaise("Deploy.Failed"));
  EXPECT_FALSE(NotificationTypes::HostMayRaise("deploy"));
  EXPECT_FALSE(NotificationTypes::HostMayRaise(""));
}

TEST(Slack, MessageHasTextAndBlocksWithEscapedMrkdwn) {
  auto j = nlohmann::json::parse(SlackMessage(
      {"Ana <ana@x> invited bob", "Role: viewer & more", "Acme · 09:00", "https://g/w/ws_1", "#ops"}));
  EXPECT_EQ(j["text"], "Ana &lt;ana@x&gt; invited bob: Role: viewer &amp; more");
  EXPECT_EQ(j["channel"], "#ops");
  ASSERT_EQ(j["blocks"].size(), 2u);
  EXPECT_EQ(j["blocks"][0]["type"], "section");
  EXPECT_EQ(j["blocks"][0]["text"]["text"], "*Ana &lt;ana@x&gt; invited bob*\nRole: viewer &amp; more");
  EXPECT_EQ(j["blocks"][0]["accessory"]["url"], "https://g/w/ws_1");
  EXPECT_EQ(j["blocks"][1]["type"], "context");
  auto bare = nlohmann::json::parse(SlackMessage({"Title", "", "", "", ""}));
  EXPECT_FALSE(bare.contains("channel"));
  EXPECT_EQ(bare["blocks"].size(), 1u);
  EXPECT_FALSE(bare["blocks"][0].contains("accessory"));
}

TEST(Slack, AnswersArePermanentRetryableOrFatal) {
  EXPECT_EQ(ClassifySlackAnswer(200, "ok"), SlackOutcome::kDelivered);
  EXPECT_EQ(ClassifySlackAnswer(429, "rate_limited"), SlackOutcome::kRetry);
  EXPECT_EQ(ClassifySlackAnswer(500, "rollup_error"), SlackOutcome::kRetry);
  EXPECT_EQ(ClassifySlackAnswer(0, ""), SlackOutcome::kRetry);
  EXPECT_EQ(ClassifySlackAnswer(400, "invalid_payload"), SlackOutcome::kFailed);
  EXPECT_EQ(ClassifySlackAnswer(404, "channel_not_found"), SlackOutcome::kFailed);
  EXPECT_EQ(ClassifySlackAnswer(403, "action_prohibited"), SlackOutcome::kFailed);
  EXPECT_EQ(ClassifySlackAnswer(404, "no_service"), SlackOutcome::kDisconnect);
  EXPECT_EQ(ClassifySlackAnswer(410, "channel_is_archived"), SlackOutcome::kDisconnect);
  EXPECT_EQ(ClassifySlackAnswer(403, "invalid_token"), SlackOutcome::kDisconnect);
  EXPECT_EQ(ClassifySlackAnswer(410, ""), SlackOutcome::kDisconnect);
}

TEST(LocalTime, NextNineOClockInTheWorkspacesZone) {
  // 08:30 UTC is 09:30 in Paris (winter, UTC+1): the next 09:00 there is tomorrow 08:00 UTC.
  EXPECT_EQ(NextLocalHour("Europe/Paris", At("2026-12-06T08:30:00Z"), 9),
            At("2026-12-07T08:00:00Z"));
  EXPECT_EQ(NextLocalHour("Europe/Paris", At("2026-12-06T07:59:59Z"), 9),
            At("2026-12-06T08:00:00Z"));
  EXPECT_EQ(NextLocalHour("UTC", At("2026-12-31T09:00:00Z"), 9), At("2026-12-31T09:00:00Z"));
  EXPECT_EQ(NextLocalHour("UTC", At("2026-12-31T09:00:01Z"), 9), At("2027-01-01T09:00:00Z"));
  // New York in summer is UTC-4: 09:00 there is 13:00 UTC.
  EXPECT_EQ(NextLocalHour("America/New_York", At("2026-07-01T00:00:00Z"), 9),
            At("2026-07-01T13:00:00Z"));
  // Not a zone: UTC.
  EXPECT_EQ(NextLocalHour("Mars/Olympus", At("2026-12-06T10:00:00Z"), 9),
            At("2026-12-07T09:00:00Z"));
}

TEST(LocalTime, FormatsAsPeopleThereReadIt) {
  EXPECT_EQ(FormatLocalTime("Europe/Paris", At("2026-12-06T08:00:00Z")), "2026-12-06 09:00 CET");
  EXPECT_EQ(FormatLocalTime("UTC", At("2026-12-06T08:00:00Z")), "2026-12-06 08:00 UTC");
}

}  // namespace
}  // namespace gh
