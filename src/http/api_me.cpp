// The caller's own account: profile and sessions.
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {

void AddMeRoutes(App& app) {
  app.router.Add({.method = "GET",
                  .path = "/v1/me",
                  .operation_id = "getMe",
                  .summary = "The signed-in user, their CSRF token and memberships",
                  .access = Access::kAuthenticated,
                  .body_type = "",
                  .tag = "me",
                  .handler = [&app](Request& req) {
                    const Principal& p = *req.principal;
                    Json j = UserJson(p.user);
                    j["mfa_enabled"] = p.user.mfa_enabled;
                    j["email_verified"] = p.user.email_verified_at.has_value();
                    j["csrf_token"] = req.session_token.empty()
                                          ? Json(nullptr)
                                          : Json(Accounts::CsrfTokenFor(req.session_token));
                    Json memberships = Json::array();
                    for (const auto& w : *app.accounts.Memberships(p.user.id)) {
                      // An SSO session sees only the workspace it was made for.
                      if (!p.scope_workspace_id.empty() &&
                          w.workspace.id != p.scope_workspace_id) {
                        continue;
                      }
                      memberships.push_back(
                          {{"workspace_id", w.workspace.id},
                           {"workspace_name", w.workspace.name},
                           {"role", w.membership.role},
                           {"status", w.membership.status()},
                           {"ip_allowlist_enabled", w.workspace.ip_allowlist_enabled}});
                    }
                    j["memberships"] = std::move(memberships);
                    auto or_null = [](const std::string& v) {
                      return v.empty() ? Json(nullptr) : Json(v);
                    };
                    j["session"] = {
                        {"method", p.session_id.empty()        ? "api_key"
                                   : p.sso_connection_id.empty() ? "password"
                                                                 : "sso"},
                        {"sso_connection_id", or_null(p.sso_connection_id)},
                        {"workspace_id", or_null(p.scope_workspace_id)}};
                    return JsonResponse(200, j);
                  }});

  app.router.Add({.method = "PATCH",
                  .path = "/v1/me",
                  .operation_id = "updateMe",
                  .summary = "Change name, theme or language",
                  .access = Access::kAuthenticated,
                  .tag = "me",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"name", "theme", "language"});
                    if (!body) return body.error();
                    Fields f(*body);
                    ProfileChanges ch{f.Str("name"), f.Str("theme"), f.Str("language")};
                    if (!f.ok()) return f.error();
                    auto u = app.accounts.UpdateProfile(*req.principal, ch);
                    if (!u) return u.error();
                    return JsonResponse(200, UserJson(*u));
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/me/password",
                  .operation_id = "changePassword",
                  .summary = "Change the password ({current_password, new_password}); signs out "
                             "every other session",
                  .access = Access::kAuthenticated,
                  .slow = true,
                  .tag = "me",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"current_password", "new_password"});
                    if (!body) return body.error();
                    Fields f(*body);
                    auto current = f.RequiredStr("current_password");
                    auto next = f.RequiredStr("new_password");
                    if (!f.ok()) return f.error();
                    auto n = app.accounts.ChangePassword(*req.principal, *current, *next);
                    if (!n) return n.error();
                    return JsonResponse(200, {{"revoked_sessions", *n}});
                  }});

  app.router.Add(
      {.method = "DELETE",
       .path = "/v1/me",
       .operation_id = "deleteMe",
       .summary = "Delete the caller's account; body {\"password\": …, \"confirm\": "
                  "\"DELETE\"}; 409 owns_workspaces while they own one",
       .access = Access::kAuthenticated,
       .slow = true,
       .tag = "me",
       .handler = [&app](Request& req) -> Result<Response> {
         auto body = ParseObject(req, {"password", "confirm"});
         if (!body) return body.error();
         Fields f(*body);
         auto password = f.RequiredStr("password");
         auto confirm = f.Str("confirm");
         if (!f.ok()) return f.error();
         auto closed = app.closure.Close(*req.principal, *password, confirm.value_or(""));
         if (!closed && closed.error().code != "owns_workspaces") return closed.error();
         if (!closed) {
           // The workspaces in the way, for the dashboard to link to: a problem member that an
           // Error cannot carry, so this one problem is rendered here.
           Response r = Problem(closed.error(), req);
           Json j = Json::parse(r.body);
           Json list = Json::array();
           for (const auto& w : app.closure.OwnedWorkspaces(app.store, req.principal->user.id)) {
             list.push_back({{"id", w.id}, {"name", w.name}});
           }
           j["workspaces"] = std::move(list);
           r.body = j.dump();
           return r;
         }
         Response r = NoContent();
         r.Header("Set-Cookie", SessionCookie(app, "", 0));
         return r;
       }});

  app.router.Add({.method = "GET",
                  .path = "/v1/me/sessions",
                  .operation_id = "listSessions",
                  .summary = "The caller's signed-in sessions",
                  .access = Access::kAuthenticated,
                  .body_type = "",
                  .tag = "me",
                  .handler = [&app](Request& req) {
                    Json data = Json::array();
                    const Principal& me = *req.principal;
                    for (const auto& s : app.accounts.Sessions(me)) {
                      // A session made by SSO sees only the sessions of its own connection.
                      if (!me.scope_workspace_id.empty() &&
                          s.sso_connection_id != me.sso_connection_id) {
                        continue;
                      }
                      data.push_back(SessionJson(s, me.session_id));
                    }
                    return JsonResponse(200, {{"data", data}, {"next_cursor", nullptr}});
                  }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/me/sessions/{ses}",
                  .operation_id = "revokeSession",
                  .summary = "Sign out one session",
                  .access = Access::kAuthenticated,
                  .body_type = "",
                  .tag = "me",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto st = app.accounts.RevokeSession(*req.principal, req.Param("ses"));
                    if (!st.ok()) return st.error();
                    Response r;
                    r.status = 204;
                    r.content_type.clear();
                    return r;
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/me/sessions/revoke-all",
                  .operation_id = "revokeOtherSessions",
                  .summary = "Sign out every session but the current one",
                  .access = Access::kAuthenticated,
                  .body_type = "",
                  .tag = "me",
                  .handler = [&app](Request& req) {
                    int n = app.accounts.RevokeOtherSessions(*req.principal);
                    return JsonResponse(200, {{"revoked", n}});
                  }});

  app.router.Add(
      {.method = "POST",
       .path = "/v1/me/mfa/totp",
       .operation_id = "startTotp",
       .summary = "Start TOTP enrolment: a secret, its otpauth:// URI and QR code",
       .access = Access::kAuthenticated,
       .body_type = "",
       .secret_response = true,
       .tag = "me",
       .handler = [&app](Request& req) -> Result<Response> {
         auto e = app.mfa.Start(*req.principal);
         if (!e) return e.error();
         return JsonResponse(
             200, {{"secret", e->secret}, {"otpauth_uri", e->otpauth_uri}, {"qr_svg", e->qr_svg}});
       }});

  // The code of the two routes below: {code}, required, a string.
  auto code_of = [](Request& req) -> Result<std::string> {
    auto body = ParseObject(req, {"code"});
    if (!body) return body.error();
    Fields f(*body);
    auto code = f.RequiredStr("code");
    if (!f.ok()) return f.error();
    return *code;
  };

  app.router.Add({.method = "POST",
                  .path = "/v1/me/mfa/totp/verify",
                  .operation_id = "confirmTotp",
                  .summary = "Confirm enrolment with a first code; returns the recovery codes once",
                  .access = Access::kAuthenticated,
                  .secret_response = true,
                  .tag = "me",
                  .handler = [&app, code_of](Request& req) -> Result<Response> {
                    auto code = code_of(req);
                    if (!code) return code.error();
                    auto codes = app.mfa.Confirm(*req.principal, *code);
                    if (!codes) return codes.error();
                    return JsonResponse(200, {{"mfa_enabled", true}, {"recovery_codes", *codes}});
                  }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/me/mfa/totp",
                  .operation_id = "disableTotp",
                  .summary = "Turn TOTP off with a current code or a recovery code",
                  .access = Access::kAuthenticated,
                  .tag = "me",
                  .handler = [&app, code_of](Request& req) -> Result<Response> {
                    auto code = code_of(req);
                    if (!code) return code.error();
                    if (auto st = app.mfa.Disable(*req.principal, *code); !st.ok()) {
                      return st.error();
                    }
                    return NoContent();
                  }});
}

}  // namespace gh::http
