// The two presets, line by line against the spec documents in ../shared/spec/.
#include "service/presets.h"

#include <gtest/gtest.h>

#include <set>

namespace gh {
namespace {

class Preset {
 public:
  explicit Preset(const std::string& name) {
    auto c = LoadCatalogue(name);
    if (!c.ok()) throw std::runtime_error(c.error().message);
    catalogue_ = std::move(*c);
  }
  // Whether built-in `role` holds `permission` (a catalogue or a Gatehouse permission).
  bool Has(const std::string& role, const std::string& permission) const {
    const Catalogue::Role* r = catalogue_.FindRole(role);
    if (!r) throw std::runtime_error("no role " + role);
    if (!catalogue_.Knows(permission)) throw std::runtime_error("unknown " + permission);
    return Can(r->permissions, catalogue_.Resolve(permission));
  }
  const Catalogue& catalogue() const { return catalogue_; }

 private:
  Catalogue catalogue_;
};

// --- First document: Owner, Admin, Developer, Viewer --------------------------------------

TEST(FourRolePreset, OwnerHasEverything) {
  Preset p("four-role");
  for (const auto& cat : p.catalogue().categories) {
    for (const auto& perm : cat.permissions) EXPECT_TRUE(p.Has("owner", perm.id)) << perm.id;
  }
  EXPECT_TRUE(p.Has("owner", "workspace.transfer_ownership"));  // ✅ Transfer ownership
  EXPECT_TRUE(p.Has("owner", "workspace.delete"));              // ✅ Delete account
  EXPECT_TRUE(p.Has("owner", "billing.view"));                  // ✅ Access billing and invoices
  EXPECT_TRUE(p.Has("owner", "invoices.view"));
  EXPECT_TRUE(p.Has("owner", "billing.manage_payment"));
  EXPECT_TRUE(p.Has("owner", "members.manage_roles"));          // ✅ Manage team members
  EXPECT_TRUE(p.Has("owner", "sso.configure"));                 // ✅ Configure SSO
  EXPECT_EQ(p.catalogue().owner_role, "owner");                 // only one owner per account
  EXPECT_FALSE(p.catalogue().Invitable("owner"));
}

TEST(FourRolePreset, AdminManagesTeamAndSettings) {
  Preset p("four-role");
  EXPECT_TRUE(p.Has("admin", "members.invite"));          // ✅ Invite/remove team members
  EXPECT_TRUE(p.Has("admin", "members.remove"));
  EXPECT_TRUE(p.Has("admin", "api_keys.create"));         // ✅ Create/revoke API keys
  EXPECT_TRUE(p.Has("admin", "api_keys.revoke_all"));
  EXPECT_TRUE(p.Has("admin", "routing_rules.edit"));      // ✅ Configure routing rules
  EXPECT_TRUE(p.Has("admin", "analytics.view"));          // ✅ View all analytics and logs
  EXPECT_TRUE(p.Has("admin", "logs.view"));
  EXPECT_TRUE(p.Has("admin", "logs.view_pii"));
  EXPECT_TRUE(p.Has("admin", "workspace.edit"));          // ✅ Edit account settings
  EXPECT_TRUE(p.Has("admin", "billing.view"));            // ✅ View billing
  EXPECT_FALSE(p.Has("admin", "workspace.transfer_ownership"));  // ❌ Transfer ownership
  EXPECT_FALSE(p.Has("admin", "workspace.delete"));              // ❌ Delete account
  EXPECT_FALSE(p.Has("admin", "billing.manage_payment"));        // ❌ Update payment methods
}

TEST(FourRolePreset, DeveloperBuildsAndMonitorsIntegrations) {
  Preset p("four-role");
  EXPECT_TRUE(p.Has("developer", "api_keys.create"));     // ✅ Create API keys
  EXPECT_TRUE(p.Has("developer", "api_keys.view_own"));   // ✅ View API keys they created
  EXPECT_FALSE(p.Has("developer", "api_keys.view_all"));
  EXPECT_TRUE(p.Has("developer", "analytics.view"));      // ✅ View analytics and logs
  EXPECT_TRUE(p.Has("developer", "logs.view"));
  EXPECT_TRUE(p.Has("developer", "routing_rules.view"));  // ✅ View routing rules
  EXPECT_TRUE(p.Has("developer", "data.export"));         // ✅ Export data
  EXPECT_FALSE(p.Has("developer", "members.invite"));       // ❌ Invite team members
  EXPECT_FALSE(p.Has("developer", "api_keys.revoke_all"));  // ❌ Revoke others' API keys
  EXPECT_TRUE(p.Has("developer", "api_keys.revoke_own"));
  EXPECT_FALSE(p.Has("developer", "routing_rules.edit"));   // ❌ Edit routing rules
  EXPECT_FALSE(p.Has("developer", "billing.view"));         // ❌ View billing
  EXPECT_FALSE(p.Has("developer", "workspace.edit"));       // ❌ Edit account settings
}

TEST(FourRolePreset, ViewerIsReadOnly) {
  Preset p("four-role");
  EXPECT_TRUE(p.Has("viewer", "workspace.view"));     // ✅ View dashboard and analytics
  EXPECT_TRUE(p.Has("viewer", "analytics.view"));
  EXPECT_TRUE(p.Has("viewer", "logs.view"));          // ✅ View logs (with PII redaction)
  EXPECT_FALSE(p.Has("viewer", "logs.view_pii"));
  EXPECT_TRUE(p.Has("viewer", "reports.export"));     // ✅ Export reports
  EXPECT_FALSE(p.Has("viewer", "api_keys.create"));   // ❌ Create API keys
  EXPECT_FALSE(p.Has("viewer", "api_keys.view_own"));  // ❌ View full API keys
  EXPECT_FALSE(p.Has("viewer", "api_keys.view_all"));
  for (const char* edit : {"workspace.edit", "routing_rules.edit", "members.manage_roles",
                           "roles.manage", "sso.configure", "ip_allowlist.manage",
                           "projects.manage"}) {
    EXPECT_FALSE(p.Has("viewer", edit)) << edit;  // ❌ Edit any settings
  }
  EXPECT_FALSE(p.Has("viewer", "billing.view"));  // ❌ View billing details
  EXPECT_FALSE(p.Has("viewer", "invoices.view"));
}

TEST(FourRolePreset, CustomRoleExamplesAreExpressible) {
  Preset p("four-role");
  // Role "Finance Team": ✅ View cost analytics, View billing, Export cost reports;
  // ❌ View logs, View technical details, Create API keys.
  auto finance = p.catalogue().SetOf({"analytics.view_costs", "billing.view", "reports.export_costs"});
  ASSERT_TRUE(finance.ok());
  const auto& c = p.catalogue();
  EXPECT_TRUE(Can(*finance, c.Resolve("analytics.view_costs")));
  EXPECT_FALSE(Can(*finance, c.Resolve("logs.view")));
  EXPECT_FALSE(Can(*finance, c.Resolve("technical_details.view")));
  EXPECT_FALSE(Can(*finance, c.Resolve("api_keys.create")));
  // Custom Permission "Data Scientist".
  auto scientist = c.SetOf({"analytics.view", "data.export", "reports.create", "embeddings.access"});
  ASSERT_TRUE(scientist.ok());
  EXPECT_FALSE(Can(*scientist, c.Resolve("billing.view")));
  EXPECT_FALSE(c.SetOf({"analytics.view", "no.such"}).ok());
}

// --- Second document: Admin and Member -----------------------------------------------------

TEST(AdminMemberPreset, TablesAsWritten) {
  Preset p("admin-member");
  const auto& c = p.catalogue();
  // Ten categories listing 38 permissions (the prose says 31).
  ASSERT_EQ(c.categories.size(), 10u);
  std::vector<size_t> sizes;
  for (const auto& cat : c.categories) sizes.push_back(cat.permissions.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 4, 4, 5, 4, 3, 4, 6, 3, 2}));
  EXPECT_EQ(c.size(), 38u);
  EXPECT_EQ(c.categories[0].name, "Workspace Management");
  EXPECT_EQ(c.categories[9].name, "Advanced Features");
}

