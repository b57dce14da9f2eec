#include "service/notifications.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "core/ids.h"
#include "core/log.h"
#include "core/month.h"
#include "core/time.h"
#include "core/validation.h"
#include "service/audit.h"
#include "service/notification_types.h"
#include "service/outbound.h"
#include "service/slack.h"

namespace gh {

using Json = nlohmann::json;

namespace {

constexpr const char* kManage = "notifications.manage";
constexpr size_t kMaxHostDetailsBytes = 8 * 1024;
constexpr const char* kFrequencies[] = {"immediate", "daily_digest"};

// At most `max` bytes of `s`, cut at a character boundary (s is valid UTF-8): PostgreSQL
// refuses half a character.
std::string Prefix(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

bool Has(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string CategoryTitle(std::string_view category) {
  if (category == "invite_access") return "Invite & access";
  if (category == "security") return "Security";
  return "System";
}

// A notification as people read it: a title and a line of detail.
struct Rendered {
  std::string title;
  std::string body;
  std::string actor_id;
  std::string subject_id;
  std::string path;  // dashboard page under /w/{ws}/, "" for the workspace's home
};

// Renders an event of the bus. Audit events carry the audit record as `data`; notification
// events carry {title, body, actor_id, subject_id, details}.
// `role_name` turns a role id into its name ("developer" → "Developer", role_… → its name).
Rendered Render(const OutboxEvent& ev, std::string_view type, const Json& data,
                const std::function<std::string(const std::string&)>& role_name) {
  Rendered r;
  if (ev.source != "audit") {
    r.title = Str(data, "title");
    r.body = Str(data, "body");
    r.actor_id = Str(data, "actor_id");
    r.subject_id = Str(data, "subject_id");
    if (type == "rate_limit.exceeded") r.path = "api-keys";
    if (type.rfind("session.", 0) == 0) r.path = "audit-log";
    return r;
  }
  const Json& actor = data.contains("actor") ? data["actor"] : Json::object();
  const Json& target = data.contains("target") ? data["target"] : Json::object();
  const Json& details = data.contains("details") ? data["details"] : Json::object();
  std::string who = Str(actor, "name");
  if (who.empty()) who = Str(actor, "email");
  if (who.empty()) who = "Gatehouse";
  if (Str(actor, "type") == "user") r.actor_id = Str(actor, "id");
  std::string what = Str(target, "name");
  if (Str(target, "type") == "user") r.subject_id = Str(target, "id");
  std::string role;
  for (const char* k : {"to_name", "role_name"}) {
    if (role.empty()) role = Str(details, k);
  }
  for (const char* k : {"role", "to"}) {
    if (role.empty() && !Str(details, k).empty()) role = role_name(Str(details, k));
  }
  if (type == "member.invited") {
    r.title = who + " invited " + what;
    if (!role.empty()) r.body = "Role: " + role;
    r.path = "settings/team";
  } else if (type == "member.joined") {
    r.title = what + " joined the workspace";
    if (!role.empty()) r.body = "Role: " + role;
    r.path = "settings/team";
  } else if (type == "member.role_changed") {
    r.title = who + " changed the role of " + what;
    if (!role.empty()) r.body = "New role: " + role;
    r.path = "settings/team";
  } else if (type == "project.access_granted") {
    r.title = what + " was given access to a project";
    std::string project = Str(details, "project_name");
    if (project.empty()) project = Str(data, "project_id");
    if (!project.empty()) r.body = "Project: " + project;
    if (!role.empty()) r.body += (r.body.empty() ? "" : ", ") + std::string("role: ") + role;
    r.path = "projects";
  } else if (type == "api_key.created") {
    r.title = who + " created the API key " + what;
    r.path = "api-keys";
  } else if (type == "api_key.revoked") {
    r.title = who + " revoked the API key " + what;
    r.path = "api-keys";
  } else {
    r.title = std::string(type) + (what.empty() ? "" : ": " + what);
  }
  return r;
}

}  // namespace

std::string RaiseNotification(WriteTx& tx, const std::string& workspace_id, const std::string& type,
                       const std::string& actor_id, const std::string& subject_id,
                       const std::string& title, const std::string& body,
                       const std::string& details_json, UnixTime now) {
  Json details = Json::parse(details_json, nullptr, false);
  if (details.is_discarded() || !details.is_object()) details = Json::object();
  std::string id = NewTimeOrderedId("evt");
  Json data = {{"id", id},
               {"workspace_id", workspace_id},
               {"title", title},
               {"body", body},
               {"actor_id", actor_id.empty() ? Json(nullptr) : Json(actor_id)},
               {"subject_id", subject_id.empty() ? Json(nullptr) : Json(subject_id)},
               {"details", std::move(details)}};
  Json payload = {{"type", type}, {"timestamp", FormatRfc3339(now)}, {"data", std::move(data)}};
  tx.InsertOutboxEvent({id, workspace_id, type,
                        payload.dump(-1, ' ', false, Json::error_handler_t::replace), now,
                        "notification"});
  return id;
}

Notifications::Notifications(Store& store, const Config& config, Access& access,
                             MailOutbox& mail, const Clock& clock)
    : store_(store),
      config_(config),
      access_(access),
      mail_(mail),
      clock_(clock),
      host_raised_(config.limits.notification_events_per_workspace_per_hour, 3600),
      slack_tests_(10, 60) {}

std::vector<std::string> Notifications::AdminRoles() const {
  std::vector<std::string> roles;
  for (const char* r : {"owner", "admin"}) {
    if (access_.catalogue().FindRole(r)) roles.emplace_back(r);
  }
  return roles;
}

// --- Rules ---------------------------------------------------------------------------------

std::vector<RuleView> Notifications::Rules(const Membership& caller) {
  auto stored = store_.NotificationRules(caller.workspace_id);
  std::map<std::string, NotificationRule> by_type;
  for (auto& r : stored) by_type.emplace(r.type, std::move(r));
  std::vector<RuleView> out;
  for (const auto& t : NotificationTypes::All()) {
    auto it = by_type.find(std::string(t.id));
    if (it != by_type.end()) {
      out.push_back({it->second, false});
      by_type.erase(it);
    } else {
      out.push_back({NotificationTypes::DefaultRule(caller.workspace_id, t.id, AdminRoles()), true});
    }
  }
  for (auto& [type, r] : by_type) out.push_back({r, false});
  return out;
}

Result<RuleView> Notifications::PutRule(const Principal& p, const Membership& caller,
                                        const std::string& type, const NotificationRuleInput& in) {
  if (!NotificationTypes::Find(type) && !NotificationTypes::HostMayRaise(type)) {
    return Error::NotFound("notification type");
  }
  NotificationRule r = NotificationTypes::DefaultRule(caller.workspace_id, type, AdminRoles());
  if (in.channels) {
    if (in.channels->size() > 4) {
      return Error::Invalid("invalid_channels", "channels", "At most the four channels.");
    }
    std::vector<std::string> channels;
    for (const auto& c : *in.channels) {
      if (!NotificationTypes::IsChannel(c)) {
        return Error::Invalid("invalid_channels", "channels",
                              "channels are email, slack, webhook and in_app.");
      }
      if (!Has(channels, c)) channels.push_back(c);
    }
    r.channels = channels;
  }
  if (in.frequency) {
    if (std::find(std::begin(kFrequencies), std::end(kFrequencies), *in.frequency) ==
        std::end(kFrequencies)) {
      return Error::Invalid("invalid_frequency", "frequency",
                            "frequency is immediate or daily_digest.");
    }
    r.frequency = *in.frequency;
  }
  if (in.actor) r.actor = *in.actor;
  if (in.subject) r.subject = *in.subject;
  if (in.roles) {
    if (in.roles->size() > 50) {
      return Error::Invalid("invalid_recipients", "recipients.roles", "At most 50 roles.");
    }
    std::vector<std::string> roles;
    for (const auto& role : *in.roles) {
      if (role.size() > 100 || !access_.RoleExists(caller.workspace_id, role)) {
        return Error::Invalid("invalid_recipients", "recipients.roles",
                              "'" + role.substr(0, 100) + "' is not a role of this workspace.");
      }
      if (!Has(roles, role)) roles.push_back(role);
    }
    r.roles = roles;
  }
  if (in.users) {
    if (in.users->size() > kMaxRuleUsers) {
      return Error::Invalid("invalid_recipients", "recipients.users",
                            "At most " + std::to_string(kMaxRuleUsers) + " named members.");
    }
  }
  return store_.Write([&](WriteTx& tx) -> Result<RuleView> {
    auto me = access_.Recheck(tx, caller, kManage);
    if (!me) return me.error();
    if (in.users) {
      std::vector<std::string> users;
      for (const auto& u : *in.users) {
        if (!IsWellFormedId(u, "usr") || !tx.MembershipOf(caller.workspace_id, u)) {
          return Error::Invalid("invalid_recipients", "recipients.users",
                                "'" + u.substr(0, 40) + "' is not a member of this workspace.");
        }
        if (!Has(users, u)) users.push_back(u);
      }
      r.users = users;
    }
    bool stored = false;
    int custom = 0;
    for (const auto& s : tx.NotificationRules(caller.workspace_id)) {
      stored = stored || s.type == type;
      if (!NotificationTypes::Find(s.type)) ++custom;
    }
    if (!stored && !NotificationTypes::Find(type) && custom >= kMaxCustomRules) {
      return Error::Conflict("too_many_notification_rules",
                             "A workspace has at most " + std::to_string(kMaxCustomRules) +
                                 " rules for types of its own.");
    }
    UnixTime now = clock_.Now();
    r.updated_at = now;
    tx.PutNotificationRule(r);
    Json details = {{"channels", r.channels},
                    {"recipients",
                     {{"roles", r.roles}, {"actor", r.actor}, {"subject", r.subject}, {"users", r.users}}},
                    {"frequency", r.frequency}};
    AppendAudit(tx, p,
                {caller.workspace_id, "notification_rule.updated", "notification_rule", type, type,
                 "", details.dump()},
                now);
    return RuleView{r, false};
  });
}

Result<RuleView> Notifications::ResetRule(const Principal& p, const Membership& caller,
                                          const std::string& type) {
  if (!NotificationTypes::Find(type) && !NotificationTypes::HostMayRaise(type)) {
    return Error::NotFound("notification type");
  }
  return store_.Write([&](WriteTx& tx) -> Result<RuleView> {
    auto me = access_.Recheck(tx, caller, kManage);
    if (!me) return me.error();
    if (!tx.DeleteNotificationRule(caller.workspace_id, type)) {
      if (!NotificationTypes::Find(type)) return Error::NotFound("notification rule");
    } else {
      AppendAudit(tx, p,
                  {caller.workspace_id, "notification_rule.reset", "notification_rule", type, type,
                   "", "{}"},
                  clock_.Now());
    }
    return RuleView{NotificationTypes::DefaultRule(caller.workspace_id, type, AdminRoles()), true};
  });
}

// --- Preferences ---------------------------------------------------------------------------

NotificationPreferences Notifications::Preferences(const User& user) {
  return store_.NotificationPreferencesOf(user.id).value_or(NotificationPreferences{});
}

Result<NotificationPreferences> Notifications::PutPreferences(
    const Principal& p, const NotificationPreferencesInput& in) {
  auto check = [](const std::optional<std::string>& v, const char* field,
                  std::string& out) -> Status {
    if (!v) return {};
    if (*v != "immediate" && *v != "daily_digest" && *v != "off") {
      return Error::Invalid("invalid_preference", std::string("email.") + field,
                            "Each category is immediate, daily_digest or off.");
    }
    out = *v;
    return {};
  };
  return store_.Write([&](WriteTx& tx) -> Result<NotificationPreferences> {
    NotificationPreferences prefs =
        tx.NotificationPreferencesOf(p.user.id).value_or(NotificationPreferences{});
    if (Status st = check(in.invite_access, "invite_access", prefs.invite_access); !st.ok()) {
      return st.error();
    }
    if (Status st = check(in.security, "security", prefs.security); !st.ok()) return st.error();
    if (Status st = check(in.system, "system", prefs.system); !st.ok()) return st.error();
    UnixTime now = clock_.Now();
    tx.PutNotificationPreferences(p.user.id, prefs, now);
    Json details = {{"email",
                     {{"invite_access", prefs.invite_access},
                      {"security", prefs.security},
                      {"system", prefs.system}}}};
    AppendAudit(tx, p,
                {"", "user.notification_preferences_updated", "user", p.user.id, p.user.email, "",
                 details.dump()},
                now);
    return prefs;
  });
}

// --- Inbox ---------------------------------------------------------------------------------

Result<InboxPage> Notifications::Inbox(const Principal& p, const std::string& ws, bool unread,
                                       const std::string& cursor, int limit) {
  if (!ws.empty() && !IsWellFormedId(ws, "ws")) return Error::NotFound("workspace");
  if (!cursor.empty() && !IsWellFormedId(cursor, "ntf")) {
    return Error::Invalid("invalid_cursor", "cursor", "cursor must be a next_cursor value.");
  }
  InboxPage page;
  page.items = store_.NotificationsOf(p.user.id, ws, unread, cursor, limit + 1);
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.resize(static_cast<size_t>(limit));
    page.next_cursor = page.items.back().id;
  }
  page.unread = store_.CountUnreadNotifications(p.user.id, ws);
  return page;
}

Result<Notification> Notifications::MarkRead(const Principal& p, const std::string& id) {
  if (!IsWellFormedId(id, "ntf")) return Error::NotFound("notification");
  return store_.Write([&](WriteTx& tx) -> Result<Notification> {
    auto n = tx.NotificationById(p.user.id, id);
    // An SSO session sees only the workspace it was made for.
    if (!n || (!p.scope_workspace_id.empty() && n->workspace_id != p.scope_workspace_id)) {
      return Error::NotFound("notification");
    }
    if (!n->read_at) {
      UnixTime now = clock_.Now();
      tx.MarkNotificationRead(p.user.id, id, now);
      n->read_at = now;
    }
    return *n;
  });
}

Result<int64_t> Notifications::MarkAllRead(const Principal& p, const std::string& ws) {
  if (!ws.empty() && !IsWellFormedId(ws, "ws")) return Error::NotFound("workspace");
  return store_.Write([&](WriteTx& tx) -> Result<int64_t> {
    if (!ws.empty()) {
      auto m = tx.MembershipOf(ws, p.user.id);
      if (!m || m->status() != "active") return Error::NotFound("workspace");
    }
    return tx.MarkAllNotificationsRead(p.user.id, ws, clock_.Now());
  });
}

// --- The host's notifications --------------------------------------------------------------

Result<std::string> Notifications::Raise(const Principal& p, const Membership& caller,
                                         const HostNotification& in) {
  if (!NotificationTypes::HostMayRaise(in.type)) {
    return Error::Invalid(
        "invalid_notification_type", "type",
        "type is budget.threshold_reached, quality.degraded or a type of your own (noun.verb "
        "in lower case, not on a noun of Gatehouse's own such as member or api_key).");
  }
  auto title = validation::SingleLineText(in.title, 1, 200, "invalid_title", "title",
                                          "title is 1 to 200 characters on one line.");
  if (!title) return title.error();
  auto body = validation::MultiLineText(in.body, 2000, "invalid_body", "body",
                                        "body is at most 2,000 characters.");
  if (!body) return body.error();
  if (in.details_json.size() > kMaxHostDetailsBytes) {
    return Error::Invalid("invalid_details", "details", "details is at most 8 KiB of JSON.");
  }
  if (int wait = host_raised_.Acquire(caller.workspace_id, clock_.Now()); wait > 0) {
    Error e{ErrorKind::kRateLimited, "rate_limited",
            "Too many notifications raised for this workspace; try again later.", {}};
    e.retry_after_seconds = wait;
    return e;
  }
  return store_.Write([&](WriteTx& tx) -> Result<std::string> {
    auto me = access_.Recheck(tx, caller, "notifications.send");
    if (!me) return me.error();
    UnixTime now = clock_.Now();
    // No actor: the host's backend raises it through somebody's key, and that person is one of
    // the admins who should hear of it like the others.
    std::string id = RaiseNotification(tx, caller.workspace_id, in.type, "", "", *title, *body,
                                       in.details_json, now);
    AppendAudit(tx, p,
                {caller.workspace_id, "notification.raised", "notification", in.type, *title, "",
                 Json{{"type", in.type}, {"title", *title}, {"event_id", id}}.dump()},
                now);
    return id;
  });
}

// --- Slack ---------------------------------------------------------------------------------

std::optional<WebhookEndpoint> Notifications::Slack(const Membership& caller) {
  for (auto& e : store_.WebhookEndpoints(caller.workspace_id)) {
    if (e.kind == "slack") return e;
  }
  return std::nullopt;
}

Result<WebhookEndpoint> Notifications::PutSlack(const Principal& p, const Membership& caller,
                                                const SlackInput& in) {
  if (!in.webhook_url) return Error::Invalid("invalid_url", "webhook_url", "webhook_url is required.");
  if (Status st = CheckOutboundDestination(*in.webhook_url, {config_.webhook_allow_private_networks});
      !st.ok()) {
    Error e = st.error();
    e.field = "webhook_url";
    return e;
  }
  std::string channel;
  if (in.channel && !in.channel->empty()) {
    auto c = validation::SingleLineText(*in.channel, 1, 80, "invalid_channel", "channel",
                                        "channel is a Slack channel name such as #alerts.");
    if (!c) return c.error();
    channel = *c;
  }
  return store_.Write([&](WriteTx& tx) -> Result<WebhookEndpoint> {
    auto me = access_.Recheck(tx, caller, kManage);
    if (!me) return me.error();
    UnixTime now = clock_.Now();
    std::optional<WebhookEndpoint> current;
    for (auto& e : tx.WebhookEndpoints(caller.workspace_id)) {
      if (e.kind == "slack") current = tx.LockWebhookEndpoint(caller.workspace_id, e.id);
    }
    WebhookEndpoint e;
    if (current) {
      e = *current;
      e.url = *in.webhook_url;
      e.channel = channel;
      e.enabled = true;
      e.disabled_reason.clear();
      e.updated_at = now;
      tx.UpdateWebhookEndpoint(e);
    } else {
      e.id = NewTimeOrderedId("slk");
      e.workspace_id = caller.workspace_id;
      e.kind = "slack";
      e.url = *in.webhook_url;
      e.channel = channel;
      e.created_at = e.updated_at = now;
      tx.InsertWebhookEndpoint(e);
    }
    // The URL is a credential (whoever has it posts to the channel): not in the audit log.
    AppendAudit(tx, p,
                {caller.workspace_id, "slack.connected", "slack", e.id, channel, "",
                 Json{{"channel", channel}}.dump()},
                now);
    return e;
  });
}

Status Notifications::DeleteSlack(const Principal& p, const Membership& caller) {
  return store_.Write([&](WriteTx& tx) -> Status {
    auto me = access_.Recheck(tx, caller, kManage);
    if (!me) return me.error();
    for (auto& e : tx.WebhookEndpoints(caller.workspace_id)) {
      if (e.kind != "slack") continue;
      tx.DeleteWebhookEndpoint(caller.workspace_id, e.id);
      AppendAudit(tx, p,
                  {caller.workspace_id, "slack.disconnected", "slack", e.id, e.channel, "", "{}"},
                  clock_.Now());
      return {};
    }
    return Error::NotFound("slack connection");
  });
}

Status Notifications::TestSlack(const Principal& p, const Membership& caller) {
  auto slack = Slack(caller);
  if (!slack) return Error::NotFound("slack connection");
  if (int wait = slack_tests_.Acquire(caller.workspace_id, clock_.Now()); wait > 0) {
    Error e{ErrorKind::kRateLimited, "rate_limited",
            "At most 10 Slack test messages a minute; try again shortly.", {}};
    e.retry_after_seconds = wait;
    return e;
  }
  auto ws = store_.WorkspaceById(caller.workspace_id);
  SlackText m;
  m.title = "Gatehouse is connected";
  m.body = "Notifications of " + (ws ? ws->name : std::string("your workspace")) +
           " will be posted here.";
  m.context = "Test message sent by " + p.user.name;
  m.channel = slack->channel;
  OutboundPost post;
  post.url = slack->url;
  post.body = SlackMessage(m);
  post.headers = {{"content-type", "application/json"}, {"user-agent", "Gatehouse-Slack/1"}};
  auto answer = PostOutbound(post, {config_.webhook_allow_private_networks});
  std::string outcome;
  if (!answer) {
    outcome = answer.error().message;
  } else if (ClassifySlackAnswer(answer->status, answer->body) != SlackOutcome::kDelivered) {
    std::string reason = answer->body.substr(0, answer->body.find('\n')).substr(0, 200);
    outcome = "Slack answered " + std::to_string(answer->status) +
              (reason.empty() ? "" : ": " + reason);
  }
  store_.Write([&](WriteTx& tx) {
    AppendAudit(tx, p,
                {caller.workspace_id, "slack.tested", "slack", slack->id, slack->channel, "",
                 Json{{"ok", outcome.empty()}, {"error", outcome}}.dump()},
                clock_.Now());
  });
  if (!outcome.empty()) {
    return Error{ErrorKind::kBadGateway, "slack_test_failed", outcome, {}};
  }
  return {};
}

Result<std::vector<WebhookDelivery>> Notifications::SlackDeliveries(const Membership& caller,
                                                                    const std::string& before,
                                                                    int limit) {
  auto slack = Slack(caller);
  if (!slack) return Error::NotFound("slack connection");
  if (!before.empty() && !IsWellFormedId(before, "msg")) {
    return Error::Invalid("invalid_cursor", "cursor", "cursor must be a next_cursor value.");
  }
  return store_.WebhookDeliveries(slack->id, before, limit);
}

// --- The dispatcher ------------------------------------------------------------------------

namespace {

bool Wants(const WebhookEndpoint& e, const std::string& type) {
  if (!e.enabled) return false;
  if (e.event_types.empty()) return true;
  for (const auto& t : e.event_types) {
    if (t == type) return true;
    // "member.*" subscribes to every member event.
    if (t.size() > 2 && t.compare(t.size() - 2, 2, ".*") == 0 &&
        type.compare(0, t.size() - 1, t, 0, t.size() - 1) == 0) {
      return true;
    }
  }
  return false;
}

// Whether the endpoint was created after the event happened: both ids are time-ordered (their
// first 9 characters after the prefix are the creation time in µs, in an order-preserving
// base62), so an endpoint added while an event waited for dispatch is not sent the past.
bool CreatedAfter(const std::string& endpoint_id, const std::string& event_id) {
  auto time_part = [](const std::string& id) {
    size_t u = id.find('_');
    return u == std::string::npos ? std::string() : id.substr(u + 1, 9);
  };
  return time_part(endpoint_id) > time_part(event_id);
}

WebhookDelivery NewDelivery(const WebhookEndpoint& e, const OutboxEvent& ev,
                            const std::string& type, std::string payload) {
  WebhookDelivery d;
  d.id = NewTimeOrderedId("msg");
  d.endpoint_id = e.id;
  d.workspace_id = ev.workspace_id;
  d.event_type = type;
  d.payload = std::move(payload);
  d.next_attempt_at = ev.created_at;
  d.created_at = d.updated_at = ev.created_at;
  return d;
}

}  // namespace

// Reads of one dispatch transaction, once per workspace: a burst of a workspace's events (a
// bulk import, a host recording thousands of events) costs its reads once per batch.
struct Notifications::Batch {
  WriteTx& tx;
  std::map<std::string, std::vector<WebhookEndpoint>> endpoints;
  std::map<std::string, std::vector<NotificationRule>> rules;
  std::map<std::string, std::optional<Workspace>> workspaces;
  std::map<std::string, std::vector<Member>> members;
  std::map<std::string, NotificationPreferences> prefs;

