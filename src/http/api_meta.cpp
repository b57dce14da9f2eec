// Health and metrics.
#include "http/metrics.h"
#include "http/routes.h"

namespace gh::http {

void AddMetaRoutes(App& app) {
  app.router.Add({.method = "GET", .path = "/healthz", .operation_id = "healthz",
                  .summary = "Liveness: 200 while the process runs", .access = Access::kPublic,
                  .body_type = "", .tag = "meta",
                  .handler = [](Request&) { return JsonResponse(200, {{"status", "ok"}}); }});

  app.router.Add({.method = "GET", .path = "/readyz", .operation_id = "readyz",
                  .summary = "Readiness: 200 when the store answers, 503 otherwise",
                  .access = Access::kPublic, .body_type = "", .tag = "meta",
                  .handler = [&app](Request&) {
                    try {
                      app.store.Ping();
                      return JsonResponse(200, {{"status", "ok"}, {"store", app.store.Backend()}});
                    } catch (const std::exception&) {
                      return JsonResponse(503, {{"status", "unavailable"},
                                                {"store", app.store.Backend()}});
                    }
                  }});

  app.router.Add({.method = "GET", .path = "/metrics", .operation_id = "metrics",
                  .summary = "Prometheus metrics", .access = Access::kPublic, .body_type = "",
                  .tag = "meta", .handler = [](Request&) {
                    Response r;
                    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                    r.body = Metrics::Global().Render();
                    return r;
                  }});
}

}  // namespace gh::http
