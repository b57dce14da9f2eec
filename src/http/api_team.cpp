// Members, roles, ownership and the caller's permissions.
#include "core/ids.h"
#include "core/time.h"
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {
namespace {

// The member's project roles, as far as `viewer` may see those projects.
Json MemberProjectsJson(App& app, const ProjectBook& book, const Member& m,
                        const Membership& viewer, bool viewer_sees_all) {
  Json out = Json::array();
  for (const auto& a : book.AssignmentsOf(m.user.id)) {
    if (!viewer_sees_all && !book.RoleOf(viewer.user_id, a.project_id)) continue;
    const ProjectBook::Entry* p = book.Find(a.project_id);
    out.push_back({{"project_id", a.project_id},
                   {"name", p ? p->name : ""},
                   {"role", a.role},
                   {"role_name", app.access.RoleName(m.membership.workspace_id, a.role)}});
  }
  return out;
}

// What rendering a list of members needs once, not per member.
struct MemberContext {
  std::shared_ptr<const ProjectBook> book;
  bool sees_all = false;
};

MemberContext ContextFor(App& app, const Membership& viewer) {
  return {app.access.ProjectsOf(viewer.workspace_id), app.access.Can(viewer, "projects.view_all")};
}

Json MemberJson(App& app, const Member& m, const Membership& viewer, const MemberContext& ctx) {
  const std::string& ws = m.membership.workspace_id;
  const auto& book = ctx.book;
  bool sees_all = ctx.sees_all;
  return {{"user_id", m.user.id},
          {"name", m.user.name},
          {"email", m.user.email},
          {"role", m.membership.role},
          {"role_name", app.access.RoleName(ws, m.membership.role)},
          {"projects", MemberProjectsJson(app, *book, m, viewer, sees_all)},
          {"last_login_at",
           m.user.last_login_at ? Json(FormatRfc3339(*m.user.last_login_at)) : Json(nullptr)},
          {"joined_at", FormatRfc3339(m.membership.joined_at)},
          {"status", m.membership.status()},
          {"directory_managed", m.membership.directory_managed}};
}

// The members page rendered by hand: it is the team screen's hot read (a 1,000-member workspace
// pages through it), and building nlohmann objects for 50 members cost most of the request.
// Same fields as MemberJson.
std::string MembersPageBody(App& app, const MemberPage& page, const Membership& viewer) {
  MemberContext ctx = ContextFor(app, viewer);
  absl::flat_hash_map<std::string, std::string> role_names;  // per page, not per member
  auto role_name = [&](const std::string& ws, const std::string& role) -> const std::string& {
    auto it = role_names.find(role);
    if (it == role_names.end()) it = role_names.emplace(role, app.access.RoleName(ws, role)).first;
    return it->second;
  };
  std::string out;
  out.reserve(256 * page.members.size() + 64);
  out += "{\"data\":[";
  bool first = true;
  for (const auto& m : page.members) {
    const std::string& ws = m.membership.workspace_id;
    out += first ? "{" : ",{";
    first = false;
    out += "\"user_id\":";
    AppendJsonString(out, m.user.id);
    out += ",\"name\":";
    AppendJsonString(out, m.user.name);
    out += ",\"email\":";
    AppendJsonString(out, m.user.email);
    out += ",\"role\":";
    AppendJsonString(out, m.membership.role);
    out += ",\"role_name\":";
    AppendJsonString(out, role_name(ws, m.membership.role));
    out += ",\"projects\":[";
    bool first_project = true;
    for (const auto& a : ctx.book->AssignmentsOf(m.user.id)) {
      if (!ctx.sees_all && !ctx.book->RoleOf(viewer.user_id, a.project_id)) continue;
      const ProjectBook::Entry* p = ctx.book->Find(a.project_id);
      out += first_project ? "{\"project_id\":" : ",{\"project_id\":";
      first_project = false;
      AppendJsonString(out, a.project_id);
      out += ",\"name\":";
      AppendJsonString(out, p ? p->name : "");
      out += ",\"role\":";
      AppendJsonString(out, a.role);
      out += ",\"role_name\":";
      AppendJsonString(out, role_name(ws, a.role));
      out += '}';
    }
    out += "],\"last_login_at\":";
    if (m.user.last_login_at) {
      AppendJsonString(out, FormatRfc3339(*m.user.last_login_at));
    } else {
      out += "null";
    }
    out += ",\"joined_at\":";
    AppendJsonString(out, FormatRfc3339(m.membership.joined_at));
    out += ",\"status\":";
    AppendJsonString(out, m.membership.status());
    out += m.membership.directory_managed ? ",\"directory_managed\":true}" : ",\"directory_managed\":false}";
  }
  out += "],\"next_cursor\":";
  if (page.next_cursor.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, page.next_cursor);
  }
  out += ",\"total\":";
  out += std::to_string(page.total);
  out += '}';
  return out;
}

Json RoleJson(const RoleView& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"description", r.description},
          {"builtin", r.builtin},
          {"permissions", r.permissions},
          {"member_count", r.member_count}};
}

