// Rendering of domain records shared by several API areas, and the paging parameter they share.
#include "http/render.h"

#include <algorithm>

#include "core/time.h"
#include "http/routes.h"
#include "service/audit_export.h"
#include "service/geoip.h"

namespace gh::http {

Json UserJson(const User& u) {
  return {
      {"id", u.id},
      {"email", u.email},
      {"name", u.name},
      {"avatar_url", u.avatar_url.empty() ? Json(nullptr) : Json(u.avatar_url)},
      {"theme", u.theme},
      {"language", u.language},
      {"created_at", FormatRfc3339(u.created_at)},
      {"last_login_at", u.last_login_at ? Json(FormatRfc3339(*u.last_login_at)) : Json(nullptr)}};
}

Json WorkspaceJson(const WorkspaceView& v) {
  const Workspace& w = v.workspace;
  Json logo = nullptr;
  if (!w.logo_content_type.empty()) {
    logo = "/v1/workspaces/" + w.id + "/logo?v=" + std::to_string(w.logo_updated_at);
  }
  return {{"id", w.id},
          {"name", w.name},
          {"logo_url", logo},
          {"region", w.region},
          {"timezone", w.timezone},
          {"language", w.language},
          {"plan", w.plan},
          {"subscription_status", w.subscription_status},
          {"member_count", v.member_count},
          {"member_limit", v.member_limit},
          {"audit_retention_days", w.audit_retention_days},
          {"require_mfa", w.require_mfa},
          {"sso_enforced", w.sso_enforced},
          {"ip_allowlist_enabled", w.ip_allowlist_enabled},
          {"role", v.role},
          {"created_at", FormatRfc3339(w.created_at)},
          {"updated_at", FormatRfc3339(w.updated_at)}};
}

Json SessionJson(const Session& s, const std::string& current) {
  return {{"id", s.id},
          {"current", s.id == current},
          {"device", s.device},
          {"browser", s.browser},
          {"ip", s.ip},
          {"location", s.country.empty() ? Json(nullptr)
                                         : Json{{"country", s.country},
                                                {"country_name", GeoIp::CountryName(s.country)}}},
          {"created_at", FormatRfc3339(s.created_at)},
          {"last_active_at", FormatRfc3339(s.last_active_at)},
          {"expires_at", FormatRfc3339(std::min(s.idle_expires_at, s.absolute_expires_at))},
          {"method", s.method},
          {"connection", s.sso_connection_id.empty() ? Json(nullptr) : Json(s.sso_connection_id)},
          {"workspace_id",
           s.scope_workspace_id.empty() ? Json(nullptr) : Json(s.scope_workspace_id)}};
}

Json AuditEventJson(const AuditEvent& e) { return AuditEventToJson(e); }

std::string SessionCookie(const App& app, const std::string& token, int64_t max_age) {
  std::string c = "gh_session=" + token +
                  "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(max_age);
  if (app.secure_cookies) c += "; Secure";
  return c;
}

Result<int> PageLimit(const Request& req) {
  auto raw = req.QueryParam("limit");
  if (!raw) return 50;
  int v = 0;
  bool ok = !raw->empty() && raw->size() <= 4;
  for (char c : *raw) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) v = v * 10 + (c - '0');
  }
  if (!ok || v < 1 || v > 200) {
    return Error::Invalid("invalid_limit", "limit", "limit must be a whole number from 1 to 200.");
  }
  return v;
}

}  // namespace gh::http
