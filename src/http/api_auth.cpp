// Sign up, log in, log out.
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {
namespace {

Response SessionStarted(App& app, int status, const NewSession& s) {
  Response r = JsonResponse(status, {{"user", UserJson(s.user)}, {"csrf_token", s.csrf_token}});
  r.Header("Set-Cookie",
           SessionCookie(app, s.token, s.session.absolute_expires_at - s.session.created_at));
  return r;
}

}  // namespace

void AddAuthRoutes(App& app) {
  app.router.Add({.method = "POST",
                  .path = "/v1/auth/signup",
                  .operation_id = "signup",
                  .summary = "Create an account and sign in",
                  .access = Access::kPublic,
                  .slow = true,
                  .tag = "auth",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"email", "password", "name"});
                    if (!body) return body.error();
                    Fields f(*body);
                    auto email = f.RequiredStr("email");
                    auto password = f.RequiredStr("password");
                    auto name = f.RequiredStr("name");
                    if (!f.ok()) return f.error();
                    auto s = app.accounts.Signup({*email, *password, *name}, req.Client());
                    if (!s) return s.error();
                    return SessionStarted(app, 201, *s);
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/auth/login",
                  .operation_id = "login",
                  .summary = "Sign in with email and password",
                  .access = Access::kPublic,
                  .slow = true,
                  .tag = "auth",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"email", "password", "totp_code"});
                    if (!body) return body.error();
                    Fields f(*body);
                    auto email = f.RequiredStr("email");
                    auto password = f.RequiredStr("password");
                    auto totp_code = f.Str("totp_code");
                    if (!f.ok()) return f.error();
                    auto s =
                        app.accounts.Login(*email, *password, req.Client(), totp_code.value_or(""));
                    if (!s) return s.error();
                    return SessionStarted(app, 200, *s);
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/auth/logout",
                  .operation_id = "logout",
                  .summary = "End the current session",
                  .access = Access::kAuthenticated,
                  .body_type = "",
                  .tag = "auth",
                  .handler = [&app](Request& req) -> Result<Response> {
                    if (auto st = app.accounts.Logout(*req.principal); !st.ok()) {
                      return st.error();
                    }
                    Response r;
                    r.status = 204;
                    r.content_type.clear();
                    r.Header("Set-Cookie", SessionCookie(app, "", 0));
                    return r;
                  }});
}

}  // namespace gh::http
