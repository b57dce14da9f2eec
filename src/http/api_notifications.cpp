// Notifications (service/notifications.h): the types, a workspace's rules and Slack
// connection (permission notifications.manage), notifications the host raises
// (notifications.send), and each person's inbox and mail preferences under /v1/me.
#include "core/ids.h"
#include "core/time.h"
#include "http/json_body.h"
#include "http/render.h"
#include "http/routes.h"
#include "service/notification_types.h"

namespace gh::http {
namespace {

Json OptTime(const std::optional<UnixTime>& t) {
  return t ? Json(FormatRfc3339(*t)) : Json(nullptr);
}

Json RuleJson(const RuleView& v) {
  const NotificationRule& r = v.rule;
  const auto* t = NotificationTypes::Find(r.type);
  return {{"type", r.type},
          {"category", std::string(NotificationTypes::CategoryOf(r.type))},
          {"name", t ? Json(std::string(t->name)) : Json(r.type)},
          {"channels", r.channels},
          {"recipients",
           {{"roles", r.roles}, {"actor", r.actor}, {"subject", r.subject}, {"users", r.users}}},
          {"frequency", r.frequency},
          {"is_default", v.is_default}};
}

Json NotificationJson(const Notification& n) {
  return {{"id", n.id},
          {"type", n.type},
          {"category", n.category},
          {"workspace_id", n.workspace_id},
          {"title", n.title},
          {"body", n.body},
          {"created_at", FormatRfc3339(n.created_at)},
          {"read_at", OptTime(n.read_at)},
          {"link", n.link.empty() ? Json(nullptr) : Json(n.link)}};
}

// A Slack incoming webhook URL is a credential: shown without its last path segment.
std::string MaskedUrl(const std::string& url) {
  size_t slash = url.rfind('/');
  size_t scheme = url.find("://");
  if (slash == std::string::npos || scheme == std::string::npos || slash < scheme + 3) {
    return "••••";
  }
  return url.substr(0, slash + 1) + "••••";
}

Json SlackJson(const std::optional<WebhookEndpoint>& e) {
  if (!e) return {{"connected", false}};
  return {{"connected", true},
          {"webhook_url", MaskedUrl(e->url)},
          {"channel", e->channel.empty() ? Json(nullptr) : Json(e->channel)},
          {"enabled", e->enabled},
          {"disabled_reason", e->disabled_reason.empty() ? Json(nullptr) : Json(e->disabled_reason)},
          {"created_at", FormatRfc3339(e->created_at)},
          {"updated_at", FormatRfc3339(e->updated_at)}};
}

Result<std::vector<std::string>> Strings(const Json& v, const std::string& field,
                                         const std::string& code) {
  if (!v.is_array()) return Error::Invalid(code, field, field + " must be an array of strings.");
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string()) return Error::Invalid(code, field, field + " must be an array of strings.");
    out.push_back(s.get<std::string>());
  }
  return out;
}

Result<NotificationRuleInput> RuleInputOf(const Request& req) {
  auto body = ParseObject(req, {"type", "channels", "recipients", "frequency"});
  if (!body) return body.error();
  NotificationRuleInput in;
  for (const auto& [key, v] : body->items()) {
    if (v.is_null()) continue;
    if (key == "channels") {
      auto c = Strings(v, key, "invalid_channels");
      if (!c) return c.error();
      in.channels = *c;
    } else if (key == "frequency") {
      if (!v.is_string()) return Error::Invalid("invalid_frequency", key, "frequency must be a string.");
      in.frequency = v.get<std::string>();
    } else if (key == "recipients") {
      if (!v.is_object()) {
        return Error::Invalid("invalid_recipients", key,
                              "recipients is {roles: [...], actor: bool, users: [...]}.");
      }
      for (const auto& [rk, rv] : v.items()) {
        std::string field = "recipients." + rk;
        if (rk == "roles" || rk == "users") {
          auto list = Strings(rv, field, "invalid_recipients");
          if (!list) return list.error();
          (rk == "roles" ? in.roles : in.users) = *list;
        } else if (rk == "actor" || rk == "subject") {
          if (!rv.is_boolean()) {
            return Error::Invalid("invalid_recipients", field, field + " must be a boolean.");
          }
          (rk == "actor" ? in.actor : in.subject) = rv.get<bool>();
        } else {
          return Error::Invalid("unknown_field", field,
                                "recipients has roles, actor, subject and users.");
        }
      }
    }
  }
  return in;
}

