// Single sign-on: a workspace's connections (permission sso.configure), the SP metadata, and
// the public round trip authorize → IdP → ACS or OIDC callback (service/sso.h decides).
#include "core/time.h"
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {
namespace {

constexpr size_t kConnectionBodyLimit = 512 * 1024;  // IdP metadata can be a few hundred KiB
constexpr size_t kAcsBodyLimit = 512 * 1024;         // SAMLResponse (256 KiB base64) encoded

Json ConnectionJson(App& app, const SsoConnectionView& v) {
  const SsoConnection& c = v.connection;
  const SsoSettings& s = v.settings;
  Json mapping = Json::object();
  for (const auto& [from, role] : s.role_mapping) mapping[from] = role;
  Json projects = Json::array();
  for (const auto& p : s.default_projects) {
    projects.push_back({{"project_id", p.project_id}, {"role", p.role}});
  }
  Json last = nullptr;
  if (!c.last_test.empty()) {
    last = Json::parse(c.last_test);
    last.erase("settings_version");
  }
  Json j = {{"id", c.id},
            {"workspace_id", c.workspace_id},
            {"type", c.type},
            {"provider", c.provider},
            {"name", c.name},
            {"status", c.status},
            {"domains", c.domains},
            {"attribute_mapping",
             {{"email", s.attr_email},
              {"first_name", s.attr_first_name},
              {"last_name", s.attr_last_name},
              {"role", s.attr_role},
              {"groups", s.attr_groups}}},
            {"role_mapping", mapping},
            {"default_role", s.default_role.empty() ? Json(nullptr) : Json(s.default_role)},
            {"default_projects", projects},
            {"jit", s.jit},
            {"sp",
             {{"entity_id", app.sso.EntityId(c.id)},
              {"acs_url", app.sso.AcsUrl(c.id)},
              {"metadata_url", app.sso.MetadataUrl(c.id)}}},
            {"redirect_uri", app.sso.RedirectUri(c.id)},
            {"last_test", last},
            {"created_at", FormatRfc3339(c.created_at)},
            {"updated_at", FormatRfc3339(c.updated_at)}};
  if (c.type == "saml") {
    j["saml"] = {{"idp_entity_id", s.idp_entity_id},
                 {"idp_sso_url", s.idp_sso_url},
                 {"idp_certificate", s.idp_certificates.empty() ? "" : s.idp_certificates[0]},
                 {"allow_idp_initiated", s.allow_idp_initiated}};
  } else {
    // The client secret is write-only: shown as set, never returned.
    j["oidc"] = {{"issuer", s.issuer},
                 {"client_id", s.client_id},
                 {"scopes", s.scopes},
                 {"client_secret_set", !c.client_secret.empty()}};
  }
  return j;
}

Result<Json> ConnectionBody(const Request& req) {
  return ParseObject(req,
                     {"type", "provider", "name", "domains", "saml", "oidc", "attribute_mapping",
                      "role_mapping", "default_role", "default_projects", "jit", "status"});
}

Response Redirect(const std::string& location) {
  Response r;
  r.status = 302;
  r.content_type.clear();
  r.Header("Location", location);
  return r;
}

// One field of an application/x-www-form-urlencoded body.
std::optional<std::string> FormField(const std::string& body, std::string_view name) {
  Request form;
  form.query = body;
  return form.QueryParam(name);
}

// The cookie that binds an SSO answer to the browser that started the login. Over https it is
// SameSite=None (and so Secure), since a SAML IdP posts the answer cross-site; it proves
// nothing but "this browser", and only the ACS and the callback read it.
std::string BrowserCookie(const App& app, const std::string& value, int max_age) {
  std::string c =
      "gh_sso=" + value + "; Path=/v1/sso/; HttpOnly; Max-Age=" + std::to_string(max_age);
  c += app.secure_cookies ? "; SameSite=None; Secure" : "; SameSite=Lax";
  return c;
}

// What the browser sees at the end of the round trip.
Result<Response> Finished(App& app, Result<SsoOutcome> outcome) {
  if (!outcome) return outcome.error();
  if (outcome->test) {
    // The admin who ran the test lands back on the SSO settings, which show last_test.
    return Redirect("/settings/sso?workspace=" + outcome->workspace_id +
                    "&connection=" + outcome->connection_id +
                    "&test=" + (outcome->failed ? "failed" : "succeeded"));
  }
  if (outcome->failed) {
    Error e{ErrorKind::kForbidden,
            "sso_response_rejected",
            outcome->reason + ": " + outcome->detail,
            {}};
    e.extensions = {{"reason", outcome->reason}};
    return e;
  }
  const NewSession& s = *outcome->session;
  Response r = Redirect(outcome->redirect_url.empty() ? "/" : outcome->redirect_url);
  r.Header("Set-Cookie",
           SessionCookie(app, s.token, s.session.absolute_expires_at - s.session.created_at));
  r.Header("Set-Cookie", BrowserCookie(app, "", 0));
  return r;
}

}  // namespace

void AddSsoRoutes(App& app) {
  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/sso/connections",
                  .operation_id = "createSsoConnection",
                  .summary = "Add an SSO connection (SAML 2.0, OIDC or an OAuth provider)",
                  .access = Access::kWorkspace,
                  .permission = "sso.configure",
                  .body_limit = kConnectionBodyLimit,
                  .tag = "sso",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ConnectionBody(req);
                    if (!body) return body.error();
                    if (body->contains("status")) {
                      return Error::Invalid("invalid_status", "status",
                                            "A new connection starts as a draft; enable it with "
                                            "PATCH after a test login.");
                    }
                    auto v = app.sso.Create(*req.principal, *req.membership, *body);
                    if (!v) return v.error();
                    return JsonResponse(201, ConnectionJson(app, *v));
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/sso/connections",
                  .operation_id = "listSsoConnections",
                  .summary = "The workspace's SSO connections",
                  .access = Access::kWorkspace,
                  .permission = "sso.configure",
                  .body_type = "",
                  .tag = "sso",
                  .handler = [&app](Request& req) -> Result<Response> {
                    Json data = Json::array();
                    for (const auto& v : app.sso.List(req.membership->workspace_id)) {
                      data.push_back(ConnectionJson(app, v));
                    }
                    return JsonResponse(200, {{"data", data}, {"next_cursor", nullptr}});
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/sso/connections/{sso}",
                  .operation_id = "getSsoConnection",
                  .summary = "One SSO connection",
                  .access = Access::kWorkspace,
                  .permission = "sso.configure",
                  .body_type = "",
                  .tag = "sso",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto v = app.sso.Get(req.membership->workspace_id, req.Param("sso"));
                    if (!v) return v.error();
                    return JsonResponse(200, ConnectionJson(app, *v));
                  }});

  app.router.Add({.method = "PATCH",
                  .path = "/v1/workspaces/{ws}/sso/connections/{sso}",
                  .operation_id = "updateSsoConnection",
                  .summary = "Change an SSO connection's settings, or enable/disable it",
                  .access = Access::kWorkspace,
                  .permission = "sso.configure",
                  .body_limit = kConnectionBodyLimit,
                  .tag = "sso",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ConnectionBody(req);
                    if (!body) return body.error();
                    auto v =
                        app.sso.Update(*req.principal, *req.membership, req.Param("sso"), *body);
                    if (!v) return v.error();
                    return JsonResponse(200, ConnectionJson(app, *v));
                  }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/workspaces/{ws}/sso/connections/{sso}",
                  .operation_id = "deleteSsoConnection",
                  .summary = "Delete an SSO connection",
                  .access = Access::kWorkspace,
                  .permission = "sso.configure",
                  .body_type = "",
                  .tag = "sso",
                  .handler = [&app](Request& req) -> Result<Response> {
                    if (Status st =
                            app.sso.Delete(*req.principal, *req.membership, req.Param("sso"));
                        !st.ok()) {
                      return st.error();
                    }
                    Response r;
                    r.status = 204;
                    r.content_type.clear();
                    return r;
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/sso/connections/{sso}/test",
                  .operation_id = "testSsoConnection",
                  .summary = "Start a test login; its outcome lands in last_test",
                  .access = Access::kWorkspace,
                  .permission = "sso.configure",
                  .body_type = "",
                  .slow = true,
                  .tag = "sso",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto url = app.sso.StartTest(*req.principal, *req.membership, req.Param("sso"));
                    if (!url) return url.error();
                    return JsonResponse(200, {{"url", *url}});
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/sso/saml/{sso}/metadata",
                  .operation_id = "samlMetadata",
                  .summary = "SAML SP metadata of a connection",
                  .access = Access::kPublic,
                  .body_type = "",
                  .tag = "sso",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto xml = app.sso.SpMetadata(req.Param("sso"));
                    if (!xml) return xml.error();
                    Response r;
                    r.content_type = "application/samlmetadata+xml";
                    r.body = *xml;
                    return r;
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/sso/authorize",
                  .operation_id = "ssoAuthorize",
                  .summary = "Start an SSO login: 302 to the identity provider",
                  .access = Access::kPublic,
                  .body_type = "",
                  .slow = true,  // OIDC discovery may be fetched
                  .tag = "sso",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto start = app.sso.Authorize(req.QueryParam("connection").value_or(""),
                                                   req.QueryParam("email").value_or(""),
                                                   req.QueryParam("workspace").value_or(""),
                                                   req.QueryParam("redirect_url").value_or(""),
                                                   req.Client());
                    if (!start) return start.error();
                    Response r = Redirect(start->url);
                    if (!start->browser_cookie.empty()) {
                      r.Header("Set-Cookie", BrowserCookie(app, start->browser_cookie, 600));
                    }
                    return r;
                  }});

  app.router.Add(
      {.method = "POST",
       .path = "/v1/sso/saml/{sso}/acs",
       .operation_id = "samlAcs",
       .summary = "SAML assertion consumer service (HTTP-POST binding)",
       .access = Access::kPublic,
       .body_limit = kAcsBodyLimit,
       .body_type = "application/x-www-form-urlencoded",
       .slow = true,  // signature verification
       .tag = "sso",
       .handler = [&app](Request& req) -> Result<Response> {
         std::string_view type = req.Header("content-type");
         if (type.substr(0, 33) != "application/x-www-form-urlencoded") {
           return Error{ErrorKind::kUnsupportedMedia,
                        "unsupported_media_type",
                        "The ACS takes an HTML form post "
                        "(application/x-www-form-urlencoded).",
                        {}};
         }
         auto response = FormField(req.body, "SAMLResponse");
         if (!response || response->empty()) {
           return Error::Invalid("missing_field", "SAMLResponse", "SAMLResponse is required.");
         }
         return Finished(
             app, app.sso.SamlAcs(req.Param("sso"), *response, req.Cookie("gh_sso"), req.Client()));
       }});

  app.router.Add({.method = "GET",
                  .path = "/v1/sso/oidc/{sso}/callback",
                  .operation_id = "oidcCallback",
                  .summary = "OpenID Connect / OAuth redirect URI",
                  .access = Access::kPublic,
                  .body_type = "",
                  .slow = true,  // token exchange and JWKS
                  .tag = "sso",
                  .handler = [&app](Request& req) -> Result<Response> {
                    return Finished(app, app.sso.OidcCallback(req.Param("sso"),
                                                              req.QueryParam("code").value_or(""),
                                                              req.QueryParam("state").value_or(""),
                                                              req.QueryParam("error").value_or(""),
                                                              req.Cookie("gh_sso"), req.Client()));
                  }});
}

}  // namespace gh::http
