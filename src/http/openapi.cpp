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

// The workspace IP allowlist, as GET answers it and PUT takes it (PUT: label optional,
// updated_at ignored).
Json IpAllowlistSchema() {
  Json entry = {{"type", "object"},
                {"required", Json::array({"cidr"})},
                {"additionalProperties", false},
                {"properties",
                 {{"cidr",
                   {{"type", "string"},
                    {"description",
                     "IPv4 or IPv6 address or CIDR range, host bits zero; a bare address is "
                     "a /32 or /128. Answered in canonical form."},
                    {"examples", Json::array({"203.0.113.0/24", "2001:db8::/32"})}}},
                  {"label",
                   {{"type", "string"},
                    {"maxLength", 64},
                    {"examples", Json::array({"Office"})}}}}}};
  return {{"type", "object"},
          {"required", Json::array({"enabled", "entries"})},
          {"properties",
           {{"enabled",
             {{"type", "boolean"},
              {"description",
               "Block all other IPs: sessions and API keys of the workspace are refused (403 "
               "ip_not_allowed, verify IP_NOT_ALLOWED) from addresses outside the entries."}}},
            {"entries", {{"type", "array"}, {"maxItems", 100}, {"items", entry}}},
            {"updated_at",
             {{"type", Json::array({"string", "null"})},
              {"format", "date-time"},
              {"readOnly", true}}}}}};
}

// Operations whose bodies have a schema of their own: operation id -> components schema.
const char* SchemaOf(const std::string& operation_id) {
  if (operation_id == "getIpAllowlist" || operation_id == "putIpAllowlist") return "IpAllowlist";
  return nullptr;
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
  if (const char* schema = SchemaOf(r.operation_id)) {
    Json ref = {{"$ref", std::string("#/components/schemas/") + schema}};
    op["responses"]["2XX"]["content"] = {{"application/json", {{"schema", ref}}}};
    if (op.contains("requestBody")) {
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", ref}}}}}};
    }
  }
  if (r.path.rfind("/scim/", 0) == 0) {
    // The SCIM server authenticates the workspace's directory by its own bearer token.
    op["security"] = Json::array({{{"scimToken", Json::array()}}});
  } else if (r.access == Access::kPublic) {
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
                         {{"schemas",
                           {{"Problem", ProblemSchema()}, {"IpAllowlist", IpAllowlistSchema()}}},
                          {"securitySchemes",
                           {{"sessionCookie",
                             {{"type", "apiKey"}, {"in", "cookie"}, {"name", "gh_session"}}},
                            {"bearerKey", {{"type", "http"}, {"scheme", "bearer"}}},
                            {"scimToken",
                             {{"type", "http"},
                              {"scheme", "bearer"},
                              {"description", "A workspace's SCIM token (scim_…)"}}}}}}}};
                    Response r = JsonResponse(200, doc);
                    r.Header("Cache-Control", "public, max-age=60");
                    return r;
                  }});
}

}  // namespace gh::http
