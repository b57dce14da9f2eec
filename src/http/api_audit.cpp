// The audit log.
#include "http/routes.h"

namespace gh::http {

void AddAuditRoutes(App& app) {
  app.router.Add({.method = "GET", .path = "/v1/workspaces/{ws}/audit-logs",
                  .operation_id = "listAuditLogs",
                  .summary = "Audit events of the workspace, newest first",
                  .access = Access::kWorkspace, .permission = "audit_log.view",
                  .body_type = "", .tag = "audit", .handler = [&app](Request& req) {
                    auto limit = PageLimit(req);
                    if (!limit) return Problem(limit.error(), req);
                    auto page = app.audit.List(req.membership->workspace_id,
                                               req.QueryParam("cursor").value_or(""), *limit);
                    if (!page) return Problem(page.error(), req);
                    Json data = Json::array();
                    for (const auto& e : page->events) data.push_back(AuditEventJson(e));
                    Json next = page->next_seq ? Json(AuditLog::EncodeCursor(*page->next_seq))
                                               : Json(nullptr);
                    return JsonResponse(200, {{"data", data}, {"next_cursor", next}});
                  }});
}

}  // namespace gh::http
