// Projects and the roles members hold inside them. Visibility and per-project authority are
// decided in service/projects.h: these routes only need a member of the workspace, so that a
// project the caller may not see answers 404 on every route, never 403.
#include "core/ids.h"
#include "core/time.h"
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {
namespace {

Json Limit(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

Json ProjectMemberJson(const ProjectMemberView& m) {
  return {{"user_id", m.user_id},     {"name", m.name},
          {"email", m.email},         {"role", m.role},
          {"role_name", m.role_name}, {"added_at", FormatRfc3339(m.added_at)}};
}

Json ProjectJson(App& app, const ProjectView& v) {
  const Project& p = v.project;
  Json j = {{"id", p.id},
            {"workspace_id", p.workspace_id},
            {"name", p.name},
            {"environment", p.environment},
            {"rate_limit",
             {{"per_minute", Limit(p.rate_limit_per_minute)},
              {"per_month", Limit(p.rate_limit_per_month)}}},
            {"role", v.role},
            {"role_name", app.access.RoleName(p.workspace_id, v.role)},
            {"permissions", app.access.PermissionIds(v.permissions)},
            {"created_at", FormatRfc3339(p.created_at)},
            {"updated_at", FormatRfc3339(p.updated_at)}};
  return j;
}

// One limit of `rate_limit`: absent, null (no limit) or an integer.
Status ReadLimit(const Json& limits, const char* key, const char* field,
                 std::optional<std::optional<int64_t>>& out) {
  auto it = limits.find(key);
  if (it == limits.end()) return {};
  if (it->is_null()) {
    out.emplace(std::nullopt);
    return {};
  }
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
    return Error::Invalid("invalid_rate_limit", field,
                          std::string(field) + " is a whole number, or null.");
  }
  out.emplace(it->get<int64_t>());
  return {};
}

Result<ProjectInput> ReadProjectInput(const Request& req, bool creating) {
  auto body = ParseObject(req, {"name", "environment", "rate_limit"});
  if (!body) return body.error();
  Fields f(*body);
  ProjectInput in;
  in.name = creating ? f.RequiredStr("name") : f.Str("name");
  in.environment = f.Str("environment");
  if (!f.ok()) return f.error();
  auto it = body->find("rate_limit");
  if (it == body->end()) return in;
  if (it->is_null()) {  // no default limits at all
    in.rate_limit_per_minute.emplace(std::nullopt);
    in.rate_limit_per_month.emplace(std::nullopt);
    return in;
  }
  if (!it->is_object()) {
    return Error::Invalid("invalid_type", "rate_limit",
                          "rate_limit is an object {per_minute?, per_month?}, or null.");
  }
  for (const auto& [key, value] : it->items()) {
    if (key != "per_minute" && key != "per_month") {
      return Error::Invalid("unknown_field", "rate_limit." + key, "Unknown field '" + key + "'.");
    }
  }
  if (Status st = ReadLimit(*it, "per_minute", "rate_limit.per_minute", in.rate_limit_per_minute);
      !st.ok()) {
    return st.error();
  }
  if (Status st = ReadLimit(*it, "per_month", "rate_limit.per_month", in.rate_limit_per_month);
      !st.ok()) {
    return st.error();
  }
  return in;
}

Result<Response> ListProjects(App& app, Request& req) {
  auto limit = PageLimit(req);
  if (!limit) return limit.error();
  auto page = app.projects.List(*req.membership, req.QueryParam("cursor").value_or(""), *limit);
  if (!page) return page.error();
  Json data = Json::array();
  for (const auto& v : page->projects) data.push_back(ProjectJson(app, v));
  Json next = page->next_cursor.empty() ? Json(nullptr) : Json(page->next_cursor);
  return JsonResponse(
      200, {{"data", std::move(data)}, {"next_cursor", std::move(next)}, {"total", page->total}});
}

Result<Response> GetProject(App& app, Request& req) {
  auto v = app.projects.Get(*req.membership, req.Param("prj"));
  if (!v) return v.error();
  Json j = ProjectJson(app, *v);
  Json members = Json::array();
  for (const auto& m : v->members) members.push_back(ProjectMemberJson(m));
  j["members"] = std::move(members);
  return JsonResponse(200, j);
}

Result<Response> PutProjectMember(App& app, Request& req) {
  auto body = ParseObject(req, {"role"});
  if (!body) return body.error();
  Fields f(*body);
  auto role = f.RequiredStr("role");
  if (!f.ok()) return f.error();
  auto m = app.projects.PutMember(*req.principal, *req.membership, req.Param("prj"),
                                  req.Param("usr"), *role);
  if (!m) return m.error();
  Json j = ProjectMemberJson(*m);
  j["project_id"] = req.Param("prj");
  return JsonResponse(200, j);
}

}  // namespace

void AddProjectRoutes(App& app) {
  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/projects",
                  .operation_id = "createProject",
                  .summary = "Create a project: {name, environment?, rate_limit?}",
                  .access = Access::kWorkspace,
                  .permission = "projects.manage",
                  .tag = "projects",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto in = ReadProjectInput(req, true);
                    if (!in) return in.error();
                    auto v = app.projects.Create(*req.principal, *req.membership, *in);
                    if (!v) return v.error();
                    return JsonResponse(201, ProjectJson(app, *v));
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/projects",
                  .operation_id = "listProjects",
                  .summary = "The projects the caller may see (all with projects.view_all)",
                  .access = Access::kMember,
                  .body_type = "",
                  .tag = "projects",
                  .handler = [&app](Request& req) { return ListProjects(app, req); }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/projects/{prj}",
                  .operation_id = "getProject",
                  .summary = "A project the caller may see, with its members",
                  .access = Access::kMember,
                  .body_type = "",
                  .tag = "projects",
                  .handler = [&app](Request& req) { return GetProject(app, req); }});

  app.router.Add({.method = "PATCH",
                  .path = "/v1/workspaces/{ws}/projects/{prj}",
                  .operation_id = "updateProject",
                  .summary = "Change a project; needs projects.manage inside the project",
                  .access = Access::kMember,
                  .tag = "projects",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto in = ReadProjectInput(req, false);
                    if (!in) return in.error();
                    auto v =
                        app.projects.Update(*req.principal, *req.membership, req.Param("prj"), *in);
                    if (!v) return v.error();
                    return JsonResponse(200, ProjectJson(app, *v));
                  }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/workspaces/{ws}/projects/{prj}",
                  .operation_id = "deleteProject",
                  .summary = "Delete a project without live API keys; needs projects.manage in it",
                  .access = Access::kMember,
                  .body_type = "",
                  .tag = "projects",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto st =
                        app.projects.Delete(*req.principal, *req.membership, req.Param("prj"));
                    if (!st.ok()) return st.error();
                    return NoContent();
                  }});

  app.router.Add({.method = "PUT",
                  .path = "/v1/workspaces/{ws}/projects/{prj}/members/{usr}",
                  .operation_id = "putProjectMember",
                  .summary = "Give a member a role inside the project (or change it)",
                  .access = Access::kMember,
                  .tag = "projects",
                  .handler = [&app](Request& req) { return PutProjectMember(app, req); }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/workspaces/{ws}/projects/{prj}/members/{usr}",
                  .operation_id = "removeProjectMember",
                  .summary = "Take a member's role inside the project away",
                  .access = Access::kMember,
                  .body_type = "",
                  .tag = "projects",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto st = app.projects.RemoveMember(*req.principal, *req.membership,
                                                        req.Param("prj"), req.Param("usr"));
                    if (!st.ok()) return st.error();
                    return NoContent();
                  }});
}

}  // namespace gh::http
