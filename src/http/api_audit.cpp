// The audit log: filtered reads, the streamed export, host product events and verification.
// Who sees what is decided here from the caller's membership: project isolation (without
// projects.view_all, only visible projects' events and workspace-level ones) and PII
// redaction (without logs.view_pii, masked emails and IPs).
#include <memory>

#include "core/pii.h"
#include "core/validation.h"
#include "http/render.h"
#include "http/routes.h"
#include "service/audit_export.h"

namespace gh::http {
namespace {

struct Scope {
  std::optional<std::vector<std::string>> visible_projects;  // nullopt: every project
  bool redact = false;
};

Scope ScopeOf(App& app, const Membership& m) {
  Scope s;
  if (!app.access.Can(m, "projects.view_all")) s.visible_projects = app.access.VisibleProjects(m);
  s.redact = !app.access.Can(m, "logs.view_pii");
  return s;
}

AuditFilterInput FilterInputOf(const Request& req) {
  AuditFilterInput in;
  in.actor = req.QueryParam("actor");
  in.action = req.QueryParam("action");
  in.project_id = req.QueryParam("project_id");
  in.target = req.QueryParam("target");
  in.from = req.QueryParam("from");
  in.to = req.QueryParam("to");
  return in;
}

// The filter as the caller wrote it, for the audit_log.exported event.
Json FilterJson(const AuditFilterInput& in) {
  Json j = Json::object();
  auto put = [&](const char* k, const std::optional<std::string>& v) {
    if (v) j[k] = *v;
  };
  put("actor", in.actor);
  put("action", in.action);
  put("project_id", in.project_id);
  put("target", in.target);
  put("from", in.from);
  put("to", in.to);
  return j;
}

Result<AuditFilter> ScopedFilter(const Request& req, const Scope& scope) {
  auto filter = AuditLog::ParseFilter(req.membership->workspace_id, FilterInputOf(req));
  if (!filter) return filter.error();
  filter->visible_projects = scope.visible_projects;
  return filter;
}

Result<Response> List(App& app, Request& req) {
  auto limit = PageLimit(req);
  if (!limit) return limit.error();
  Scope scope = ScopeOf(app, *req.membership);
  auto filter = ScopedFilter(req, scope);
  if (!filter) return filter.error();
  auto page = app.audit.List(*filter, req.QueryParam("cursor").value_or(""), *limit);
  if (!page) return page.error();
  Json data = Json::array();
  for (auto& e : page->events) {
    if (scope.redact) RedactAuditEvent(e);
    data.push_back(AuditEventJson(e));
  }
  Json next = page->next ? Json(AuditLog::EncodeCursor(*page->next)) : Json(nullptr);
  return JsonResponse(200, {{"data", data}, {"next_cursor", next}});
}

Result<Response> Export(App& app, Request& req) {
  std::string format = req.QueryParam("format").value_or("csv");
  if (format != "csv" && format != "jsonl") {
    return Error::BadRequest("invalid_filter", "format must be csv or jsonl.", "format");
  }
  Scope scope = ScopeOf(app, *req.membership);
  auto filter = ScopedFilter(req, scope);
  if (!filter) return filter.error();
  auto exporter = std::make_shared<AuditExporter>(
      app.store, *filter,
      format == "csv" ? AuditExporter::Format::kCsv : AuditExporter::Format::kJsonl, scope.redact);
  Response r;
  r.status = 200;
  r.content_type = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
  r.Header("Content-Disposition", "attachment; filename=\"audit-log-" +
                                      req.membership->workspace_id + "." + format + "\"");
  // The export is recorded once its last row has been produced, with the count.
  std::string filter_json = FilterJson(FilterInputOf(req)).dump();
  Principal actor = *req.principal;
  std::string ws = req.membership->workspace_id;
  r.stream = [&app, exporter, actor, ws, format, filter_json](std::string& chunk) {
    bool more = exporter->Next(chunk);
    if (exporter->finished() && !more) {
      app.audit.RecordExport(actor, ws, format, filter_json, exporter->rows());
    }
    return more;
  };
  return r;
}

Result<HostEventInput> ReadHostEvent(const Request& req) {
  auto body = ParseObject(req, {"action", "actor", "target", "project_id", "details"});
  if (!body) return body.error();
  Fields f(*body);
  HostEventInput in;
  auto action = f.RequiredStr("action");
  in.actor = f.Str("actor");
  auto project = f.Str("project_id");
  if (!f.ok()) return f.error();
  in.action = *action;
  in.project_id = project.value_or("");
  if (auto t = body->find("target"); t != body->end() && !t->is_null()) {
    if (!t->is_object()) {
      return Error::Invalid("invalid_target", "target", "target is an object {type, id, name}.");
    }
    for (const auto& [k, v] : t->items()) {
      if (k != "type" && k != "id" && k != "name") {
        return Error::Invalid("unknown_field", "target." + k, "target has type, id and name.");
      }
      if (!v.is_string() && !v.is_null()) {
        return Error::Invalid("invalid_target", "target." + k, "target." + k + " is a string.");
      }
    }
    auto str = [&](const char* k) {
      auto it = t->find(k);
      return it == t->end() || it->is_null() ? std::string() : it->get<std::string>();
    };
    in.target_type = str("type");
    in.target_id = str("id");
    in.target_name = str("name");
    // Shown in the dashboard and printed by `gatehouse audit export`: no terminal escapes.
    for (const auto& [field, value] :
         {std::pair{"target.type", &in.target_type}, std::pair{"target.id", &in.target_id},
          std::pair{"target.name", &in.target_name}}) {
      if (!validation::IsSingleLine(*value)) {
        return Error::Invalid("invalid_target", field,
                              std::string(field) + " is one line without control characters.");
      }
    }
  }
  if (auto d = body->find("details"); d != body->end() && !d->is_null()) {
    if (!d->is_object()) {
      return Error::Invalid("invalid_details", "details", "details is a JSON object.");
    }
    in.details_json = d->dump();
  }
  return in;
}

Result<Response> RecordHostEvent(App& app, Request& req) {
  auto in = ReadHostEvent(req);
  if (!in) return in.error();
  if (!in->project_id.empty() && !app.access.CanSeeProject(*req.membership, in->project_id)) {
    return Error::Invalid("unknown_project", "project_id",
                          "project_id is not a project of this workspace you can see.");
  }
  auto e = app.audit.RecordHostEvent(*req.principal, req.membership->workspace_id, *in);
  if (!e) return e.error();
  if (!app.access.Can(*req.membership, "logs.view_pii")) RedactAuditEvent(*e);
  return JsonResponse(201, AuditEventJson(*e));
}

Response Verify(App& app, Request& req) {
  AuditVerification v = app.audit.Verify(req.membership->workspace_id);
  Json body = {{"valid", v.valid}, {"checked", v.checked}};
  if (!v.valid) {
    body["first_invalid_id"] =
        v.first_invalid_id.empty() ? Json(nullptr) : Json(v.first_invalid_id);
    body["reason"] = v.reason;
  }
  return JsonResponse(200, body);
}

}  // namespace

void AddAuditRoutes(App& app) {
  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/audit-logs",
                  .operation_id = "listAuditLogs",
                  .summary = "Audit events of the workspace, newest first, filtered",
                  .access = Access::kWorkspace,
                  .permission = "audit_log.view",
                  .body_type = "",
                  .tag = "audit",
                  .handler = [&app](Request& req) { return List(app, req); }});
  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/audit-logs/export",
                  .operation_id = "exportAuditLogs",
                  .summary = "Stream the filtered audit log as CSV (or JSON lines)",
                  .access = Access::kWorkspace,
                  .permission = "audit_log.export",
                  .body_type = "",
                  .tag = "audit",
                  .handler = [&app](Request& req) { return Export(app, req); }});
  app.router.Add({.method = "POST",
                  .path = "/v1/workspaces/{ws}/audit-logs",
                  .operation_id = "recordAuditEvent",
                  .summary = "Record an event of the host product",
                  .access = Access::kWorkspace,
                  .permission = "audit_log.record",
                  .body_limit = 32 * 1024,
                  .group_commit = true,
                  .tag = "audit",
                  .handler = [&app](Request& req) { return RecordHostEvent(app, req); }});
  app.router.Add({.method = "GET",
                  .path = "/v1/workspaces/{ws}/audit-logs/verify",
                  .operation_id = "verifyAuditLogs",
                  .summary = "Recompute the tamper-evident chain and report the first break",
                  .access = Access::kWorkspace,
                  .permission = "audit_log.view",
                  .body_type = "",
                  .tag = "audit",
                  .handler = [&app](Request& req) { return Verify(app, req); }});
}

}  // namespace gh::http