TEST(AdminMemberPreset, AdminHasAllThirtyEight) {
  Preset p("admin-member");
  for (const auto& cat : p.catalogue().categories) {
    for (const auto& perm : cat.permissions) EXPECT_TRUE(p.Has("admin", perm.id)) << perm.id;
  }
  EXPECT_EQ(p.catalogue().creator_role, "admin");
}

TEST(AdminMemberPreset, MemberHasTheReadOrientedPermissions) {
  Preset p("admin-member");
  std::set<std::string> expected = {
      "workspace.view",                       // View Workspace (read-only)
      "members.view",                         // View Team (cannot see pending invitations)
      "billing.view",    "invoices.view",     // View Billing, View Invoices (read-only)
      "destinations.view", "destinations.test",  // View Destinations, Test Destinations
      "sources.view",                         // View Sources (read-only)
      "events.view",     "events.export",     // View Events, Export Events
  };
  for (const auto& cat : p.catalogue().categories) {
    for (const auto& perm : cat.permissions) {
      EXPECT_EQ(p.Has("member", perm.id), expected.count(perm.id) == 1) << perm.id;
    }
  }
  EXPECT_FALSE(p.Has("member", "invitations.view"));  // cannot see pending invitations
  EXPECT_FALSE(p.Has("member", "api_keys.view_all"));  // cannot access the API key section
  EXPECT_FALSE(p.Has("member", "workspace.edit"));     // settings read-only
}

