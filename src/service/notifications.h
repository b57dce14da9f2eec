// Notifications: the workspace's rules per notification type (channels, recipients,
// frequency), people's mail preferences, the in-app inbox, the Slack connection, the host's
// own notifications, and the dispatcher that fans the event bus out to every channel.
//
// The bus (outbox_events) gets a row with every audited change of a workspace and with every
// notification raised on its own (RaiseNotification), in the transaction of the change. The
// dispatcher deletes each row in the transaction that writes all that it causes (a batch of
// rows shares one): webhook and Slack deliveries (sent by the delivery worker, with retries),
// in-app notifications, mail (through the mail outbox) and digest lines. So a crash loses
// nothing, a rolled-back change sends nothing, and two nodes never dispatch one event twice.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "core/window_limiter.h"
#include "service/access.h"
#include "service/config.h"
#include "service/context.h"
#include "service/mail.h"
#include "store/store.h"

namespace gh {

// Raises a notification type that is no audit action (session.new_location,
// rate_limit.exceeded, the host's budget.threshold_reached…) inside `tx`. `actor_id` and
// `subject_id` are user ids or "".
// Returns the event's id (data.id of the webhook payload).
std::string RaiseNotification(WriteTx& tx, const std::string& workspace_id, const std::string& type,
                       const std::string& actor_id, const std::string& subject_id,
                       const std::string& title, const std::string& body,
                       const std::string& details_json, UnixTime now);

struct NotificationRuleInput {
  std::optional<std::vector<std::string>> channels;
  std::optional<std::vector<std::string>> roles;
  std::optional<bool> actor;
  std::optional<bool> subject;
  std::optional<std::vector<std::string>> users;
  std::optional<std::string> frequency;
};

struct RuleView {
  NotificationRule rule;
  bool is_default = true;
};

struct NotificationPreferencesInput {
  std::optional<std::string> invite_access, security, system;
};

struct InboxPage {
  std::vector<Notification> items;
  int64_t unread = 0;
  std::string next_cursor;  // "" at the end
};

struct HostNotification {
  std::string type;
  std::string title;
  std::string body;
  std::string details_json = "{}";
};

struct SlackInput {
  std::optional<std::string> webhook_url;
  std::optional<std::string> channel;
};

class Notifications {
 public:
  static constexpr int kMaxCustomRules = 50;
  static constexpr int kMaxRuleUsers = 50;
  static constexpr UnixTime kInboxDays = 90;
  static constexpr int kDigestHour = 9;

  Notifications(Store& store, const Config& config, Access& access, MailOutbox& mail,
                const Clock& clock = Clock::System());

  // One rule per catalogue type (stored or default), then the host's own types with a rule.
  std::vector<RuleView> Rules(const Membership& caller);
  Result<RuleView> PutRule(const Principal& p, const Membership& caller, const std::string& type,
                           const NotificationRuleInput& in);
  Result<RuleView> ResetRule(const Principal& p, const Membership& caller,
                             const std::string& type);

  NotificationPreferences Preferences(const User& user);
  Result<NotificationPreferences> PutPreferences(const Principal& p,
                                                 const NotificationPreferencesInput& in);

  // The caller's inbox (workspace "" for every workspace of theirs).
  Result<InboxPage> Inbox(const Principal& p, const std::string& workspace_id, bool unread_only,
                          const std::string& cursor, int limit);
  Result<Notification> MarkRead(const Principal& p, const std::string& id);
  Result<int64_t> MarkAllRead(const Principal& p, const std::string& workspace_id);

  // POST …/notification-events: returns the event's id.
  Result<std::string> Raise(const Principal& p, const Membership& caller,
                            const HostNotification& in);

  std::optional<WebhookEndpoint> Slack(const Membership& caller);
  Result<WebhookEndpoint> PutSlack(const Principal& p, const Membership& caller,
                                   const SlackInput& in);
  Status DeleteSlack(const Principal& p, const Membership& caller);
  // Posts a test message now and answers what Slack said (502 slack_test_failed if it refused).
  Status TestSlack(const Principal& p, const Membership& caller);
  Result<std::vector<WebhookDelivery>> SlackDeliveries(const Membership& caller,
                                                       const std::string& before, int limit);

  // The dispatcher: fans out up to `limit` events of the bus, kDispatchBatch events per
  // transaction; returns how many it read.
  static constexpr size_t kDispatchBatch = 100;
  int Dispatch(int limit = 500);
  // Sends the digests due now (every pending one when `all`); returns the mails queued.
  int SendDigests(bool all);
  // Retention of the inbox (kInboxDays) and of expired throttle keys.
  int64_t Purge();

 private:
  // What one dispatch transaction has read of each workspace (endpoints, rules, members…).
  struct Batch;
  void DispatchOne(Batch& batch, const OutboxEvent& ev);
  std::vector<std::string> AdminRoles() const;

  Store& store_;
  const Config& config_;
  Access& access_;
  MailOutbox& mail_;
  const Clock& clock_;
  WindowLimiter host_raised_;  // per workspace and hour
  WindowLimiter slack_tests_;  // per workspace and minute: each holds a worker up to 10 s
};

}  // namespace gh
