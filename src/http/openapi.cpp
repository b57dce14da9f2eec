// GET /openapi.json: an OpenAPI 3.1 document built from the route table, so that it covers
// every route the server serves by construction.
#include "http/routes.h"

namespace gh::http {
namespace {

Json ProblemSchema() {
  return {{"type", "object"},
          {"required", {"type", "title", "status", "code"}},
          {"properties",
           {{"type", {{"type", "string"}}},
            {"title", {{"type", "string"}}},
            {"status", {{"type", "integer"}}},
            {"code", {{"type", "string"}}},
            {"detail", {{"type", "string"}}},
            {"instance", {{"type", "string"}}},
            {"request_id", {{"type", "string"}}},
            {"errors",
             {{"type", "array"},
              {"items",
               {{"type", "object"},
                {"properties",
                 {{"field", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}}}};
}

Json Operation(const Route& r) {
  Json op = {{"operationId", r.operation_id}, {"summary", r.summary}, {"tags", {r.tag}}};
  Json params = Json::array();
  for (auto seg : SplitPath(r.path)) {
    if (seg.size() > 2 && seg.front() == '{') {
      params.push_back({{"name", std::string(seg.substr(1, seg.size() - 2))},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
    }
  }
  if (!params.empty()) op["parameters"] = params;
  if (!r.body_type.empty() && r.method != "GET") {
    Json schema = r.body_type == "application/json" ? Json{{"type", "object"}}
                                                    : Json{{"type", "string"}, {"format", "binary"}};
    op["requestBody"] = {{"content", {{r.body_type, {{"schema", schema}}}}}};
  }
  Json problem = {{"description", "Problem"},
                  {"content",
                   {{"application/problem+json",
                     {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
  op["responses"] = {{"2XX", {{"description", "Success"}}}, {"default", problem}};
  if (r.access == Access::kPublic) {
    op["security"] = Json::array();
  } else if (r.access == Access::kOptionalAuth) {
    op["security"] = Json::array({Json::object(), {{"sessionCookie", Json::array()}}});
  } else {
    op["security"] = Json::array({{{"sessionCookie", Json::array()}}, {{"bearerKey", Json::array()}}});
  }
  if (r.access == Access::kWorkspace) op["x-permission"] = r.permission;
  return op;
}

}  // namespace

void AddOpenApiRoute(App& app) {
  app.router.Add({.method = "GET", .path = "/openapi.json", .operation_id = "openapi",
                  .summary = "This OpenAPI 3.1 document", .access = Access::kPublic,
                  .body_type = "", .tag = "meta", .handler = [&app](Request&) {
                    Json paths = Json::object();
                    for (const auto& r : app.router.Routes()) {
                      std::string method = r.method;
                      for (auto& c : method) c = static_cast<char>(std::tolower(c));
                      paths[r.path][method] = Operation(r);
                    }
                    Json doc = {
                        {"openapi", "3.1.0"},
                        {"info",
                         {{"title", "Gatehouse API"},
                          {"version", app.version},
                          {"description",
                           "Teams, roles, API keys and audit for B2B products. See API.md."}}},
                        {"servers", {{{"url", app.config.PublicUrl()}}}},
                        {"paths", paths},
                        {"components",
                         {{"schemas", {{"Problem", ProblemSchema()}}},
                          {"securitySchemes",
                           {{"sessionCookie",
                             {{"type", "apiKey"}, {"in", "cookie"}, {"name", "gh_session"}}},
                            {"bearerKey", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
                    Response r = JsonResponse(200, doc);
                    r.Header("Cache-Control", "public, max-age=60");
                    return r;
                  }});
}

}  // namespace gh::http