Result<RoleInput> ReadRoleInput(const Request& req) {
  auto body = ParseObject(req, {"name", "description", "permissions"});
  if (!body) return body.error();
  Fields f(*body);
  RoleInput in;
  in.name = f.Str("name");
  in.description = f.Str("description");
  if (!f.ok()) return f.error();
  if (auto it = body->find("permissions"); it != body->end() && !it->is_null()) {
    if (!it->is_array()) {
      return Error::Invalid("invalid_type", "permissions",
                            "'permissions' must be an array of ids.");
    }
    std::vector<std::string> ids;
    for (const auto& p : *it) {
      if (!p.is_string()) {
        return Error::Invalid("invalid_type", "permissions", "'permissions' must hold strings.");
      }
      ids.push_back(p.get<std::string>());
    }
    in.permissions = std::move(ids);
  }
  return in;
}

Response PermissionsOfCaller(App& app, Request& req) {
  const Membership& m = *req.membership;
  Catalogue::Set set = app.access.PermissionsOf(m.workspace_id, m.role);
  // The projects where a project role overrides the workspace role.
  Json projects = Json::array();
  auto book = app.access.ProjectsOf(m.workspace_id);
  for (const auto& a : book->AssignmentsOf(m.user_id)) {
    const ProjectBook::Entry* p = book->Find(a.project_id);
    std::string role = app.access.RoleIn(m, a.project_id);  // the owner is never narrowed
    Catalogue::Set in_project = app.access.PermissionsOf(m.workspace_id, role);
    projects.push_back({{"project_id", a.project_id},
                        {"name", p ? p->name : ""},
                        {"role", role},
                        {"role_name", app.access.RoleName(m.workspace_id, role)},
                        {"permissions", app.access.PermissionIds(in_project)}});
  }
  Json body = {{"workspace_id", m.workspace_id},
               {"role", m.role},
               {"role_name", app.access.RoleName(m.workspace_id, m.role)},
               {"permissions", app.access.PermissionIds(set)},
               {"projects", std::move(projects)}};
  Response r = JsonResponse(200, body);
  // The dashboard caches this for five minutes (the spec's usePermissions hook).
  r.Header("Cache-Control", "private, max-age=300");
  return r;
}

Response CatalogueResponse(App& app) {
  const gh::Catalogue& c = app.catalogue;
  Json categories = Json::array();
  for (const auto& cat : c.categories) {
    Json perms = Json::array();
    for (const auto& p : cat.permissions) {
      perms.push_back({{"id", p.id}, {"name", p.name}, {"description", p.description}});
    }
    categories.push_back({{"id", cat.id}, {"name", cat.name}, {"permissions", perms}});
  }
  Json roles = Json::array();
  for (const auto& r : c.roles) {
    roles.push_back({{"id", r.id},
                     {"name", r.name},
                     {"description", r.description},
                     {"permissions", c.Ids(r.permissions)},
                     {"invitable", c.Invitable(r.id)}});
  }
  Response r =
      JsonResponse(200, {{"preset", c.id},
                         {"name", c.name},
                         {"categories", categories},
                         {"roles", roles},
                         {"owner_role", c.owner_role.empty() ? Json(nullptr) : Json(c.owner_role)},
                         {"default_invite_role", c.default_invite_role}});
  r.Header("Cache-Control", "public, max-age=300");
  return r;
}

}  // namespace

