// Workspaces and their logos.
#include "http/multipart.h"
#include "http/render.h"
#include "http/routes.h"

namespace gh::http {
namespace {

constexpr size_t kLogoBodyLimit = Workspaces::kMaxLogoBytes + 64 * 1024;  // + multipart framing

Result<WorkspaceInput> ReadWorkspaceInput(const Request& req, bool creating) {
  auto body = creating ? ParseObject(req, {"name", "region", "timezone", "language"})
                       : ParseObject(req, {"name", "region", "timezone", "language",
                                           "audit_retention_days", "require_mfa", "sso_enforced"});
  if (!body) return body.error();
  Fields f(*body);
  WorkspaceInput in;
  in.name = creating ? f.RequiredStr("name") : f.Str("name");
  in.region = f.Str("region");
  in.timezone = f.Str("timezone");
  in.language = f.Str("language");
  if (auto days = f.Int("audit_retention_days")) {
    if (*days < 0 || *days > 100000) {
      return Error::Invalid("invalid_retention", "audit_retention_days",
                            "audit_retention_days is out of range.");
    }
    in.audit_retention_days = static_cast<int>(*days);
  }
  if (auto it = body->find("require_mfa"); it != body->end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return Error::Invalid("invalid_type", "require_mfa", "require_mfa must be true or false.");
    }
    in.require_mfa = it->get<bool>();
  }
  if (auto it = body->find("sso_enforced"); it != body->end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return Error::Invalid("invalid_type", "sso_enforced", "sso_enforced must be true or false.");
    }
    in.sso_enforced = it->get<bool>();
  }
  if (!f.ok()) return f.error();
  return in;
}

Result<Response> UploadLogo(App& app, Request& req) {
  auto boundary = MultipartBoundary(req.Header("content-type"));
  if (!boundary) {
    return Error{ErrorKind::kUnsupportedMedia,
                 "unsupported_media_type",
                 "Upload the logo as multipart/form-data with a part named 'file'.",
                 {}};
  }
  auto parts = ParseMultipart(req.body, *boundary);
  if (!parts) {
    return Error::BadRequest("malformed_multipart", "The multipart body is malformed.");
  }
  const FormPart* file = nullptr;
  for (const auto& p : *parts) {
    if (p.name == "file") file = &p;
  }
  if (!file) return Error::Invalid("required", "file", "The part 'file' is required.");
  auto url = app.workspaces.PutLogo(*req.principal, *req.membership, file->data);
  if (!url) return url.error();
  return JsonResponse(200, {{"logo_url", *url}});
}

Json IpAllowlistJson(const IpAllowlistView& v) {
  Json entries = Json::array();
  for (const auto& e : v.entries) entries.push_back({{"cidr", e.cidr}, {"label", e.label}});
  return {{"enabled", v.enabled},
          {"entries", entries},
          {"updated_at", v.updated_at ? Json(FormatRfc3339(v.updated_at)) : Json(nullptr)}};
}

// {enabled, entries: [{cidr, label?}]}: both required, so that a PUT states the whole list.
Result<IpAllowlistInput> ReadIpAllowlistInput(const Request& req) {
  auto body = ParseObject(req, {"enabled", "entries"});
  if (!body) return body.error();
  IpAllowlistInput in;
  auto enabled = body->find("enabled");
  if (enabled == body->end() || enabled->is_null()) {
    return Error::Invalid("required", "enabled", "enabled is required (true or false).");
  }
  if (!enabled->is_boolean()) {
    return Error::Invalid("invalid_type", "enabled", "enabled must be true or false.");
  }
  in.enabled = enabled->get<bool>();
  auto entries = body->find("entries");
  if (entries == body->end() || entries->is_null()) {
    return Error::Invalid("required", "entries", "entries is required (an array, maybe empty).");
  }
  if (!entries->is_array()) {
    return Error::Invalid("invalid_type", "entries", "entries must be an array.");
  }
  if (entries->size() > IpAllowlists::kMaxEntries) {
    return Error::Invalid(
        "too_many_entries", "entries",
        "An IP allowlist holds at most " + std::to_string(IpAllowlists::kMaxEntries) + " entries.");
  }
  for (size_t i = 0; i < entries->size(); ++i) {
    const Json& e = (*entries)[i];
    std::string at = "entries[" + std::to_string(i) + "]";
    if (!e.is_object()) {
      return Error::Invalid("invalid_type", at, at + " must be an object {cidr, label}.");
    }
    for (auto it = e.begin(); it != e.end(); ++it) {
      if (it.key() != "cidr" && it.key() != "label") {
        return Error::Invalid("unknown_field", at + "." + it.key(),
                              "Unknown field " + it.key() + ".");
      }
    }
    IpAllowlistInput::Entry entry;
    auto cidr = e.find("cidr");
    if (cidr == e.end() || cidr->is_null()) {
      return Error::Invalid("required", at + ".cidr", "cidr is required.");
    }
    if (!cidr->is_string()) {
      return Error::Invalid("invalid_type", at + ".cidr", "cidr must be a string.");
    }
    entry.cidr = cidr->get<std::string>();
    if (auto label = e.find("label"); label != e.end() && !label->is_null()) {
      if (!label->is_string()) {
        return Error::Invalid("invalid_type", at + ".label", "label must be a string.");
      }
      entry.label = label->get<std::string>();
    }
    in.entries.push_back(std::move(entry));
  }
  return in;
}

}  // namespace

