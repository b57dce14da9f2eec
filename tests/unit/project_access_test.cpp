// Per-project permissions in the authorisation engine: a project role overrides the workspace
// role inside that project (both ways), the owner is never narrowed, visibility follows
// `projects.view_all` or an assignment, and the cached project book is exact after
// ForgetProjects and at most its TTL stale otherwise. Runs on a temporary SQLite store.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/ids.h"
#include "service/access.h"
#include "service/identity_cache.h"
#include "service/presets.h"
#include "store/store.h"

namespace gh {
namespace {

constexpr UnixTime kT0 = 1'750'000'000;

class FakeClock final : public Clock {
 public:
  UnixTime Now() const override { return now; }
  UnixTime now = kT0;
};

class ProjectAccess : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / NewId("gh-unit");
    std::filesystem::create_directories(dir_);
    store_ = OpenStore("sqlite:" + (dir_ / "g.db").string());
    auto c = LoadCatalogue("four-role");
    ASSERT_TRUE(c.ok()) << c.error().message;
    catalogue_ = std::move(*c);
    access_ = std::make_unique<Access>(*store_, catalogue_, cache_, clock_);

    {
      auto tx = store_->Begin();  // holds the writer until destroyed
      tx->InsertWorkspace({ws_, "Acme", "eu", "UTC", "en", "free"});
      tx->Commit();
    }
    owner_ = Join("owner");
    admin_ = Join("admin");
    dev_ = Join("developer");
    viewer_ = Join("viewer");
    staging_ = AddProject("Staging");
    prod_ = AddProject("Production");
  }

