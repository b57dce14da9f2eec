// Directory sync: the workspace's SCIM settings (tokens, group mappings; permission
// directory.configure), reactivating a deactivated member by hand, and the SCIM 2.0 server at
// /scim/v2/{ws}/… that Okta and Entra ID call with a bearer token (service/directory.h).
#include "core/time.h"
#include "core/validation.h"
#include "http/json_body.h"
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {
namespace {

constexpr size_t kScimBodyLimit = 1024 * 1024;  // a 10,000-member group PATCH fits
constexpr const char* kScimType = "application/scim+json";
constexpr int kMaxBodyDepth = 32;

Response ScimResponse(const ScimAnswer& a) {
  Response r;
  r.status = a.status;
  if (a.status == 204) {
    r.content_type.clear();
  } else {
    r.content_type = kScimType;
    r.body = a.body.dump();
  }
  if (!a.etag.empty()) r.Header("ETag", a.etag);
  if (a.status == 429) {
    r.Header("Retry-After", a.location.empty() ? "60" : a.location);
  } else if (!a.location.empty()) {
    r.Header("Location", a.location);
  }
  return r;
}

Json TokenJson(const ScimToken& t) {
  auto opt_time = [](const std::optional<UnixTime>& v) {
    return v ? Json(FormatRfc3339(*v)) : Json(nullptr);
  };
  return {{"id", t.id},
          {"name", t.name},
          {"created_by", t.created_by},
          {"created_at", FormatRfc3339(t.created_at)},
          {"last_used_at", opt_time(t.last_used_at)},
          {"revoked_at", opt_time(t.revoked_at)}};
}

Json MappingsJson(const std::vector<ScimGroupMapping>& mappings) {
  Json out = Json::array();
  for (const auto& m : mappings) {
    Json projects = Json::array();
    for (const auto& p : m.projects) projects.push_back({{"project_id", p.project_id}, {"role", p.role}});
    out.push_back({{"group", m.group}, {"role", m.role}, {"projects", projects}});
  }
  return out;
}

// A SCIM request body: any JSON content type (Okta and Entra send application/scim+json).
std::variant<Json, ScimAnswer> ScimBody(const Request& req) {
  std::string_view ct = req.Header("content-type");
  if (ct.substr(0, ct.find(';')).find("json") == std::string_view::npos) {
    return ScimError(415, "invalidSyntax", "Send the body as application/scim+json.");
  }
  if (!validation::IsValidUtf8(req.body)) {
    return ScimError(400, "invalidSyntax", "The body is not valid UTF-8.");
  }
  // Nesting is bounded before anything copies the document (copies recurse).
  bool too_deep = false;
  Json j = Json::parse(
      req.body,
      [&too_deep](int depth, Json::parse_event_t, Json&) {
        if (depth > kMaxBodyDepth) too_deep = true;
        return !too_deep;
      },
      /*allow_exceptions=*/false);
  if (too_deep) return ScimError(400, "invalidSyntax", "The body is nested too deeply.");
  if (j.is_discarded() || !j.is_object()) {
    return ScimError(400, "invalidSyntax", "The body must be a JSON object.");
  }
  return j;
}

ScimQuery QueryOf(const Request& req) {
  ScimQuery q;
  q.filter = req.QueryParam("filter").value_or("");
  auto number = [&](const char* name, int64_t fallback) {
    auto v = req.QueryParam(name);
    if (!v || v->empty() || v->size() > 12) return fallback;
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    return end && *end == '\0' ? static_cast<int64_t>(n) : fallback;
  };
  q.start_index = number("startIndex", 1);
  q.count = number("count", 100);
  q.attributes = req.QueryParam("attributes").value_or("");
  q.excluded_attributes = req.QueryParam("excludedAttributes").value_or("");
  return q;
}

// Registers a SCIM route: bearer-token authentication of {ws}, the body parsed when the
// method has one, SCIM answers and errors.
using ScimHandler = std::function<ScimAnswer(App&, const ScimCaller&, Request&, const Json&)>;

void AddScim(App& app, const char* method, const std::string& path, const char* operation_id,
             const char* summary, ScimHandler handler) {
  bool has_body = std::string_view(method) == "POST" || std::string_view(method) == "PUT" ||
                  std::string_view(method) == "PATCH";
  app.router.Add({.method = method,
                  .path = "/scim/v2/{ws}" + path,
                  .operation_id = operation_id,
                  .summary = summary,
                  .access = Access::kPublic,
                  .body_limit = has_body ? kScimBodyLimit : 64 * 1024,
                  .body_type = has_body ? kScimType : "",
                  .tag = "scim",
                  .handler = [&app, handler, has_body](Request& req) -> Result<Response> {
                    auto auth = app.directory.Authenticate(
                        req.Param("ws"), req.Header("authorization"), req.Client());
                    if (auto* refused = std::get_if<ScimAnswer>(&auth)) {
                      Response r = ScimResponse(*refused);
                      if (refused->status == 401) r.Header("WWW-Authenticate", "Bearer");
                      return r;
                    }
                    const ScimCaller& caller = std::get<ScimCaller>(auth);
                    Json body;
                    if (has_body) {
                      auto parsed = ScimBody(req);
                      if (auto* bad = std::get_if<ScimAnswer>(&parsed)) return ScimResponse(*bad);
                      body = std::move(std::get<Json>(parsed));
                    }
                    return ScimResponse(handler(app, caller, req, body));
                  }});
}

}  // namespace

void AddScimRoutes(App& app) {
  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/scim/tokens",
                  .operation_id = "createScimToken",
                  .summary = "Create a SCIM bearer token (shown once)",
                  .access = Access::kWorkspace,
                  .permission = "directory.configure",
                  .secret_response = true,
                  .tag = "directory",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"name"});
                    if (!body) return body.error();
                    std::string name;
                    if (auto n = body->find("name"); n != body->end() && !n->is_null()) {
                      if (!n->is_string()) return Error::Invalid("invalid_name", "name", "name must be a string.");
                      name = n->get<std::string>();
                    }
                    auto t = app.directory.CreateToken(*req.principal, *req.membership, name);
                    if (!t) return t.error();
                    Json j = TokenJson(t->token);
                    j["token"] = t->secret;
                    j["base_url"] = app.directory.BaseUrl(t->token.workspace_id);
                    return JsonResponse(201, j);
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/scim/tokens",
                  .operation_id = "listScimTokens",
                  .summary = "The workspace's SCIM tokens (never their secrets)",
                  .access = Access::kWorkspace,
                  .permission = "directory.configure",
                  .body_type = "",
                  .tag = "directory",
                  .handler = [&app](Request& req) -> Result<Response> {
                    Json data = Json::array();
                    for (const auto& t : app.directory.Tokens(*req.membership)) data.push_back(TokenJson(t));
                    return JsonResponse(200, {{"data", data},
                                              {"base_url", app.directory.BaseUrl(req.membership->workspace_id)}});
                  }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/workspaces/{ws}/scim/tokens/{id}",
                  .operation_id = "revokeScimToken",
                  .summary = "Revoke a SCIM token",
                  .access = Access::kWorkspace,
                  .permission = "directory.configure",
                  .body_type = "",
                  .tag = "directory",
                  .handler = [&app](Request& req) -> Result<Response> {
                    if (Status st = app.directory.RevokeToken(*req.principal, *req.membership, req.Param("id"));
                        !st.ok()) {
                      return st.error();
                    }
                    Response r;
                    r.status = 204;
                    r.content_type.clear();
                    return r;
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/scim/group-mappings",
                  .operation_id = "getScimGroupMappings",
                  .summary = "Which directory group gives which role and projects",
                  .access = Access::kWorkspace,
                  .permission = "directory.configure",
                  .body_type = "",
                  .tag = "directory",
                  .handler = [&app](Request& req) -> Result<Response> {
                    return JsonResponse(200, MappingsJson(app.directory.Mappings(req.membership->workspace_id)));
                  }});

  app.router.Add({.method = "PUT",
                  .path = "/v1/workspaces/{ws}/scim/group-mappings",
                  .operation_id = "putScimGroupMappings",
                  .summary = "Replace the group mappings; directory members' roles follow at once",
                  .access = Access::kWorkspace,
                  .permission = "directory.configure",
                  .tag = "directory",
                  .handler = [&app](Request& req) -> Result<Response> {
                    std::string_view ct = req.Header("content-type");
                    if (ct.substr(0, ct.find(';')).find("json") == std::string_view::npos) {
                      return Error{ErrorKind::kUnsupportedMedia, "unsupported_media_type",
                                   "Send the body as application/json.", {}};
                    }
                    Json body = Json::parse(req.body, nullptr, false);
                    if (body.is_discarded()) return Error::BadRequest("malformed_json", "The body is not valid JSON.");
                    auto m = app.directory.PutMappings(*req.principal, *req.membership, body);
                    if (!m) return m.error();
                    return JsonResponse(200, MappingsJson(*m));
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/members/{usr}/reactivate",
                  .operation_id = "reactivateMember",
                  .summary = "Reactivate a member the directory deactivated (overriding it)",
                  .access = Access::kWorkspace,
                  .permission = "members.manage_roles",
                  .tag = "team",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"override_directory"});
                    if (!body) return body.error();
                    bool override_directory = false;
                    if (auto o = body->find("override_directory"); o != body->end() && !o->is_null()) {
                      if (!o->is_boolean()) {
                        return Error::Invalid("invalid_override_directory", "override_directory",
                                              "override_directory must be a boolean.");
                      }
                      override_directory = o->get<bool>();
                    }
                    if (Status st = app.directory.Reactivate(*req.principal, *req.membership,
                                                             req.Param("usr"), override_directory);
                        !st.ok()) {
                      return st.error();
                    }
                    return JsonResponse(200, {{"user_id", req.Param("usr")}, {"status", "active"}});
                  }});

  // The SCIM server.
  AddScim(app, "GET", "/Users", "scimListUsers", "SCIM: list or filter users",
          [](App& a, const ScimCaller& c, Request& req, const Json&) {
            return a.directory.ListUsers(c, QueryOf(req));
          });
  AddScim(app, "POST", "/Users", "scimCreateUser", "SCIM: provision a user",
          [](App& a, const ScimCaller& c, Request&, const Json& body) {
            return a.directory.CreateUser(c, body);
          });
  AddScim(app, "GET", "/Users/{id}", "scimGetUser", "SCIM: one user",
          [](App& a, const ScimCaller& c, Request& req, const Json&) {
            return a.directory.GetUser(c, req.Param("id"), QueryOf(req));
          });
  AddScim(app, "PUT", "/Users/{id}", "scimReplaceUser", "SCIM: replace a user",
          [](App& a, const ScimCaller& c, Request& req, const Json& body) {
            return a.directory.ReplaceUser(c, req.Param("id"), body, req.Header("if-match"));
          });
  AddScim(app, "PATCH", "/Users/{id}", "scimPatchUser", "SCIM: change a user (deactivate, …)",
          [](App& a, const ScimCaller& c, Request& req, const Json& body) {
            return a.directory.PatchUser(c, req.Param("id"), body, req.Header("if-match"));
          });
  AddScim(app, "DELETE", "/Users/{id}", "scimDeleteUser", "SCIM: deprovision a user (removes the member)",
          [](App& a, const ScimCaller& c, Request& req, const Json&) {
            return a.directory.DeleteUser(c, req.Param("id"), req.Header("if-match"));
          });
  AddScim(app, "GET", "/Groups", "scimListGroups", "SCIM: list or filter groups",
          [](App& a, const ScimCaller& c, Request& req, const Json&) {
            return a.directory.ListGroups(c, QueryOf(req));
          });
  AddScim(app, "POST", "/Groups", "scimCreateGroup", "SCIM: create a group",
          [](App& a, const ScimCaller& c, Request&, const Json& body) {
            return a.directory.CreateGroup(c, body);
          });
  AddScim(app, "GET", "/Groups/{id}", "scimGetGroup", "SCIM: one group",
          [](App& a, const ScimCaller& c, Request& req, const Json&) {
            return a.directory.GetGroup(c, req.Param("id"), QueryOf(req));
          });
  AddScim(app, "PUT", "/Groups/{id}", "scimReplaceGroup", "SCIM: replace a group",
          [](App& a, const ScimCaller& c, Request& req, const Json& body) {
            return a.directory.ReplaceGroup(c, req.Param("id"), body, req.Header("if-match"));
          });
  AddScim(app, "PATCH", "/Groups/{id}", "scimPatchGroup", "SCIM: change a group (members, name)",
          [](App& a, const ScimCaller& c, Request& req, const Json& body) {
            return a.directory.PatchGroup(c, req.Param("id"), body, req.Header("if-match"));
          });
  AddScim(app, "DELETE", "/Groups/{id}", "scimDeleteGroup", "SCIM: delete a group",
          [](App& a, const ScimCaller& c, Request& req, const Json&) {
            return a.directory.DeleteGroup(c, req.Param("id"), req.Header("if-match"));
          });
  AddScim(app, "GET", "/ServiceProviderConfig", "scimServiceProviderConfig", "SCIM: what this server supports",
          [](App& a, const ScimCaller& c, Request&, const Json&) {
            return a.directory.ServiceProviderConfig(c.workspace_id);
          });
  AddScim(app, "GET", "/ResourceTypes", "scimResourceTypes", "SCIM: resource types",
          [](App& a, const ScimCaller& c, Request&, const Json&) {
            return a.directory.ResourceTypes(c.workspace_id);
          });
  AddScim(app, "GET", "/Schemas", "scimSchemas", "SCIM: schemas",
          [](App& a, const ScimCaller&, Request&, const Json&) { return a.directory.Schemas(); });
}

}  // namespace gh::http