void AddWorkspaceRoutes(App& app) {
  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces",
                  .operation_id = "createWorkspace",
                  .summary = "Create a workspace; the caller becomes its owner",
                  .access = Access::kAuthenticated,
                  .tag = "workspaces",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto in = ReadWorkspaceInput(req, true);
                    if (!in) return in.error();
                    auto v = app.workspaces.Create(*req.principal, *in);
                    if (!v) return v.error();
                    return JsonResponse(201, WorkspaceJson(*v));
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces",
                  .operation_id = "listWorkspaces",
                  .summary = "The caller's workspaces",
                  .access = Access::kAuthenticated,
                  .body_type = "",
                  .tag = "workspaces",
                  .handler = [&app](Request& req) {
                    Json data = Json::array();
                    const std::string& scope = req.principal->scope_workspace_id;
                    for (const auto& v : app.workspaces.ListMine(*req.principal)) {
                      if (!scope.empty() && v.workspace.id != scope) continue;
                      data.push_back(WorkspaceJson(v));
                    }
                    Json body = {{"data", data}, {"next_cursor", nullptr}, {"total", data.size()}};
                    return JsonResponse(200, body);
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}",
                  .operation_id = "getWorkspace",
                  .summary = "One workspace",
                  .access = Access::kWorkspace,
                  .permission = "workspace.view",
                  .body_type = "",
                  .tag = "workspaces",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto v = app.workspaces.Get(*req.membership);
                    if (!v) return v.error();
                    return JsonResponse(200, WorkspaceJson(*v));
                  }});

  app.router.Add({.method = "PATCH",
                  .path = "/v1/workspaces/{ws}",
                  .operation_id = "updateWorkspace",
                  .summary = "Rename, change time zone, language or audit retention",
                  .access = Access::kWorkspace,
                  .permission = "workspace.edit",
                  .tag = "workspaces",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto in = ReadWorkspaceInput(req, false);
                    if (!in) return in.error();
                    if (in->sso_enforced && !app.access.Can(*req.membership, "sso.configure")) {
                      return Error::Forbidden("Enforcing single sign-on needs the permission "
                                              "sso.configure.");
                    }
                    auto v = app.workspaces.Update(*req.principal, *req.membership, *in);
                    if (!v) return v.error();
                    return JsonResponse(200, WorkspaceJson(*v));
                  }});

  app.router.Add({.method = "DELETE",
                  .path = "/v1/workspaces/{ws}",
                  .operation_id = "deleteWorkspace",
                  .summary = "Delete the workspace; body {\"confirm\": \"DELETE\"}",
                  .access = Access::kWorkspace,
                  .permission = "workspace.delete",
                  .tag = "workspaces",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto body = ParseObject(req, {"confirm"});
                    if (!body) return body.error();
                    Fields f(*body);
                    auto confirm = f.Str("confirm");
                    if (!f.ok()) return f.error();
                    auto st = app.workspaces.Delete(*req.principal, *req.membership,
                                                    confirm.value_or(""));
                    if (!st.ok()) return st.error();
                    return NoContent();
                  }});

  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/logo",
                  .operation_id = "uploadWorkspaceLogo",
                  .summary = "Upload a PNG, JPEG or WebP logo of at most 2 MiB",
                  .access = Access::kWorkspace,
                  .permission = "workspace.edit",
                  .body_limit = kLogoBodyLimit,
                  .body_type = "multipart/form-data",
                  .tag = "workspaces",
                  .handler = [&app](Request& req) { return UploadLogo(app, req); }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/ip-allowlist",
                  .operation_id = "getIpAllowlist",
                  .summary = "The IP allowlist: {enabled (block all other IPs), entries, "
                             "updated_at}",
                  .access = Access::kWorkspace,
                  .permission = "ip_allowlist.manage",
                  .body_type = "",
                  .tag = "workspaces",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto v = app.ip_allowlists.Get(*req.membership);
                    if (!v) return v.error();
                    return JsonResponse(200, IpAllowlistJson(*v));
                  }});

  app.router.Add({.method = "PUT",
                  .path = "/v1/workspaces/{ws}/ip-allowlist",
                  .operation_id = "putIpAllowlist",
                  .summary = "Replace the IP allowlist {enabled, entries:[{cidr, label?}]}; "
                             "refused (422 ip_allowlist_lockout) when it would shut out the "
                             "caller's own address",
                  .access = Access::kWorkspace,
                  .permission = "ip_allowlist.manage",
                  .tag = "workspaces",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto in = ReadIpAllowlistInput(req);
                    if (!in) return in.error();
                    auto v = app.ip_allowlists.Put(*req.principal, *req.membership, *in);
                    if (!v) return v.error();
                    return JsonResponse(200, IpAllowlistJson(*v));
                  }});

  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/logo",
                  .operation_id = "getWorkspaceLogo",
                  .summary = "The logo image",
                  .access = Access::kWorkspace,
                  .permission = "workspace.view",
                  .body_type = "",
                  .tag = "workspaces",
                  .handler = [&app](Request& req) -> Result<Response> {
                    auto logo = app.workspaces.GetLogo(*req.membership);
                    if (!logo) return logo.error();
                    Response r;
                    r.content_type = logo->content_type;
                    r.body = std::move(logo->bytes);
                    r.Header("Cache-Control", "private, max-age=86400");
                    r.Header("ETag", "\"" + std::to_string(logo->updated_at) + "\"");
                    return r;
                  }});
}

}  // namespace gh::http
