// Webhook endpoints of a workspace (permission webhooks.manage): CRUD, secret rotation, a test
// message, the delivery log and manual retry (service/webhooks.h).
#include "core/ids.h"
#include "core/time.h"
#include "http/json_body.h"
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {
namespace {

Json OptTime(const std::optional<UnixTime>& t) {
  return t ? Json(FormatRfc3339(*t)) : Json(nullptr);
}

Json EndpointJson(const WebhookEndpoint& e) {
  return {{"id", e.id},
          {"workspace_id", e.workspace_id},
          {"url", e.url},
          {"description", e.description},
          {"event_types", e.event_types},
          {"enabled", e.enabled},
          {"disabled_reason", e.disabled_reason.empty() ? Json(nullptr) : Json(e.disabled_reason)},
          {"previous_secret_expires_at", OptTime(e.previous_secret_expires_at)},
          {"created_at", FormatRfc3339(e.created_at)},
          {"updated_at", FormatRfc3339(e.updated_at)}};
}

Json DeliveryJson(const WebhookDelivery& d) {
  return {{"id", d.id},
          {"event_type", d.event_type},
          {"status", d.status},
          {"attempts", d.attempts},
          {"last_status_code", d.last_status_code ? Json(*d.last_status_code) : Json(nullptr)},
          {"last_error", d.last_error.empty() ? Json(nullptr) : Json(d.last_error)},
          {"next_attempt_at", OptTime(d.next_attempt_at)},
          {"created_at", FormatRfc3339(d.created_at)}};
}

Result<WebhookInput> InputOf(const Request& req) {
  auto body = ParseObject(req, {"url", "description", "event_types", "enabled"});
  if (!body) return body.error();
  WebhookInput in;
  for (const auto& [key, v] : body->items()) {
    if (v.is_null()) continue;
    if (key == "url" || key == "description") {
      if (!v.is_string()) return Error::Invalid("invalid_" + key, key, key + " must be a string.");
      (key == "url" ? in.url : in.description) = v.get<std::string>();
    } else if (key == "enabled") {
      if (!v.is_boolean()) return Error::Invalid("invalid_enabled", key, "enabled must be a boolean.");
      in.enabled = v.get<bool>();
    } else if (key == "event_types") {
      if (!v.is_array()) {
        return Error::Invalid("invalid_event_types", key, "event_types must be an array of strings.");
      }
      std::vector<std::string> types;
      for (const auto& t : v) {
        if (!t.is_string()) {
          return Error::Invalid("invalid_event_types", key, "event_types must be an array of strings.");
        }
        types.push_back(t.get<std::string>());
      }
      in.event_types = std::move(types);
    }
  }
  return in;
}

Route WebhookRoute(App& app, std::string method, std::string path, std::string operation_id,
                   std::string summary, Handler handler, bool has_body = false) {
  (void)app;
  return Route{.method = std::move(method),
               .path = "/v1/workspaces/{ws}/webhooks" + path,
               .operation_id = std::move(operation_id),
               .summary = std::move(summary),
               .access = Access::kWorkspace,
               .permission = "webhooks.manage",
               .body_type = has_body ? "application/json" : "",
               .tag = "webhooks",
               .handler = std::move(handler)};
}

}  // namespace

void AddWebhookRoutes(App& app) {
  Route create = WebhookRoute(
      app, "POST", "", "createWebhook", "Add a webhook endpoint (its secret is shown once)",
      [&app](Request& req) -> Result<Response> {
        auto in = InputOf(req);
        if (!in) return in.error();
        if (!in->url) return Error::Invalid("invalid_url", "url", "url is required.");
        auto c = app.webhooks.Create(*req.principal, *req.membership, *in);
        if (!c) return c.error();
        Json j = EndpointJson(c->endpoint);
        j["secret"] = c->secret;
        return JsonResponse(201, j);
      },
      true);
  create.secret_response = true;
  create.slow = true;  // resolves the URL's host
  app.router.Add(std::move(create));

  app.router.Add(WebhookRoute(app, "GET", "", "listWebhooks", "The workspace's webhook endpoints",
                              [&app](Request& req) -> Result<Response> {
                                Json data = Json::array();
                                for (const auto& e : app.webhooks.List(*req.membership)) {
                                  data.push_back(EndpointJson(e));
                                }
                                return JsonResponse(200, {{"data", data}});
                              }));

  app.router.Add(WebhookRoute(app, "GET", "/{whk}", "getWebhook", "One webhook endpoint",
                              [&app](Request& req) -> Result<Response> {
                                auto e = app.webhooks.Get(*req.membership, req.Param("whk"));
                                if (!e) return e.error();
                                return JsonResponse(200, EndpointJson(*e));
                              }));

  Route update = WebhookRoute(
      app, "PATCH", "/{whk}", "updateWebhook", "Change an endpoint (url, event types, enabled)",
      [&app](Request& req) -> Result<Response> {
        auto in = InputOf(req);
        if (!in) return in.error();
        auto e = app.webhooks.Update(*req.principal, *req.membership, req.Param("whk"), *in);
        if (!e) return e.error();
        return JsonResponse(200, EndpointJson(*e));
      },
      true);
  update.slow = true;  // resolves the URL's host
  app.router.Add(std::move(update));

  app.router.Add(WebhookRoute(app, "DELETE", "/{whk}", "deleteWebhook",
                              "Delete an endpoint and its delivery log",
                              [&app](Request& req) -> Result<Response> {
                                if (Status st = app.webhooks.Delete(*req.principal, *req.membership,
                                                                    req.Param("whk"));
                                    !st.ok()) {
                                  return st.error();
                                }
                                Response r;
                                r.status = 204;
                                r.content_type.clear();
                                return r;
                              }));

  Route rotate = WebhookRoute(
      app, "POST", "/{whk}/rotate-secret", "rotateWebhookSecret",
      "A new secret; for 24 hours deliveries carry signatures of both",
      [&app](Request& req) -> Result<Response> {
        auto c = app.webhooks.RotateSecret(*req.principal, *req.membership, req.Param("whk"));
        if (!c) return c.error();
        Json j = EndpointJson(c->endpoint);
        j["secret"] = c->secret;
        return JsonResponse(200, j);
      });
  rotate.secret_response = true;
  app.router.Add(std::move(rotate));

  app.router.Add(WebhookRoute(app, "POST", "/{whk}/test", "testWebhook",
                              "Send a webhook.test message to the endpoint",
                              [&app](Request& req) -> Result<Response> {
                                auto d = app.webhooks.SendTest(*req.principal, *req.membership,
                                                               req.Param("whk"));
                                if (!d) return d.error();
                                return JsonResponse(202, DeliveryJson(*d));
                              }));

  app.router.Add(WebhookRoute(
      app, "GET", "/{whk}/deliveries", "listWebhookDeliveries",
      "The endpoint's deliveries, newest first (?cursor=<next_cursor>&limit=)",
      [&app](Request& req) -> Result<Response> {
        auto limit = PageLimit(req);
        if (!limit) return limit.error();
        auto list = app.webhooks.Deliveries(*req.membership, req.Param("whk"),
                                            req.QueryParam("cursor").value_or(""), *limit);
        if (!list) return list.error();
        Json data = Json::array();
        for (const auto& d : *list) data.push_back(DeliveryJson(d));
        Json next = list->size() == static_cast<size_t>(*limit) ? Json(list->back().id) : Json(nullptr);
        return JsonResponse(200, {{"data", data}, {"next_cursor", next}});
      }));

  app.router.Add(WebhookRoute(app, "POST", "/{whk}/deliveries/{msg}/retry", "retryWebhookDelivery",
                              "Attempt a delivery once more, now",
                              [&app](Request& req) -> Result<Response> {
                                auto d = app.webhooks.Retry(*req.principal, *req.membership,
                                                            req.Param("whk"), req.Param("msg"));
                                if (!d) return d.error();
                                return JsonResponse(202, DeliveryJson(*d));
                              }));
}

}  // namespace gh::http