void AddTeamRoutes(App& app) {
  app.router.Add({.method = "GET",
                  .path = "/v1/permissions",
                  .operation_id = "getCatalogue",
                  .summary = "The permission catalogue and built-in roles of this deployment",
                  .access = Access::kPublic,
                  .body_type = "",
                  .tag = "team",
                  .handler = [&app](Request&) { return CatalogueResponse(app); }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/permissions",
                  .operation_id = "getMyPermissions",
                  .summary = "The caller's role and permissions in the workspace",
                  .access = Access::kMember,
                  .body_type = "",
                  .tag = "team",
                  .handler = [&app](Request& req) { return PermissionsOfCaller(app, req); }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/members",
                  .operation_id = "listMembers",
                  .summary = "Active members of the workspace",
                  .access = Access::kWorkspace,
                  .permission = "members.view",
                  .body_type = "",
                  .tag = "team",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto limit = PageLimit(req);
                    if (!limit) return limit.error();
                    auto page = app.team.Members(*req.membership,
                                                 req.QueryParam("cursor").value_or(""), *limit);
                    if (!page) return page.error();
                    Response r;
                    r.body = MembersPageBody(app, *page, *req.membership);
                    return r;
                  }});

  app.router.Add(
      {.method = "PATCH",
       .path = "/v1/workspaces/{ws}/members/{usr}",
       .operation_id = "updateMember",
       .summary = "Change a member's role",
       .access = Access::kWorkspace,
       .permission = "members.manage_roles",
       .tag = "team",
       .handler = [&app](Request& req) -> Result<Response> {
         auto body = ParseObject(req, {"role"});
         if (!body) return body.error();
         Fields f(*body);
         auto role = f.RequiredStr("role");
         if (!f.ok()) return f.error();
         if (!IsWellFormedId(req.Param("usr"), "usr")) {
           return Error::NotFound("member");
         }
         auto m = app.team.ChangeRole(*req.principal, *req.membership, req.Param("usr"), *role);
         if (!m) return m.error();
         return JsonResponse(
             200, MemberJson(app, *m, *req.membership, ContextFor(app, *req.membership)));
       }});

  app.router.Add(
      {.method = "POST",
       .path = "/v1/workspaces/{ws}/members/{usr}/suspend",
       .operation_id = "suspendMember",
       .summary = "Suspend a member: refused in the workspace (403 member_suspended), their keys "
                  "verify SUSPENDED, until unsuspended",
       .access = Access::kWorkspace,
       .permission = "members.remove",
       .tag = "team",
       .handler = [&app](Request& req) -> Result<Response> {
         std::string reason;
         if (!req.body.empty()) {
           auto body = ParseObject(req, {"reason"});
           if (!body) return body.error();
           if (body->contains("reason") && !(*body)["reason"].is_null()) {
             if (!(*body)["reason"].is_string()) {
               return Error::Invalid("invalid_reason", "reason", "reason must be a string.");
             }
             reason = (*body)["reason"].get<std::string>();
           }
         }
         auto m = app.team.Suspend(*req.principal, *req.membership, req.Param("usr"), reason);
         if (!m) return m.error();
         return JsonResponse(
             200, MemberJson(app, *m, *req.membership, ContextFor(app, *req.membership)));
       }});
  app.router.Add(
      {.method = "POST",
       .path = "/v1/workspaces/{ws}/members/{usr}/unsuspend",
       .operation_id = "unsuspendMember",
       .summary = "Lift a member's suspension: requests and keys work again",
       .access = Access::kWorkspace,
       .permission = "members.remove",
       .body_type = "",
       .tag = "team",
       .handler = [&app](Request& req) -> Result<Response> {
         auto m = app.team.Unsuspend(*req.principal, *req.membership, req.Param("usr"));
         if (!m) return m.error();
         return JsonResponse(
             200, MemberJson(app, *m, *req.membership, ContextFor(app, *req.membership)));
       }});

  app.router.Add(
      {.method = "DELETE",
       .path = "/v1/workspaces/{ws}/members/{usr}",
       .operation_id = "removeMember",
       .summary = "Remove a member; their API keys are revoked, or with "
                  "?revoke_keys=false re-owned by ?transfer_to (default: the caller)",
       .access = Access::kWorkspace,
       .permission = "members.remove",
       .body_type = "",
       .tag = "team",
       .handler = [&app](Request& req) -> Result<Response> {
         auto flag = req.QueryParam("revoke_keys");
         if (flag && *flag != "true" && *flag != "false") {
           return Error::Invalid("invalid_type", "revoke_keys", "revoke_keys is true or false.");
         }
         if (!IsWellFormedId(req.Param("usr"), "usr")) {
           return Error::NotFound("member");
         }
         KeyHandover keys;
         keys.revoke = !flag || *flag == "true";
         auto transfer_to = req.QueryParam("transfer_to");
         if (transfer_to && keys.revoke) {
           return Error::Invalid("invalid_transfer_to", "transfer_to",
                                 "transfer_to goes with revoke_keys=false.");
         }
         if (transfer_to) keys.transfer_to = *transfer_to;
         auto n = app.team.Remove(*req.principal, *req.membership, req.Param("usr"), keys);
         if (!n) return n.error();
         return NoContent();
       }});

  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/transfer-ownership",
                  .operation_id = "transferOwnership",
                  .summary = "Make another member the owner; the caller becomes admin",
                  .access = Access::kWorkspace,
                  .permission = "workspace.transfer_ownership",
                  .tag = "team",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"user_id"});
                    if (!body) return body.error();
                    Fields f(*body);
                    auto user = f.RequiredStr("user_id");
                    if (!f.ok()) return f.error();
                    auto st = app.team.TransferOwnership(*req.principal, *req.membership, *user);
                    if (!st.ok()) return st.error();
                    auto v = app.workspaces.Get(*req.membership);
                    if (!v) return v.error();
                    v->role = app.catalogue.FindRole("admin") ? "admin"
                                                              : app.catalogue.default_invite_role;
                    return JsonResponse(200, WorkspaceJson(*v));
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/roles",
                  .operation_id = "listRoles",
                  .summary = "Built-in and custom roles",
                  .access = Access::kWorkspace,
                  .permission = "members.view",
                  .body_type = "",
                  .tag = "team",
                  .handler = [&app](Request& req) {
                    Json data = Json::array();
                    for (const auto& r : app.team.Roles(*req.membership))
                      data.push_back(RoleJson(r));
                    return JsonResponse(200, {{"data", data}, {"next_cursor", nullptr}});
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/roles",
                  .operation_id = "createRole",
                  .summary = "Create a custom role from catalogue permissions",
                  .access = Access::kWorkspace,
                  .permission = "roles.manage",
                  .tag = "team",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto in = ReadRoleInput(req);
                    if (!in) return in.error();
                    auto r = app.team.CreateRole(*req.principal, *req.membership, *in);
                    if (!r) return r.error();
                    return JsonResponse(201, RoleJson(*r));
                  }});

  app.router.Add({.method = "PATCH",
                  .path = "/v1/workspaces/{ws}/roles/{role}",
                  .operation_id = "updateRole",
                  .summary = "Change a custom role",
                  .access = Access::kWorkspace,
                  .permission = "roles.manage",
                  .tag = "team",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto in = ReadRoleInput(req);
                    if (!in) return in.error();
                    auto r = app.team.UpdateRole(*req.principal, *req.membership, req.Param("role"),
                                                 *in);
                    if (!r) return r.error();
                    return JsonResponse(200, RoleJson(*r));
                  }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/workspaces/{ws}/roles/{role}",
                  .operation_id = "deleteRole",
                  .summary = "Delete a custom role no member holds",
                  .access = Access::kWorkspace,
                  .permission = "roles.manage",
                  .body_type = "",
                  .tag = "team",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto st =
                        app.team.DeleteRole(*req.principal, *req.membership, req.Param("role"));
                    if (!st.ok()) return st.error();
                    return NoContent();
                  }});
}

}  // namespace gh::http