Route WorkspaceRoute(std::string method, std::string path, std::string operation_id,
                     std::string summary, const char* permission, Handler handler,
                     bool has_body = false) {
  return Route{.method = std::move(method),
               .path = "/v1/workspaces/{ws}" + path,
               .operation_id = std::move(operation_id),
               .summary = std::move(summary),
               .access = Access::kWorkspace,
               .permission = permission,
               .body_type = has_body ? "application/json" : "",
               .tag = "notifications",
               .handler = std::move(handler)};
}

Route MeRoute(std::string method, std::string path, std::string operation_id,
              std::string summary, Handler handler, bool has_body = false) {
  return Route{.method = std::move(method),
               .path = "/v1/me" + path,
               .operation_id = std::move(operation_id),
               .summary = std::move(summary),
               .access = Access::kAuthenticated,
               .body_type = has_body ? "application/json" : "",
               .tag = "notifications",
               .handler = std::move(handler)};
}

// The workspace an inbox request is about: `?workspace=`, or the one an SSO session is
// limited to (which it cannot step out of).
Result<std::string> InboxWorkspace(const Request& req) {
  std::string ws = req.QueryParam("workspace").value_or("");
  const std::string& scope = req.principal->scope_workspace_id;
  if (!scope.empty()) {
    if (!ws.empty() && ws != scope) return Error::NotFound("workspace");
    ws = scope;
  }
  return ws;
}

}  // namespace

