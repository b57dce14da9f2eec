// Email verification and password reset: the links mailed to a user, and asking for them.
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {

void AddVerificationRoutes(App& app) {
  app.router.Add({.method = "POST",
                  .path = "/v1/auth/password-reset",
                  .operation_id = "requestPasswordReset",
                  .summary = "Mail a password reset link ({email}); 202 whether or not the "
                             "address has an account",
                  .access = Access::kPublic,
                  .tag = "auth",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"email"});
                    if (!body) return body.error();
                    Fields f(*body);
                    auto email = f.RequiredStr("email");
                    if (!f.ok()) return f.error();
                    if (auto st = app.password_reset.Request(*email, req.Client()); !st.ok()) {
                      return st.error();
                    }
                    return JsonResponse(
                        202, {{"message",
                               "If an account exists for this address, we sent it a link to "
                               "reset the password. The link expires in 1 hour."}});
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/auth/password-reset/confirm",
                  .operation_id = "confirmPasswordReset",
                  .summary = "Set a new password with a reset link ({token, new_password}); "
                             "ends every session of the account",
                  .access = Access::kPublic,
                  .slow = true,
                  .tag = "auth",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"token", "new_password"});
                    if (!body) return body.error();
                    Fields f(*body);
                    auto token = f.RequiredStr("token");
                    auto password = f.RequiredStr("new_password");
                    if (!f.ok()) return f.error();
                    auto done = app.password_reset.Confirm(*token, *password, req.Client());
                    if (!done) return done.error();
                    return JsonResponse(200, {{"email", done->user.email},
                                              {"revoked_sessions", done->revoked_sessions},
                                              {"mfa_enabled", done->user.mfa_enabled}});
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/auth/verify-email",
                  .operation_id = "verifyEmail",
                  .summary = "Verify the account's email address with the mailed link ({token})",
                  .access = Access::kPublic,
                  .tag = "auth",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"token"});
                    if (!body) return body.error();
                    Fields f(*body);
                    auto token = f.RequiredStr("token");
                    if (!f.ok()) return f.error();
                    auto user = app.verification.Verify(*token, req.Client());
                    if (!user) return user.error();
                    return JsonResponse(200, {{"email", user->email}, {"email_verified", true}});
                  }});

  app.router.Add(
      {.method = "POST",
       .path = "/v1/me/verify-email",
       .operation_id = "resendEmailVerification",
       .summary = "Mail the caller a new verification link; 409 "
                  "email_already_verified, 429 past the hourly limit",
       .access = Access::kAuthenticated,
       .tag = "me",
       .handler = [&app](Request& req) -> Result<Response> {
         if (auto body = ParseObject(req, {}); !body) return body.error();
         if (auto st = app.verification.Resend(*req.principal); !st.ok()) {
           return st.error();
         }
         const std::string& email = req.principal->user.email;
         return JsonResponse(
             202, {{"email", email}, {"message", "We sent a verification link to " + email + "."}});
       }});
}

}  // namespace gh::http