  void TearDown() override {
    access_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Membership Join(const std::string& role) {
    User u;
    u.id = NewId("usr");
    u.email = u.id + "@example.com";
    u.name = role;
    u.password_hash = "x";
    Membership m{NewId("mem"), ws_, u.id, role, kT0};
    auto tx = store_->Begin();
    EXPECT_TRUE(tx->InsertUser(u).ok());
    tx->InsertMembership(m);
    tx->Commit();
    return m;
  }

  std::string AddProject(const std::string& name) {
    Project p;
    p.id = NewId("prj");
    p.workspace_id = ws_;
    p.name = name;
    auto tx = store_->Begin();
    EXPECT_TRUE(tx->InsertProject(p).ok());
    tx->Commit();
    return p.id;
  }

  // Writes the row as another process would: without telling Access.
  void PutRole(const Membership& m, const std::string& project, const std::string& role) {
    auto tx = store_->Begin();
    tx->PutProjectMember({project, ws_, m.user_id, role, kT0});
    tx->Commit();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  Catalogue catalogue_;
  IdentityCache cache_;
  FakeClock clock_;
  std::unique_ptr<Access> access_;
  std::string ws_ = NewId("ws");
  Membership owner_, admin_, dev_, viewer_;
  std::string staging_, prod_;
};

TEST_F(ProjectAccess, ProjectRoleGrantsMoreInThatProjectOnly) {
  PutRole(dev_, staging_, "admin");
  PutRole(dev_, prod_, "developer");
  access_->ForgetProjects(ws_);
  EXPECT_EQ(access_->RoleIn(dev_, staging_), "admin");
  EXPECT_TRUE(access_->CanIn(dev_, staging_, "routing_rules.edit"));
  EXPECT_TRUE(access_->CanIn(dev_, staging_, "projects.manage"));
  EXPECT_FALSE(access_->CanIn(dev_, prod_, "routing_rules.edit"));
  EXPECT_TRUE(access_->CanIn(dev_, prod_, "routing_rules.view"));
  // The workspace-wide decision is unchanged.
  EXPECT_FALSE(access_->Can(dev_, "routing_rules.edit"));
}

TEST_F(ProjectAccess, ProjectRoleNarrowsTooButNeverTheOwner) {
  PutRole(admin_, prod_, "viewer");
  PutRole(owner_, prod_, "viewer");  // not possible through the API; harmless if present
  access_->ForgetProjects(ws_);
  EXPECT_FALSE(access_->CanIn(admin_, prod_, "projects.manage"));
  EXPECT_TRUE(access_->CanIn(admin_, staging_, "projects.manage"));
  EXPECT_EQ(access_->RoleIn(owner_, prod_), "owner");
  EXPECT_TRUE(access_->CanIn(owner_, prod_, "workspace.delete"));
}

TEST_F(ProjectAccess, WithoutAProjectRoleTheWorkspaceRoleApplies) {
  EXPECT_EQ(access_->RoleIn(viewer_, prod_), "viewer");
  EXPECT_EQ(access_->PermissionsIn(admin_, prod_), access_->PermissionsOf(ws_, "admin"));
}

TEST_F(ProjectAccess, VisibilityFollowsViewAllOrAnAssignment) {
  PutRole(dev_, staging_, "developer");
  access_->ForgetProjects(ws_);
  // By project name: Production before Staging.
  EXPECT_EQ(access_->VisibleProjects(owner_), (std::vector<std::string>{prod_, staging_}));
  EXPECT_EQ(access_->VisibleProjects(admin_), (std::vector<std::string>{prod_, staging_}));
  EXPECT_EQ(access_->VisibleProjects(dev_), std::vector<std::string>{staging_});
  EXPECT_TRUE(access_->VisibleProjects(viewer_).empty());
  EXPECT_TRUE(access_->CanSeeProject(dev_, staging_));
  EXPECT_FALSE(access_->CanSeeProject(dev_, prod_));
  EXPECT_FALSE(access_->CanSeeProject(viewer_, prod_));
  EXPECT_TRUE(access_->CanSeeProject(admin_, prod_));
  EXPECT_FALSE(access_->CanSeeProject(admin_, "prj_" + std::string(22, '0')));
}

TEST_F(ProjectAccess, AssignmentsComeInProjectNameOrder) {
  PutRole(dev_, staging_, "viewer");
  PutRole(dev_, prod_, "admin");
  access_->ForgetProjects(ws_);
  auto book = access_->ProjectsOf(ws_);
  const auto& list = book->AssignmentsOf(dev_.user_id);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].project_id, prod_);
  EXPECT_EQ(list[0].role, "admin");
  EXPECT_EQ(list[1].project_id, staging_);
  EXPECT_TRUE(book->AssignmentsOf(viewer_.user_id).empty());
  EXPECT_EQ(book->Find(prod_)->name, "Production");
}

TEST_F(ProjectAccess, CachedBookIsExactAfterForgetAndAtMostTwoSecondsStaleOtherwise) {
  EXPECT_FALSE(access_->CanSeeProject(viewer_, prod_));  // loads the book
  PutRole(viewer_, prod_, "viewer");  // as another process would
  EXPECT_FALSE(access_->CanSeeProject(viewer_, prod_));
  clock_.now += 1;
  EXPECT_FALSE(access_->CanSeeProject(viewer_, prod_));
  clock_.now += 1;
  EXPECT_TRUE(access_->CanSeeProject(viewer_, prod_));

  PutRole(viewer_, prod_, "admin");
  EXPECT_FALSE(access_->CanIn(viewer_, prod_, "projects.manage"));
  access_->ForgetProjects(ws_);  // what every change made through this process does
  EXPECT_TRUE(access_->CanIn(viewer_, prod_, "projects.manage"));
}

TEST_F(ProjectAccess, UnknownProjectRoleGrantsNothing) {
  PutRole(admin_, prod_, "role_" + std::string(22, 'x'));
  access_->ForgetProjects(ws_);
  EXPECT_TRUE(access_->PermissionsIn(admin_, prod_).none());
  EXPECT_TRUE(access_->CanSeeProject(admin_, prod_));
}

}  // namespace
}  // namespace gh
