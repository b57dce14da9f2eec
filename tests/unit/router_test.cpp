#include "http/router.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "http/routes.h"
#include "service/presets.h"
#include "store/store.h"

namespace gh::http {

Route R(std::string method, std::string path, Access access = Access::kPublic,
        std::string permission = "") {
  Route r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.access = access;
  r.permission = std::move(permission);
  r.handler = [](Request&) { return Response{}; };
  return r;
}

TEST(Router, MatchesLiteralsAndParameters) {
  Router router;
  router.Add(R("GET", "/v1/workspaces"));
  router.Add(R("GET", "/v1/workspaces/{ws}"));
  router.Add(R("PATCH", "/v1/workspaces/{ws}"));
  router.Add(R("POST", "/v1/workspaces/{ws}/logo"));
  auto m = router.Find("GET", "/v1/workspaces/ws_123");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->path, "/v1/workspaces/{ws}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "ws");
  EXPECT_EQ(m.params[0].second, "ws_123");
  ASSERT_NE(router.Find("GET", "/v1/workspaces").route, nullptr);
  EXPECT_TRUE(router.Find("GET", "/v1/workspaces").params.empty());
}

TEST(Router, WrongMethodListsAllowedMethods) {
  Router router;
  router.Add(R("GET", "/v1/workspaces/{ws}"));
  router.Add(R("PATCH", "/v1/workspaces/{ws}"));
  auto m = router.Find("PUT", "/v1/workspaces/ws_1");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "GET, HEAD, PATCH");
  EXPECT_EQ(router.Find("HEAD", "/v1/workspaces/ws_1").route->method, "GET");
}

TEST(Router, UnknownPathsAndEmptySegmentsDoNotMatch) {
  Router router;
  router.Add(R("GET", "/v1/workspaces/{ws}"));
  EXPECT_EQ(router.Find("GET", "/v1/workspaces/").route, nullptr);
  EXPECT_EQ(router.Find("GET", "/v1/workspaces/a/b").route, nullptr);
  EXPECT_EQ(router.Find("GET", "relative").route, nullptr);
  EXPECT_TRUE(router.Find("GET", "/nope").allow.empty());
}

TEST(Router, WorkspaceRoutesMustDeclareAPermission) {
  Router router;
  EXPECT_THROW(router.Add(R("GET", "/v1/workspaces/{ws}", Access::kWorkspace)), std::logic_error);
  router.Add(R("GET", "/x"));
  EXPECT_THROW(router.Add(R("GET", "/x")), std::logic_error);
}

// Every route of the real application declares who may call it, and every workspace-scoped
// route names a permission: enumerate the whole table.
TEST(Routes, EveryRouteDeclaresItsAccess) {
  // In memory: a fixed file under the shared temp directory would be migrated by whichever
  // branch's build ran last, and refuse (or half-apply) another branch's schema.
  auto store = OpenStore("sqlite::memory:");
  Config config;
  auto catalogue = LoadCatalogue("four-role");
  ASSERT_TRUE(catalogue.ok()) << catalogue.error().message;
  App app(*store, config, *catalogue, nullptr, "test");
  AddAllRoutes(app);
  ASSERT_GT(app.router.Routes().size(), 15u);
  for (const auto& r : app.router.Routes()) {
    EXPECT_FALSE(r.operation_id.empty()) << r.method << " " << r.path;
    EXPECT_FALSE(r.summary.empty()) << r.method << " " << r.path;
    // The SCIM server's routes authenticate the workspace's directory by its own token.
    bool scim = r.path.rfind("/scim/v2/{ws}/", 0) == 0;
    EXPECT_EQ(scim, r.tag == "scim") << r.method << " " << r.path;
    bool workspace_scoped = r.path.find("{ws}") != std::string::npos && !scim;
    if (workspace_scoped) {
      EXPECT_TRUE(r.access == Access::kWorkspace || r.access == Access::kMember)
          << r.method << " " << r.path;
      EXPECT_EQ(r.permission.empty(), r.access == Access::kMember) << r.method << " " << r.path;
    }
    // Both presets know every permission a route asks for.
    if (!r.permission.empty()) {
      for (const char* preset : {"four-role", "admin-member"}) {
        EXPECT_TRUE(LoadCatalogue(preset)->Knows(r.permission)) << preset << ": " << r.permission;
      }
    }
    if (r.access == Access::kPublic || r.access == Access::kOptionalAuth) {
      EXPECT_TRUE(r.path.rfind("/v1/auth/", 0) == 0 || r.path.rfind("/v1/", 0) != 0 ||
                  r.path == "/v1/permissions" || r.path == "/v1/keys/verify" ||
                  r.path.rfind("/v1/invitations/{token}", 0) == 0 ||
                  // The SSO round trip: a browser on its way to sign in, not signed in yet.
                  r.path.rfind("/v1/sso/", 0) == 0)
          << "unexpected public route " << r.path;
    }
  }
}

}  // namespace gh::http
