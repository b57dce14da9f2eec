// API keys, their verification for the host product's gateway, and the authorisation check.
#include <chrono>

#include "core/ids.h"
#include "core/time.h"
#include "http/routes.h"
#include "http/verify_body.h"

namespace gh::http {
namespace {

Json KeyJson(const KeyView& v) {
  const ApiKey& k = v.key;
  auto opt_time = [](const std::optional<UnixTime>& t) {
    return t ? Json(FormatRfc3339(*t)) : Json(nullptr);
  };
  auto opt_int = [](const std::optional<int64_t>& n) { return n ? Json(*n) : Json(nullptr); };
  Json j = {
      {"id", k.id},
      {"name", k.name},
      {"type", ToString(k.type)},
      {"prefix", k.prefix},
      {"owner", {{"user_id", k.owner_id}, {"name", v.owner_name}}},
      {"project_id", k.project_id.empty() ? Json(nullptr) : Json(k.project_id)},
      {"environment", ToString(k.environment)},
      {"service", k.service.empty() ? Json(nullptr) : Json(k.service)},
      {"permissions", {{"allow", k.allow}, {"deny", k.deny}, {"methods", k.methods}}},
      {"rate_limit",
       {{"per_minute", opt_int(k.rate_per_minute)}, {"per_month", opt_int(k.rate_per_month)}}},
      {"ip_allowlist", k.ip_allowlist},
      {"created_at", FormatRfc3339(k.created_at)},
      {"last_used_at", opt_time(k.last_used_at)},
      {"expires_at", opt_time(k.expires_at)},
      {"revoked_at", opt_time(k.revoked_at)},
      // "deactivated" or "suspended" while the owner's membership is: the key verifies REVOKED
      // or SUSPENDED until then.
      {"owner_hold", k.owner_hold.empty() ? Json(nullptr) : Json(k.owner_hold)},
      {"previous_secret_expires_at", opt_time(k.previous_expires_at)}};
  if (!v.secret.empty()) j["key"] = v.secret;
  return j;
}

Result<std::vector<std::string>> StringList(const Json& j, const char* field) {
  if (!j.is_array())
    return Error::Invalid("invalid_type", field, std::string(field) + " must be an array.");
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string())
      return Error::Invalid("invalid_type", field, std::string(field) + " holds strings.");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<KeyInput> ReadKeyInput(const Request& req, bool creating) {
  auto body =
      creating
          ? ParseObject(req, {"name", "type", "project_id", "environment", "service", "permissions",
                              "rate_limit", "ip_allowlist", "expires_at"})
          // API.md's PATCH fields (the store does not write `service` on update).
          : ParseObject(req, {"name", "permissions", "rate_limit", "ip_allowlist", "expires_at"});
  if (!body) return body.error();
  Fields f(*body);
  KeyInput in;
  in.name = creating ? f.RequiredStr("name") : f.Str("name");
  auto type = f.Str("type");
  in.project_id = f.Str("project_id");
  auto environment = f.Str("environment");
  in.service = f.Str("service");
  if (!f.ok()) return f.error();
  if (auto it = body->find("permissions"); it != body->end() && !it->is_null()) {
    if (!it->is_object())
      return Error::Invalid("invalid_type", "permissions", "permissions is an object.");
    for (const auto& [k, v] : it->items()) {
      if (k != "allow" && k != "deny" && k != "methods") {
        return Error::Invalid("unknown_field", "permissions." + k, "Unknown field '" + k + "'.");
      }
      if (v.is_null()) continue;
      auto list = StringList(v, ("permissions." + k).c_str());
      if (!list) return list.error();
      (k == "allow" ? in.allow : k == "deny" ? in.deny : in.methods) = *list;
    }
  }
  if (auto it = body->find("rate_limit"); it != body->end()) {
    in.set_rate_limit = true;
    if (!it->is_null()) {
      if (!it->is_object())
        return Error::Invalid("invalid_type", "rate_limit", "rate_limit is an object.");
      for (const auto& [k, v] : it->items()) {
        if (k != "per_minute" && k != "per_month") {
          return Error::Invalid("unknown_field", "rate_limit." + k, "Unknown field '" + k + "'.");
        }
        if (v.is_null()) continue;
        if (!v.is_number_integer()) {
          return Error::Invalid("invalid_type", "rate_limit." + k, k + " must be an integer.");
        }
        (k == "per_minute" ? in.per_minute : in.per_month) = v.get<int64_t>();
      }
    }
  }
  if (auto it = body->find("ip_allowlist"); it != body->end() && !it->is_null()) {
    auto list = StringList(*it, "ip_allowlist");
    if (!list) return list.error();
    in.ip_allowlist = *list;
  }
  if (auto it = body->find("expires_at"); it != body->end()) {
    in.set_expires_at = true;
    if (!it->is_null()) {
      if (!it->is_string())
        return Error::Invalid("invalid_type", "expires_at", "expires_at is a string.");
      in.expires_at = it->get<std::string>();
    }
  }
  if (type) {
    in.type = ParseKeyType(*type);
    if (!in.type) return Error::Invalid("invalid_type", "type", "type is secret or publishable.");
  }
  if (environment) {
    in.environment = ParseKeyEnvironment(*environment);
    if (!in.environment) {
      return Error::Invalid("invalid_environment", "environment", "environment is live or test.");
    }
  }
  return in;
}

void AppendIntField(std::string& out, const char* name, int64_t v) {
  out += name;
  out += std::to_string(v);
}

Result<Response> Verify(App& app, Request& req) {
  Json holder;
  auto body = ParseVerifyBody(req, holder);
  if (!body) return body.error();
  std::string_view key = *body->key, endpoint = *body->endpoint;
  if (key.size() > 256 || endpoint.size() > 2048) {
    return Error::Invalid("invalid_key", key.size() > 256 ? "key" : "endpoint",
                          "The value is too long.");
  }
  VerifyResult r =
      app.api_keys.Verify({key, endpoint, body->method.value_or(""), body->ip.value_or("")});
  // Rendered by hand: this answer is the gateway's hot path.
  std::string out;
  out.reserve(384);
  out += r.valid() ? "{\"valid\":true,\"code\":\"" : "{\"valid\":false,\"code\":\"";
  out += ToString(r.code);  // a static name: nothing to escape
  out += '"';
  if (!r.key) {
    out +=
        ",\"key_id\":null,\"workspace_id\":null,\"project_id\":null,\"environment\":null,"
        "\"owner_id\":null,\"ratelimit\":null,\"quota\":null}";
  } else {
    const ApiKey& k = r.key->key;
    out += ",\"key_id\":";
    AppendJsonString(out, k.id);
    out += ",\"workspace_id\":";
    AppendJsonString(out, k.workspace_id);
    out += ",\"project_id\":";
    if (k.project_id.empty()) {
      out += "null";
    } else {
      AppendJsonString(out, k.project_id);
    }
    out += ",\"environment\":\"";
    out += ToString(k.environment);  // a name: nothing to escape
    out += '"';
    out += ",\"owner_id\":";
    AppendJsonString(out, k.owner_id);
    if (r.rate_limit > 0) {
      AppendIntField(out, ",\"ratelimit\":{\"limit\":", r.rate_limit);
      AppendIntField(out, ",\"remaining\":", r.rate_remaining);
      out += ",\"reset_at\":";
      AppendJsonString(out, FormatRfc3339((r.rate_reset_us + 999'999) / 1'000'000));
      out += '}';
    } else {
      out += ",\"ratelimit\":null";
    }
    if (r.quota_limit > 0) {
      AppendIntField(out, ",\"quota\":{\"limit\":", r.quota_limit);
      AppendIntField(out, ",\"remaining\":", r.quota_remaining);
      out += "}}";
    } else {
      out += ",\"quota\":null}";
    }
  }
  Response res;
  res.body = std::move(out);
  return res;
}

Result<Response> Check(App& app, Request& req) {
  auto body = ParseObject(req, {"workspace_id", "project_id", "subject", "permission"});
  if (!body) return body.error();
  Fields f(*body);
  auto ws = f.RequiredStr("workspace_id");
  auto project = f.Str("project_id");
  auto permission = f.RequiredStr("permission");
  if (!f.ok()) return f.error();
  auto sub = body->find("subject");
  if (sub == body->end() || !sub->is_object() || !sub->contains("type") || !sub->contains("id") ||
      !(*sub)["type"].is_string() || !(*sub)["id"].is_string()) {
    return Error::Invalid("required", "subject", "subject is {type, id}.");
  }
  std::string type = (*sub)["type"], id = (*sub)["id"];
  if (type != "user" && type != "api_key") {
    return Error::Invalid("invalid_subject", "subject.type", "type is user or api_key.");
  }
  if (!app.catalogue.Knows(*permission)) {
    return Error::Invalid("unknown_permission", "permission",
                          "Unknown permission '" + *permission + "'.");
  }
  // The caller must be able to see the team of the workspace it asks about.
  auto caller = app.access.Authorize(*req.principal, *ws, "members.view");
  if (!caller) return caller.error();
  if (!req.principal->api_key_workspace_id.empty() && req.principal->api_key_workspace_id != *ws) {
    return Error::NotFound("workspace");
  }
  // A project the caller cannot see answers as an unknown one: /v1/check must not tell which
  // restricted projects exist, nor who holds which role in them.
  if (project && !project->empty() && !app.access.CanSeeProject(*caller, *project)) {
    return Error::Invalid("invalid_project", "project_id", "Unknown project.");
  }
  CheckSubject subject{type == "api_key" ? CheckSubject::Type::kApiKey : CheckSubject::Type::kUser,
                       id};
  auto answer = app.access.Check(*ws, subject, project.value_or(""), *permission);
  if (!answer) return answer.error();
  return JsonResponse(200, {{"allowed", answer->allowed},
                            {"role", answer->role.empty() ? Json(nullptr) : Json(answer->role)},
                            {"reason", answer->reason}});
}

}  // namespace

void AddKeyRoutes(App& app) {
  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/api-keys",
                  .operation_id = "createApiKey",
                  .summary = "Create an API key; the secret is shown in this answer only",
                  .access = Access::kWorkspace,
                  .permission = "api_keys.create",
                  .secret_response = true,
                  .tag = "api_keys",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto in = ReadKeyInput(req, true);
                    if (!in) return in.error();
                    auto v = app.api_keys.Create(*req.principal, *req.membership, *in);
                    if (!v) return v.error();
                    return JsonResponse(201, KeyJson(*v));
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/api-keys",
                  .operation_id = "listApiKeys",
                  .summary = "Keys the caller may see (their own, or all with api_keys.view_all)",
                  .access = Access::kWorkspace,
                  .permission = "api_keys.view_own",
                  .body_type = "",
                  .tag = "api_keys",
                  .handler = [&app](Request& req) {
                    Json data = Json::array();
                    for (const auto& v : app.api_keys.List(*req.membership))
                      data.push_back(KeyJson(v));
                    size_t total = data.size();
                    return JsonResponse(
                        200,
                        {{"data", std::move(data)}, {"next_cursor", nullptr}, {"total", total}});
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/api-keys/{key}",
                  .operation_id = "getApiKey",
                  .summary = "One key, never its secret",
                  .access = Access::kWorkspace,
                  .permission = "api_keys.view_own",
                  .body_type = "",
                  .tag = "api_keys",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto v = app.api_keys.Get(*req.membership, req.Param("key"));
                    if (!v) return v.error();
                    return JsonResponse(200, KeyJson(*v));
                  }});

  app.router.Add({.method = "PATCH",
                  .path = "/v1/workspaces/{ws}/api-keys/{key}",
                  .operation_id = "updateApiKey",
                  .summary = "Change name, permissions, limits, allowlist or expiry",
                  .access = Access::kWorkspace,
                  .permission = "api_keys.revoke_own",
                  .tag = "api_keys",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto in = ReadKeyInput(req, false);
                    if (!in) return in.error();
                    auto v =
                        app.api_keys.Update(*req.principal, *req.membership, req.Param("key"), *in);
                    if (!v) return v.error();
                    return JsonResponse(200, KeyJson(*v));
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/api-keys/{key}/rotate",
                  .operation_id = "rotateApiKey",
                  .summary = "New secret; the old one works until grace_seconds pass",
                  .access = Access::kWorkspace,
                  .permission = "api_keys.revoke_own",
                  .secret_response = true,
                  .tag = "api_keys",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"grace_seconds"});
                    if (!body) return body.error();
                    Fields f(*body);
                    auto grace = f.Int("grace_seconds");
                    if (!f.ok()) return f.error();
                    auto v = app.api_keys.Rotate(*req.principal, *req.membership, req.Param("key"),
                                                 grace);
                    if (!v) return v.error();
                    return JsonResponse(200, KeyJson(*v));
                  }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/workspaces/{ws}/api-keys/{key}",
                  .operation_id = "revokeApiKey",
                  .summary = "Revoke: refused from the next verification on",
                  .access = Access::kWorkspace,
                  .permission = "api_keys.revoke_own",
                  .body_type = "",
                  .tag = "api_keys",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto v = app.api_keys.Revoke(*req.principal, *req.membership, req.Param("key"));
                    if (!v) return v.error();
                    return JsonResponse(200, KeyJson(*v));
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/keys/verify",
                  .operation_id = "verifyApiKey",
                  .summary = "Verify a key for an endpoint: the gateway's hot path",
                  .access = Access::kPublic,
                  .body_limit = 8 * 1024,
                  .tag = "api_keys",
                  .handler = [&app](Request& req) { return Verify(app, req); }});

  app.router.Add({.method = "POST",
                  .path = "/v1/check",
                  .operation_id = "check",
                  .summary = "May this user or key do this permission here?",
                  .access = Access::kAuthenticated,
                  .tag = "api_keys",
                  .handler = [&app](Request& req) { return Check(app, req); }});
}

}  // namespace gh::http
