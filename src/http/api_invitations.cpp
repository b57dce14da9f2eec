// Invitations: the workspace side and the public accept side.
#include "core/time.h"
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {
namespace {

constexpr size_t kCsvBodyLimit = 10 * 1024 * 1024;

Json InvitationJson(const InvitationView& v) {
  const Invitation& i = v.invitation;
  return {{"id", i.id},
          {"email", i.email},
          {"role", i.role},
          {"projects", i.projects},
          {"status", v.status},
          {"invited_by", {{"user_id", i.invited_by}, {"name", v.inviter_name}}},
          {"redirect_url", i.redirect_url.empty() ? Json(nullptr) : Json(i.redirect_url)},
          {"created_at", FormatRfc3339(i.created_at)},
          {"expires_at", FormatRfc3339(i.expires_at)}};
}

// The invitation token is a secret that only the email carries: problems about a token route
// name the route template, never the path with the token in it. The error leaves the handler
// with the path already rewritten, so that the middleware renders it with the template.
Error TokenError(const Error& e, Request& req, const char* route_template) {
  req.path = route_template;
  return e;
}

Result<Response> Invite(App& app, Request& req) {
  auto body = ParseObject(req, {"email", "role", "projects", "redirect_url"});
  if (!body) return body.error();
  Fields f(*body);
  InviteInput in;
  auto email = f.RequiredStr("email");
  in.role = f.Str("role");
  in.redirect_url = f.Str("redirect_url").value_or("");
  if (!f.ok()) return f.error();
  in.email = *email;
  if (auto it = body->find("projects"); it != body->end() && !it->is_null()) {
    if (!it->is_array()) {
      return Error::Invalid("invalid_type", "projects", "'projects' must be an array.");
    }
    for (const auto& p : *it) {
      if (!p.is_string()) {
        return Error::Invalid("invalid_type", "projects", "'projects' holds project ids.");
      }
      in.projects.push_back(p.get<std::string>());
    }
  }
  auto v = app.invitations.Invite(*req.principal, *req.membership, in);
  if (!v) return v.error();
  Json j = InvitationJson(*v);
  j["message"] = Invitations::SuccessMessage(v->invitation.email);
  return JsonResponse(201, j);
}

Result<Response> Accept(App& app, Request& req) {
  constexpr const char* kRoute = "/v1/invitations/{token}/accept";
  auto body = ParseObject(req, {"name", "password"});
  if (!body) return TokenError(body.error(), req, kRoute);
  Fields f(*body);
  auto name = f.Str("name");
  auto password = f.Str("password");
  if (!f.ok()) return TokenError(f.error(), req, kRoute);
  auto a = app.invitations.Accept(req.Param("token"), req.principal, name, password, req.Client());
  if (!a) return TokenError(a.error(), req, kRoute);
  Json j = {{"workspace_id", a->workspace_id},
            {"role", a->membership.role},
            {"user", UserJson(a->user)},
            {"redirect_url", a->redirect_url.empty() ? Json(nullptr) : Json(a->redirect_url)}};
  Response r;
  if (a->new_session) {
    j["csrf_token"] = a->new_session->csrf_token;
    r = JsonResponse(201, j);
    r.Header("Set-Cookie", SessionCookie(app, a->new_session->token,
                                         a->new_session->session.absolute_expires_at -
                                             a->new_session->session.created_at));
  } else {
    r = JsonResponse(200, j);
  }
  return r;
}

}  // namespace

void AddInvitationRoutes(App& app) {
  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/invitations",
                  .operation_id = "createInvitation",
                  .summary = "Invite someone by email",
                  .access = Access::kWorkspace,
                  .permission = "members.invite",
                  .tag = "invitations",
                  .handler = [&app](Request& req) { return Invite(app, req); }});

  app.router.Add(
      {.method = "GET",
       .path = "/v1/workspaces/{ws}/invitations",
       .operation_id = "listInvitations",
       .summary = "Pending invitations (?status=all for every invitation)",
       .access = Access::kWorkspace,
       .permission = "invitations.view",
       .body_type = "",
       .tag = "invitations",
       .handler = [&app](Request& req) -> Result<Response> {
         auto status = req.QueryParam("status").value_or("pending");
         if (status != "pending" && status != "all") {
           return Error::Invalid("invalid_status", "status", "status is pending or all.");
         }
         Json data = Json::array();
         for (const auto& v : app.invitations.List(*req.membership, status == "all")) {
           data.push_back(InvitationJson(v));
         }
         size_t total = data.size();
         return JsonResponse(
             200, {{"data", std::move(data)}, {"next_cursor", nullptr}, {"total", total}});
       }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/workspaces/{ws}/invitations/{inv}",
                  .operation_id = "revokeInvitation",
                  .summary = "Revoke a pending invitation",
                  .access = Access::kWorkspace,
                  .permission = "members.invite",
                  .body_type = "",
                  .tag = "invitations",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto v =
                        app.invitations.Revoke(*req.principal, *req.membership, req.Param("inv"));
                    if (!v) return v.error();
                    return JsonResponse(200, InvitationJson(*v));
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/invitations/{inv}/resend",
                  .operation_id = "resendInvitation",
                  .summary = "Send the invitation again with a new link and expiry",
                  .access = Access::kWorkspace,
                  .permission = "members.invite",
                  .body_type = "",
                  .tag = "invitations",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto v =
                        app.invitations.Resend(*req.principal, *req.membership, req.Param("inv"));
                    if (!v) return v.error();
                    return JsonResponse(200, InvitationJson(*v));
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/invitations/bulk",
                  .operation_id = "bulkInvite",
                  .summary = "Invite up to 1,000 people from CSV (email,role,projects)",
                  .access = Access::kWorkspace,
                  .permission = "members.invite",
                  .body_limit = kCsvBodyLimit,
                  .body_type = "text/csv",
                  .tag = "invitations",
                  .handler = [&app](Request& req) -> Result<Response> {
                    std::string_view ct = req.Header("content-type");
                    std::string_view base = ct.substr(0, ct.find(';'));
                    if (base != "text/csv" && base != "application/csv") {
                      return Error{ErrorKind::kUnsupportedMedia,
                                   "unsupported_media_type",
                                   "Send the rows as text/csv.",
                                   {}};
                    }
                    auto results =
                        app.invitations.InviteBulk(*req.principal, *req.membership, req.body);
                    if (!results) return results.error();
                    Json rows = Json::array();
                    int invited = 0;
                    for (const auto& r : *results) {
                      Json row = {{"row", r.row}, {"email", r.email}, {"status", r.status}};
                      if (!r.code.empty()) {
                        row["code"] = r.code;
                        row["detail"] = r.detail;
                      }
                      invited += r.status == "invited";
                      rows.push_back(std::move(row));
                    }
                    return JsonResponse(200, {{"results", rows},
                                              {"invited", invited},
                                              {"failed", static_cast<int>(rows.size()) - invited}});
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/invitations/{token}",
                  .operation_id = "lookupInvitation",
                  .summary = "Public: what an invitation link is for",
                  .access = Access::kPublic,
                  .body_type = "",
                  .tag = "invitations",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto v = app.invitations.Lookup(req.Param("token"));
                    if (!v) return TokenError(v.error(), req, "/v1/invitations/{token}");
                    const Invitation& i = v->invitation;
                    return JsonResponse(200,
                                        {{"workspace_name", v->workspace_name},
                                         {"invited_by", {{"name", v->inviter_name}}},
                                         {"email", i.email},
                                         {"role", i.role},
                                         {"role_name", app.access.RoleName(i.workspace_id, i.role)},
                                         {"status", v->status},
                                         {"expires_at", FormatRfc3339(i.expires_at)}});
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/invitations/{token}/accept",
                  .operation_id = "acceptInvitation",
                  .summary = "Accept signed in as the invited email, or create that account "
                             "with {name, password}",
                  .access = Access::kOptionalAuth,
                  .slow = true,
                  .tag = "invitations",
                  .handler = [&app](Request& req) { return Accept(app, req); }});
}

}  // namespace gh::http
