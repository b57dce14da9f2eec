#include "service/notification_types.h"

#include <algorithm>

#include "service/audit.h"

namespace gh {

namespace {

constexpr std::string_view kChannels[] = {"email", "slack", "webhook", "in_app"};
constexpr std::string_view kCategories[] = {"invite_access", "security", "system"};

// The two rules the document spells out are its defaults as written ("Member Invited: Email,
// Slack, Admins only, Immediate"; "API Key Created: Email, Webhook, Admins + Creator,
// Immediate"). The others follow their spirit: the in-app inbox and webhooks for everything,
// email where an admin should act, Slack where the team should see it at once, and the member
// concerned told about their own role and access.
std::vector<NotificationType> MakeTypes() {
  return {
      {"member.invited", "invite_access", "Member invited",
       "Someone invited a person to the workspace.", "member.invited", {"email", "slack"}},
      {"member.joined", "invite_access", "Member joined",
       "A person accepted an invitation or joined through SSO or the directory.", "member.joined",
       {"email", "webhook", "in_app"}},
      {"member.role_changed", "invite_access", "Role changed", "A member's role changed.",
       "member.role_changed", {"email", "webhook", "in_app"}, false, true},
      {"project.access_granted", "invite_access", "Access granted to new project",
       "A member was given access to a project.", "project.member_added",
       {"webhook", "in_app"}, false, true},
      {"session.new_device", "security", "New device login",
       "A member signed in from a device they had not used before.", "", {"webhook", "in_app"}},
      {"session.new_location", "security", "Login from new location",
       "A member signed in from a country (or address) they had not signed in from before.", "",
       {"email", "webhook", "in_app"}},
      {"api_key.created", "security", "API key created", "An API key was created.",
       "api_key.created", {"email", "webhook"}, true},
      {"api_key.revoked", "security", "API key revoked", "An API key was revoked.",
       "api_key.revoked", {"email", "webhook", "in_app"}, true},
      {"anomaly.detected", "security", "Unusual activity detected",
       "A member's activity departs from their usual pattern.", "",
       {"email", "slack", "webhook", "in_app"}},
      {"budget.threshold_reached", "system", "Budget threshold reached",
       "Usage reached a threshold of a budget or plan limit (raised by the host product).", "",
       {"email", "webhook", "in_app"}, false, false, "immediate", true},
      {"rate_limit.exceeded", "system", "Rate limit exceeded",
       "An API key was refused for going over its rate limit or monthly quota (at most once "
       "per key per hour).",
       "", {"email", "webhook", "in_app"}, false, false, "daily_digest"},
      {"quality.degraded", "system", "Quality degradation detected",
       "The host product detected degraded quality (raised by the host product).", "",
       {"email", "webhook", "in_app"}, false, false, "immediate", true},
  };
}

// The host's own types: what a demanding admin would want from an unknown event.
const NotificationType kHostOwn{"", "system", "", "", "", {"webhook", "in_app"}};

}  // namespace

const std::vector<NotificationType>& NotificationTypes::All() {
  static const std::vector<NotificationType> types = MakeTypes();
  return types;
}

const NotificationType* NotificationTypes::Find(std::string_view id) {
  for (const auto& t : All()) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

const NotificationType* NotificationTypes::ForAuditAction(std::string_view action) {
  for (const auto& t : All()) {
    if (!t.audit_action.empty() && t.audit_action == action) return &t;
  }
  return nullptr;
}

bool NotificationTypes::HostMayRaise(std::string_view type) {
  if (const auto* t = Find(type)) return t->host;
  if (!AuditLog::IsActionName(type) || type.size() > 100) return false;
  return !AuditLog::IsGatehouseNoun(type.substr(0, type.find('.')));
}

bool NotificationTypes::IsChannel(std::string_view c) {
  return std::find(std::begin(kChannels), std::end(kChannels), c) != std::end(kChannels);
}

bool NotificationTypes::IsCategory(std::string_view c) {
  return std::find(std::begin(kCategories), std::end(kCategories), c) != std::end(kCategories);
}

std::string_view NotificationTypes::CategoryOf(std::string_view type) {
  const auto* t = Find(type);
  return t ? t->category : kHostOwn.category;
}

NotificationRule NotificationTypes::DefaultRule(const std::string& workspace_id,
                                                std::string_view type,
                                                const std::vector<std::string>& admin_roles) {
  const NotificationType* t = Find(type);
  if (!t) t = &kHostOwn;
  NotificationRule r;
  r.workspace_id = workspace_id;
  r.type = std::string(type);
  for (auto c : t->channels) r.channels.emplace_back(c);
  r.roles = admin_roles;
  r.actor = t->actor;
  r.subject = t->subject;
  r.frequency = std::string(t->frequency);
  return r;
}

}  // namespace gh
