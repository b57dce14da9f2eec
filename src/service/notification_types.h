// The notification types of the first product document ("Invite & Access", "Security",
// "System"), what raises each one, and its default rule. A type is either an audit action
// (member.invited: the audited change is the event) or raised on its own (session.new_device
// by a sign-in, rate_limit.exceeded by verification, budget.threshold_reached by the host).
// The host may raise types of its own too: they fall in "system" with a generic default.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"

namespace gh {

struct NotificationType {
  std::string_view id;
  std::string_view category;  // invite_access, security, system
  std::string_view name;
  std::string_view description;
  // The audit action that raises it ("" when it is raised on its own).
  std::string_view audit_action;
  std::vector<std::string_view> channels;  // of the default rule
  bool actor = false;    // the default rule includes the person who did it
  bool subject = false;  // … and the member it is about
  std::string_view frequency = "immediate";
  bool host = false;  // the host product raises it (POST …/notification-events)
};

class NotificationTypes {
 public:
  static const std::vector<NotificationType>& All();
  static const NotificationType* Find(std::string_view id);
  // The type that an audit action raises, if any (project.member_added →
  // project.access_granted).
  static const NotificationType* ForAuditAction(std::string_view action);
  // Whether `type` may be raised by the host: a catalogue type that is not an audit action, or
  // a name of its own (noun.verb, lowercase) that is neither a catalogue type nor an action
  // Gatehouse audits.
  static bool HostMayRaise(std::string_view type);
  static bool IsChannel(std::string_view c);
  static bool IsCategory(std::string_view c);

  // The rule a workspace follows for `type` when it has stored none: `admin_roles` are the
  // workspace's roles that stand for "Admins" (owner and admin, those the preset has).
  static NotificationRule DefaultRule(const std::string& workspace_id, std::string_view type,
                                      const std::vector<std::string>& admin_roles);
  // The category of a type (the host's own types are "system").
  static std::string_view CategoryOf(std::string_view type);
};

}  // namespace gh