  template <typename Map, typename Read>
  auto& Get(Map& map, const std::string& key, Read read) {
    auto it = map.find(key);
    if (it == map.end()) it = map.emplace(key, read()).first;
    return it->second;
  }
};

int Notifications::Dispatch(int limit) {
  auto events = store_.PendingOutboxEvents(limit);
  auto run = [&](size_t start, size_t end) {
    store_.Write([&](WriteTx& tx) {
      Batch batch{tx, {}, {}, {}, {}, {}};
      for (size_t i = start; i < end; ++i) {
        if (!tx.DeleteOutboxEvent(events[i].id)) continue;  // another process dispatched it
        DispatchOne(batch, events[i]);
      }
    });
  };
  for (size_t start = 0; start < events.size(); start += kDispatchBatch) {
    size_t end = std::min(events.size(), start + kDispatchBatch);
    // Each event is deleted in the transaction that writes what it causes, so they exist
    // exactly when it is gone; a batch of them shares one transaction and its reads.
    try {
      run(start, end);
      continue;
    } catch (const std::exception& e) {
      log::Error("notification dispatch failed; retrying the batch one event at a time",
                 {{"error", e.what()}});
    }
    // One event that cannot be dispatched must not hold up the bus: alone, it is retried
    // once, then set aside (logged with its id and dropped) so that the others flow.
    for (size_t i = start; i < end; ++i) {
      try {
        run(i, i + 1);
      } catch (const std::exception& e) {
        log::Error("notification event set aside: it cannot be dispatched",
                   {{"event_id", events[i].id}, {"type", events[i].type}, {"error", e.what()}});
        try {
          store_.Write([&](WriteTx& tx) { tx.DeleteOutboxEvent(events[i].id); });
        } catch (const std::exception&) {
          // The store itself is failing: the event stays and is tried on the next pass.
        }
      }
    }
  }
  return static_cast<int>(events.size());
}

void Notifications::DispatchOne(Batch& batch, const OutboxEvent& ev) {
  WriteTx& tx = batch.tx;
  const std::string& wsid = ev.workspace_id;
  Json payload = Json::parse(ev.payload, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) return;
  const Json& data = payload.contains("data") ? payload["data"] : Json::object();
  // The notification type of the event: itself when raised as one, else the type its audit
  // action raises (none for most actions: they only go to webhooks).
  std::string type;
  if (ev.source == "audit") {
    if (const auto* t = NotificationTypes::ForAuditAction(ev.type)) type = std::string(t->id);
  } else {
    type = ev.type;
  }
  std::optional<NotificationRule> rule;
  if (!type.empty()) {
    for (const auto& r : batch.Get(batch.rules, wsid, [&] { return tx.NotificationRules(wsid); })) {
      if (r.type == type) rule = r;
    }
    if (!rule) rule = NotificationTypes::DefaultRule(wsid, type, AdminRoles());
  }
  auto wants = [&](const char* channel) { return rule && Has(rule->channels, channel); };

  const auto& endpoints =
      batch.Get(batch.endpoints, wsid, [&] { return tx.WebhookEndpoints(wsid); });
  // Webhooks: every audit event is there for the host to react to, except that an action
  // which is itself a notification type (api_key.created) follows its rule's webhook channel;
  // a notification raised on its own goes when its rule names webhooks.
  bool governed = ev.source != "audit" || type == ev.type;
  bool to_webhooks = governed ? wants("webhook") : true;
  std::optional<WebhookEndpoint> slack;
  for (const auto& e : endpoints) {
    if (e.kind == "slack") {
      slack = e;
      continue;
    }
    // An endpoint that names the type itself asked for it: it gets it whatever the rule says.
    bool named = Has(e.event_types, ev.type);
    if (!(to_webhooks || named) || !Wants(e, ev.type) || CreatedAfter(e.id, ev.id)) continue;
    tx.InsertWebhookDelivery(NewDelivery(e, ev, ev.type, ev.payload));
  }
  if (type.empty()) return;

  Rendered r = Render(ev, type, data, [&](const std::string& role) {
    std::string name = access_.RoleName(ev.workspace_id, role);
    return name.empty() ? role : name;
  });
  const auto& ws = batch.Get(batch.workspaces, wsid, [&] { return tx.WorkspaceById(wsid); });
  if (!ws) return;
  std::string link = config_.PublicUrl() + "/w/" + ws->id + (r.path.empty() ? "" : "/" + r.path);
  std::string when = FormatLocalTime(ws->timezone, ev.created_at);

  if (wants("slack") && slack && slack->enabled && !CreatedAfter(slack->id, ev.id)) {
    SlackText m{r.title, r.body, ws->name + " · " + when, link, slack->channel};
    tx.InsertWebhookDelivery(NewDelivery(*slack, ev, type, SlackMessage(m)));
  }
  if (!wants("email") && !wants("in_app")) return;

  // Recipients: active members holding one of the rule's roles (the person who did it only
  // when the rule says so), the actor and the subject when the rule names them, and the
  // members it names.
  std::set<std::string> to;
  std::map<std::string, const User*> people;
  for (const auto& m : batch.Get(batch.members, wsid, [&] { return tx.Members(wsid); })) {
    if (m.membership.status() != "active") continue;  // deactivated or suspended
    const std::string& uid = m.user.id;
    bool pick = (Has(rule->roles, m.membership.role) && uid != r.actor_id) ||
                (rule->actor && uid == r.actor_id) || (rule->subject && uid == r.subject_id) ||
                Has(rule->users, uid);
    if (pick) {
      to.insert(uid);
      people.emplace(uid, &m.user);
    }
  }
  std::string_view category = NotificationTypes::CategoryOf(type);
  for (const auto& uid : to) {
    const User& u = *people[uid];
    if (wants("in_app")) {
      Notification n;
      n.id = NewTimeOrderedId("ntf");
      n.user_id = uid;
      n.workspace_id = ev.workspace_id;
      n.type = type;
      n.category = std::string(category);
      n.title = Prefix(r.title, 1000);
      n.body = Prefix(r.body, 8000);
      n.created_at = ev.created_at;
      n.link = "/w/" + ev.workspace_id + (r.path.empty() ? "" : "/" + r.path);
      tx.InsertNotification(n);
    }
    if (!wants("email") || u.email.empty()) continue;
    const NotificationPreferences& prefs = batch.Get(batch.prefs, uid, [&] {
      return tx.NotificationPreferencesOf(uid).value_or(NotificationPreferences{});
    });
    const std::string& pref = category == "invite_access" ? prefs.invite_access
                              : category == "security"    ? prefs.security
                                                          : prefs.system;
    if (pref == "off") continue;
    if (rule->frequency == "daily_digest" || pref == "daily_digest") {
      DigestItem d;
      d.id = NewTimeOrderedId("dgi");
      d.user_id = uid;
      d.workspace_id = ev.workspace_id;
      d.type = type;
      d.category = std::string(category);
      d.title = Prefix(r.title, 1000);
      d.created_at = ev.created_at;
      d.due_at = NextLocalHour(ws->timezone, ev.created_at, kDigestHour);
      tx.InsertDigestItem(d);
      continue;
    }
    std::vector<std::string> lines = {"Hello " + u.name + ",", "", r.title};
    if (!r.body.empty()) lines.push_back(r.body);
    lines.insert(lines.end(),
                 {"", "Workspace: " + ws->name, "When: " + when, "", "Open Gatehouse: " + link, "",
                  "You get this mail because the workspace's notification rules include you. "
                  "Choose what reaches you by mail (immediately, in a daily digest, or not at "
                  "all) under Account at " +
                      config_.PublicUrl() + "/account."});
    QueueNotice(tx, mail_, u.email, "[" + ws->name + "] " + r.title, lines, ev.created_at);
  }
}

int Notifications::SendDigests(bool all) {
  int sent = 0;
  std::optional<UnixTime> due;
  if (!all) due = clock_.Now();
  // Rounds of at most 100 recipients, until none is due (each round's mails commit with the
  // removal of their lines, so two nodes never send one line twice).
  for (int round = 0; round < 100; ++round) {
    auto recipients = store_.DueDigests(due, 100);
    if (recipients.empty()) break;
    for (const auto& [uid, wsid] : recipients) {
      store_.Write([&](WriteTx& tx) {
        auto items = tx.TakeDigestItems(uid, wsid, due);
        if (items.empty()) return;
        auto user = tx.UserById(uid);
        auto ws = tx.WorkspaceById(wsid);
        auto m = tx.MembershipOf(wsid, uid);
        // Someone who left the workspace (or was deactivated) no longer hears about it.
        if (!user || !ws || !m || m->status() != "active" || user->email.empty()) return;
        std::map<std::string, std::vector<const DigestItem*>> by_category;
        for (const auto& d : items) by_category[d.category].push_back(&d);
        std::vector<std::string> lines = {
            "Hello " + user->name + ",", "",
            "Here is what happened in " + ws->name + " since your last digest (" +
                std::to_string(items.size()) + (items.size() == 1 ? " event" : " events") + "):"};
        for (const char* c : {"invite_access", "security", "system"}) {
          auto it = by_category.find(c);
          if (it == by_category.end()) continue;
          lines.push_back("");
          lines.push_back(CategoryTitle(c) + " (" + std::to_string(it->second.size()) + ")");
          for (const DigestItem* d : it->second) {
            lines.push_back("- " + FormatLocalTime(ws->timezone, d->created_at) + "  " + d->title);
          }
        }
        lines.insert(lines.end(),
                     {"", "Open Gatehouse: " + config_.PublicUrl() + "/w/" + ws->id, "",
                      "Choose what reaches you by mail under Account at " + config_.PublicUrl() +
                          "/account."});
        QueueNotice(tx, mail_, user->email,
                    "[" + ws->name + "] Your daily digest: " + std::to_string(items.size()) +
                        (items.size() == 1 ? " event" : " events"),
                    lines, clock_.Now());
        ++sent;
      });
    }
  }
  return sent;
}

int64_t Notifications::Purge() {
  UnixTime now = clock_.Now();
  int64_t total = 0;
  for (int batch = 0; batch < 20; ++batch) {
    int64_t n = store_.Write(
        [&](WriteTx& tx) { return tx.PurgeNotifications(now - kInboxDays * 86400, now, 1000); });
    total += n;
    if (n < 1000) break;
  }
  return total;
}

}  // namespace gh