TEST(AdminMemberPreset, InvitationsAlwaysJoinAsMember) {
  Preset p("admin-member");
  EXPECT_EQ(p.catalogue().default_invite_role, "member");
  EXPECT_TRUE(p.catalogue().Invitable("member"));
  EXPECT_FALSE(p.catalogue().Invitable("admin"));
  EXPECT_FALSE(p.Has("admin", "workspace.transfer_ownership"));  // no Owner in this model
}

TEST(Presets, PublishableEndpointsAreDeclared) {
  EXPECT_EQ(Preset("admin-member").catalogue().publishable_endpoints,
            (std::vector<std::string>{"/track", "/v1/batch", "/v1/identify"}));
  EXPECT_FALSE(Preset("four-role").catalogue().publishable_endpoints.empty());
}

// --- Loading -------------------------------------------------------------------------------

TEST(Presets, BrokenCataloguesAreRefusedNamingTheLine) {
  auto unknown = ParseCatalogue(R"(id = "x"
creator_role = "a"
default_invite_role = "a"
[[categories]]
id = "c"
permissions = [{ id = "workspace.view" }]
[[roles]]
id = "a"
permissions = ["workspace.view", "workspace.fly"]
)", "test.toml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("test.toml:9:"), std::string::npos)
      << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("workspace.fly"), std::string::npos);

  auto syntax = ParseCatalogue("id = \"x\"\n[[roles]\n", "bad.toml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().message.find("bad.toml:2"), std::string::npos)
      << syntax.error().message;

  // A catalogue must say who holds each of Gatehouse's own permissions.
  auto unmapped = ParseCatalogue(R"(id = "x"
creator_role = "a"
default_invite_role = "a"
[[categories]]
id = "c"
permissions = [{ id = "workspace.view" }]
[[roles]]
id = "a"
permissions = ["*"]
)", "partial.toml");
  ASSERT_FALSE(unmapped.ok());
  EXPECT_NE(unmapped.error().message.find("neither defines nor maps"), std::string::npos);
  EXPECT_FALSE(LoadCatalogue("no-such-preset").ok());
}

}  // namespace
}  // namespace gh