void AddNotificationRoutes(App& app) {
  app.router.Add({.method = "GET",
                  .path = "/v1/notification-types",
                  .operation_id = "listNotificationTypes",
                  .summary = "The notification types, by category",
                  .access = Access::kAuthenticated,
                  .body_type = "",
                  .tag = "notifications",
                  .handler = [](Request&) -> Result<Response> {
                    Json data = Json::array();
                    for (const auto& t : NotificationTypes::All()) {
                      data.push_back({{"id", std::string(t.id)},
                                      {"category", std::string(t.category)},
                                      {"name", std::string(t.name)},
                                      {"description", std::string(t.description)},
                                      {"raised_by_host", t.host}});
                    }
                    return JsonResponse(200, {{"data", data}});
                  }});

  // --- Rules ---
  app.router.Add(WorkspaceRoute("GET", "/notification-rules", "listNotificationRules",
                                "The workspace's rule for every notification type",
                                "notifications.manage", [&app](Request& req) -> Result<Response> {
                                  Json data = Json::array();
                                  for (const auto& r : app.notifications.Rules(*req.membership)) {
                                    data.push_back(RuleJson(r));
                                  }
                                  return JsonResponse(200, {{"data", data}});
                                }));
  app.router.Add(WorkspaceRoute(
      "PUT", "/notification-rules/{type}", "putNotificationRule",
      "Set the channels, recipients and frequency of one type", "notifications.manage",
      [&app](Request& req) -> Result<Response> {
        auto in = RuleInputOf(req);
        if (!in) return in.error();
        auto r = app.notifications.PutRule(*req.principal, *req.membership, req.Param("type"), *in);
        if (!r) return r.error();
        return JsonResponse(200, RuleJson(*r));
      },
      true));
  app.router.Add(WorkspaceRoute("DELETE", "/notification-rules/{type}", "resetNotificationRule",
                                "Put one type back on its default rule", "notifications.manage",
                                [&app](Request& req) -> Result<Response> {
                                  auto r = app.notifications.ResetRule(
                                      *req.principal, *req.membership, req.Param("type"));
                                  if (!r) return r.error();
                                  return NoContent();
                                }));

  // --- Slack ---
  app.router.Add(WorkspaceRoute("GET", "/slack", "getSlack",
                                "The Slack connection ({connected: false} when there is none)",
                                "notifications.manage", [&app](Request& req) -> Result<Response> {
                                  return JsonResponse(200,
                                                      SlackJson(app.notifications.Slack(*req.membership)));
                                }));
  Route put_slack = WorkspaceRoute(
      "PUT", "/slack", "putSlack", "Connect a Slack incoming webhook (or replace it)",
      "notifications.manage",
      [&app](Request& req) -> Result<Response> {
        auto body = ParseObject(req, {"webhook_url", "channel"});
        if (!body) return body.error();
        SlackInput in;
        for (const auto& [key, v] : body->items()) {
          if (v.is_null()) continue;
          if (!v.is_string()) return Error::Invalid("invalid_" + key, key, key + " must be a string.");
          (key == "webhook_url" ? in.webhook_url : in.channel) = v.get<std::string>();
        }
        auto e = app.notifications.PutSlack(*req.principal, *req.membership, in);
        if (!e) return e.error();
        return JsonResponse(200, SlackJson(*e));
      },
      true);
  put_slack.slow = true;  // resolves the URL's host
  app.router.Add(std::move(put_slack));
  app.router.Add(WorkspaceRoute("DELETE", "/slack", "deleteSlack", "Disconnect Slack",
                                "notifications.manage", [&app](Request& req) -> Result<Response> {
                                  if (Status st = app.notifications.DeleteSlack(*req.principal,
                                                                                *req.membership);
                                      !st.ok()) {
                                    return st.error();
                                  }
                                  return NoContent();
                                }));
  Route test_slack = WorkspaceRoute(
      "POST", "/slack/test", "testSlack",
      "Post a test message now (502 slack_test_failed with Slack's answer when it refuses)",
      "notifications.manage", [&app](Request& req) -> Result<Response> {
        if (Status st = app.notifications.TestSlack(*req.principal, *req.membership); !st.ok()) {
          return st.error();
        }
        return JsonResponse(200, {{"ok", true}});
      });
  test_slack.slow = true;  // waits for Slack (10 s at most)
  app.router.Add(std::move(test_slack));
  app.router.Add(WorkspaceRoute(
      "GET", "/slack/deliveries", "listSlackDeliveries", "Messages posted to Slack, newest first",
      "notifications.manage", [&app](Request& req) -> Result<Response> {
        auto limit = PageLimit(req);
        if (!limit) return limit.error();
        auto list = app.notifications.SlackDeliveries(
            *req.membership, req.QueryParam("cursor").value_or(""), *limit + 1);
        if (!list) return list.error();
        Json next = nullptr;
        if (static_cast<int>(list->size()) > *limit) {
          list->resize(static_cast<size_t>(*limit));
          next = list->back().id;
        }
        Json data = Json::array();
        for (const auto& d : *list) {
          data.push_back({{"id", d.id},
                          {"event_type", d.event_type},
                          {"status", d.status},
                          {"attempts", d.attempts},
                          {"last_status_code",
                           d.last_status_code ? Json(*d.last_status_code) : Json(nullptr)},
                          {"last_error", d.last_error.empty() ? Json(nullptr) : Json(d.last_error)},
                          {"next_attempt_at", OptTime(d.next_attempt_at)},
                          {"created_at", FormatRfc3339(d.created_at)}});
        }
        return JsonResponse(200, {{"data", data}, {"next_cursor", next}});
      }));

  // --- The host's notifications ---
  Route raise = WorkspaceRoute(
      "POST", "/notification-events", "raiseNotification",
      "Raise a notification of the host product (budget.threshold_reached, quality.degraded, "
      "or a type of its own)",
      "notifications.send",
      [&app](Request& req) -> Result<Response> {
        auto body = ParseObject(req, {"type", "title", "body", "details"});
        if (!body) return body.error();
        HostNotification in;
        for (const auto& [key, v] : body->items()) {
          if (v.is_null()) continue;
          if (key == "details") {
            if (!v.is_object()) return Error::Invalid("invalid_details", key, "details must be an object.");
            in.details_json = v.dump(-1, ' ', false, Json::error_handler_t::replace);
          } else {
            if (!v.is_string()) return Error::Invalid("invalid_" + key, key, key + " must be a string.");
            (key == "type" ? in.type : key == "title" ? in.title : in.body) = v.get<std::string>();
          }
        }
        if (in.type.empty()) return Error::Invalid("invalid_notification_type", "type", "type is required.");
        auto id = app.notifications.Raise(*req.principal, *req.membership, in);
        if (!id) return id.error();
        return JsonResponse(202, {{"id", *id}, {"type", in.type}, {"status", "accepted"}});
      },
      true);
  raise.body_limit = 16 * 1024;
  app.router.Add(std::move(raise));

  // --- The inbox and preferences ---
  app.router.Add(MeRoute(
      "GET", "/notifications", "listNotifications",
      "The caller's in-app notifications, newest first (?unread=true, ?workspace=)",
      [&app](Request& req) -> Result<Response> {
        auto limit = PageLimit(req);
        if (!limit) return limit.error();
        auto ws = InboxWorkspace(req);
        if (!ws) return ws.error();
        bool unread = req.QueryParam("unread").value_or("") == "true";
        auto page = app.notifications.Inbox(*req.principal, *ws, unread,
                                            req.QueryParam("cursor").value_or(""), *limit);
        if (!page) return page.error();
        Json data = Json::array();
        for (const auto& n : page->items) data.push_back(NotificationJson(n));
        return JsonResponse(200, {{"data", data},
                                  {"unread_count", page->unread},
                                  {"next_cursor", page->next_cursor.empty()
                                                      ? Json(nullptr)
                                                      : Json(page->next_cursor)}});
      }));
  app.router.Add(MeRoute("POST", "/notifications/{ntf}/read", "readNotification",
                         "Mark one notification read",
                         [&app](Request& req) -> Result<Response> {
                           auto n = app.notifications.MarkRead(*req.principal, req.Param("ntf"));
                           if (!n) return n.error();
                           return JsonResponse(200, NotificationJson(*n));
                         }));
  app.router.Add(MeRoute(
      "POST", "/notifications/read-all", "readAllNotifications",
      "Mark every notification read (of one workspace with {workspace_id})",
      [&app](Request& req) -> Result<Response> {
        std::string ws;
        if (!req.body.empty()) {
          auto body = ParseObject(req, {"workspace_id"});
          if (!body) return body.error();
          if (body->contains("workspace_id") && !(*body)["workspace_id"].is_null()) {
            if (!(*body)["workspace_id"].is_string()) {
              return Error::Invalid("invalid_workspace_id", "workspace_id",
                                    "workspace_id must be a string.");
            }
            ws = (*body)["workspace_id"].get<std::string>();
          }
        }
        const std::string& scope = req.principal->scope_workspace_id;
        if (!scope.empty()) {
          if (!ws.empty() && ws != scope) return Error::NotFound("workspace");
          ws = scope;
        }
        auto n = app.notifications.MarkAllRead(*req.principal, ws);
        if (!n) return n.error();
        return JsonResponse(200, {{"updated", *n}});
      },
      true));
  auto prefs_json = [](const NotificationPreferences& p) {
    return Json{{"email",
                 {{"invite_access", p.invite_access},
                  {"security", p.security},
                  {"system", p.system}}}};
  };
  app.router.Add(MeRoute("GET", "/notification-preferences", "getNotificationPreferences",
                         "How the caller gets notification mail, per category",
                         [&app, prefs_json](Request& req) -> Result<Response> {
                           return JsonResponse(
                               200, prefs_json(app.notifications.Preferences(req.principal->user)));
                         }));
  app.router.Add(MeRoute(
      "PUT", "/notification-preferences", "putNotificationPreferences",
      "Mail per category: immediate, daily_digest or off",
      [&app, prefs_json](Request& req) -> Result<Response> {
        auto body = ParseObject(req, {"email"});
        if (!body) return body.error();
        NotificationPreferencesInput in;
        if (body->contains("email")) {
          const Json& email = (*body)["email"];
          if (!email.is_object()) {
            return Error::Invalid("invalid_preference", "email",
                                  "email is {invite_access, security, system}.");
          }
          for (const auto& [key, v] : email.items()) {
            if (key != "invite_access" && key != "security" && key != "system") {
              return Error::Invalid("unknown_field", "email." + key,
                                    "email has invite_access, security and system.");
            }
            if (!v.is_string()) {
              return Error::Invalid("invalid_preference", "email." + key,
                                    "Each category is immediate, daily_digest or off.");
            }
            (key == "invite_access" ? in.invite_access
             : key == "security"    ? in.security
                                    : in.system) = v.get<std::string>();
          }
        }
        auto p = app.notifications.PutPreferences(*req.principal, in);
        if (!p) return p.error();
        return JsonResponse(200, prefs_json(*p));
      },
      true));
}

}  // namespace gh::http
