// The store conformance suite (see conformance.h). Projects: names unique within a workspace,
// members' roles inside a project, and what deleting a project or a membership takes with it.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "conformance.h"

namespace gh::conformance {
namespace {

// Projects refuse duplicate names the same way, through the same mechanism.
TEST_P(StoreConformance, TransactionStaysUsableAfterARefusedProjectName) {
  Workspace w = AddWorkspace();
  Project taken{NewId("prj"), w.id, "Taken", "production", 60, std::nullopt, kT0, kT0};
  Project before{NewId("prj"), w.id, "Before", "development", std::nullopt, 1000, kT0, kT0};
  Project duplicate{NewId("prj"), w.id, "Taken", "staging", std::nullopt, std::nullopt, kT0, kT0};
  Project after{NewId("prj"), w.id, "After", "staging", std::nullopt, std::nullopt, kT0, kT0};
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertProject(taken).ok()); });
  Project renamed = before;
  renamed.name = "Taken";
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertProject(before).ok());
    Status st = tx->InsertProject(duplicate);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "project_name_taken");
    st = tx->UpdateProject(renamed);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "project_name_taken");
    ASSERT_TRUE(tx->InsertProject(after).ok());
    tx->Commit();
  }
  std::vector<std::string> names;
  for (const auto& p : store().Projects(w.id)) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"After", "Before", "Taken"}));
  EXPECT_FALSE(store().ProjectById(w.id, duplicate.id).has_value());
}

// "project user role" for each project member, in the order listed.
std::vector<std::string> Roles(const std::vector<ProjectMember>& members) {
  std::vector<std::string> out;
  for (const auto& m : members) out.push_back(m.project_id + " " + m.user_id + " " + m.role);
  return out;
}

std::string Role(const Project& p, const User& u, const std::string& role) {
  return p.id + " " + u.id + " " + role;
}

TEST_P(StoreConformance, ProjectsRoundTripAndAreListedByNameWithinTheWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  // Inserted (and created) in an order that is neither by name nor reversed.
  Project zeta = NewProject(w.id, "zeta", kT0 + 1);
  zeta.environment = "staging";
  zeta.rate_limit_per_minute = std::nullopt;
  zeta.rate_limit_per_month = 1'000'000;
  Project alpha = NewProject(w.id, "Alpha \"web\" – Zürich ✓", kT0 + 2);
  Project mid = NewProject(w.id, "mid", kT0);
  mid.environment = "development";
  mid.rate_limit_per_minute = std::nullopt;
  Project abroad = NewProject(other.id, "aaa", kT0);
  InTx([&](WriteTx& tx) {
    for (const Project* p : {&zeta, &alpha, &mid, &abroad}) {
      Status st = tx.InsertProject(*p);
      EXPECT_TRUE(st.ok()) << st.error().code;
    }
  });

  auto listed = store().Projects(w.id);
  ASSERT_EQ(IdsOf(listed), (std::vector<std::string>{alpha.id, mid.id, zeta.id}));
  EXPECT_EQ(Fields(listed[0]), Fields(alpha));
  EXPECT_EQ(Fields(listed[1]), Fields(mid));
  EXPECT_EQ(Fields(listed[2]), Fields(zeta));
  EXPECT_EQ(IdsOf(store().Projects(other.id)), std::vector<std::string>{abroad.id});
  EXPECT_TRUE(store().Projects(NewId("ws")).empty());

  auto got = store().ProjectById(w.id, zeta.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(zeta));
  // Scoped to the workspace: another workspace's project is not found through this one.
  EXPECT_FALSE(store().ProjectById(other.id, zeta.id).has_value());
  EXPECT_FALSE(store().ProjectById(w.id, abroad.id).has_value());
  EXPECT_FALSE(store().ProjectById(w.id, NewId("prj")).has_value());

  // UpdateProject writes the name, environment, limits and updated_at, not created_at.
  Project changed = alpha;
  changed.name = "beta";
  changed.environment = "staging";
  changed.rate_limit_per_minute = std::nullopt;
  changed.rate_limit_per_month = 5000;
  changed.updated_at = kT0 + 90;
  InTx([&](WriteTx& tx) {
    Status st = tx.UpdateProject(changed);
    EXPECT_TRUE(st.ok()) << st.error().code;
  });
  EXPECT_EQ(Fields(*store().ProjectById(w.id, alpha.id)), Fields(changed));
  EXPECT_EQ(IdsOf(store().Projects(w.id)), (std::vector<std::string>{changed.id, mid.id, zeta.id}));

  // Not through another workspace.
  Project hijack = zeta;
  hijack.workspace_id = other.id;
  hijack.name = "hijacked";
  hijack.updated_at = kT0 + 99;
  InTx([&](WriteTx& tx) { (void)tx.UpdateProject(hijack); });
  EXPECT_EQ(Fields(*store().ProjectById(w.id, zeta.id)), Fields(zeta));
  EXPECT_EQ(IdsOf(store().Projects(other.id)), std::vector<std::string>{abroad.id});
}

TEST_P(StoreConformance, PutProjectMemberInsertsAndThenReplacesTheRole) {
  Workspace w = AddWorkspace();
  User u = AddUser();
  User colleague = AddUser();
  AddMember(w.id, u.id, "member");
  AddMember(w.id, colleague.id, "member");
  Project p = AddProject(w.id, "Website");
  Project q = AddProject(w.id, "Mobile");
  EXPECT_TRUE(store().ProjectMembers(w.id).empty());

  ProjectMember m = AddProjectMember(p, u.id, "viewer", kT0 + 20);
  auto got = store().ProjectMembers(w.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Fields(got[0]), Fields(m));

  // Put again: the role is replaced; the member is listed once, as added the first time.
  InTx([&](WriteTx& tx) { tx.PutProjectMember({p.id, w.id, u.id, "role_custom7", kT0 + 90}); });
  ProjectMember replaced = m;
  replaced.role = "role_custom7";
  got = store().ProjectMembers(w.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Fields(got[0]), Fields(replaced));

  // A role in one project is not a role in another, nor another member's.
  ProjectMember in_q = AddProjectMember(q, u.id, "admin", kT0 + 30);
  ProjectMember theirs = AddProjectMember(p, colleague.id, "viewer", kT0 + 40);
  std::map<std::pair<std::string, std::string>, ProjectMember> by_key;
  for (const auto& pm : store().ProjectMembers(w.id)) by_key[{pm.project_id, pm.user_id}] = pm;
  ASSERT_EQ(by_key.size(), 3u);
  EXPECT_EQ(Fields(by_key[{p.id, u.id}]), Fields(replaced));
  EXPECT_EQ(Fields(by_key[{q.id, u.id}]), Fields(in_q));
  EXPECT_EQ(Fields(by_key[{p.id, colleague.id}]), Fields(theirs));
}

// Not in store.h: the order is the store's (project id, then oldest added first). The ids
// share a random stem and differ in their last digit, so that every collation orders them
// alike.
TEST_P(StoreConformance, ProjectMembersListEachProjectsMembersOldestAddedFirst) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User a = AddUser(), b = AddUser(), c = AddUser();
  for (const User* u : {&a, &b, &c}) AddMember(w.id, u->id, "member");
  AddMember(other.id, a.id, "member");
  std::string stem = NewId("prj");
  stem.pop_back();
  Project second = NewProject(w.id, "Second");
  second.id = stem + "2";
  Project first = NewProject(w.id, "First");
  first.id = stem + "1";
  Project abroad = NewProject(other.id, "Abroad");
  abroad.id = stem + "0";
  InTx([&](WriteTx& tx) {
    for (const Project* p : {&second, &first, &abroad}) ASSERT_TRUE(tx.InsertProject(*p).ok());
  });
  // Added out of order.
  AddProjectMember(second, a.id, "viewer", kT0 + 30);
  ProjectMember oldest = AddProjectMember(first, b.id, "admin", kT0 + 20);
  AddProjectMember(second, c.id, "role_x", kT0 + 10);
  AddProjectMember(first, a.id, "viewer", kT0 + 40);
  AddProjectMember(abroad, a.id, "admin", kT0 + 1);

  auto members = store().ProjectMembers(w.id);
  EXPECT_EQ(Roles(members),
            (std::vector<std::string>{Role(first, b, "admin"), Role(first, a, "viewer"),
                                      Role(second, c, "role_x"), Role(second, a, "viewer")}));
  ASSERT_FALSE(members.empty());
  EXPECT_EQ(Fields(members[0]), Fields(oldest));
  EXPECT_EQ(Roles(store().ProjectMembers(other.id)),
            std::vector<std::string>{Role(abroad, a, "admin")});
  EXPECT_TRUE(store().ProjectMembers(NewId("ws")).empty());
}

TEST_P(StoreConformance, DeleteProjectMemberRemovesThatRoleOnly) {
  Workspace w = AddWorkspace();
  User u = AddUser();
  User colleague = AddUser();
  Membership mine = AddMember(w.id, u.id, "member");
  AddMember(w.id, colleague.id, "member");
  Project p = AddProject(w.id, "Website");
  Project q = AddProject(w.id, "Mobile");
  AddProjectMember(p, u.id, "viewer");
  AddProjectMember(q, u.id, "admin");
  AddProjectMember(p, colleague.id, "viewer");

  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.DeleteProjectMember(q.id, colleague.id)) << "no role there";
    EXPECT_FALSE(tx.DeleteProjectMember(NewId("prj"), u.id));
  });
  EXPECT_EQ(store().ProjectMembers(w.id).size(), 3u);

  bool deleted = false;
  InTx([&](WriteTx& tx) { deleted = tx.DeleteProjectMember(p.id, u.id); });
  EXPECT_TRUE(deleted);
  std::multiset<std::string> left;
  for (const auto& r : Roles(store().ProjectMembers(w.id))) left.insert(r);
  EXPECT_EQ(left, (std::multiset<std::string>{Role(q, u, "admin"), Role(p, colleague, "viewer")}));
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.DeleteProjectMember(p.id, u.id)) << "deleted twice"; });

  // The membership stays, and the role can be given again.
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, u.id)), Fields(mine));
  ProjectMember again = AddProjectMember(p, u.id, "admin", kT0 + 99);
  bool found = false;
  for (const auto& pm : store().ProjectMembers(w.id)) {
    if (pm.project_id == p.id && pm.user_id == u.id) {
      found = true;
      EXPECT_EQ(Fields(pm), Fields(again));
    }
  }
  EXPECT_TRUE(found);
}

// project_members references memberships (ON DELETE CASCADE, migration 3).
TEST_P(StoreConformance, DeleteMembershipDropsTheMembersProjectRolesInThatWorkspaceOnly) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User u = AddUser();
  User colleague = AddUser();
  AddMember(w.id, u.id, "member");
  AddMember(w.id, colleague.id, "member");
  AddMember(other.id, u.id, "member");
  Project p = AddProject(w.id, "Website");
  Project q = AddProject(w.id, "Mobile");
  Project abroad = AddProject(other.id, "Website");
  AddProjectMember(p, u.id, "viewer");
  AddProjectMember(q, u.id, "admin");
  ProjectMember theirs = AddProjectMember(p, colleague.id, "viewer");
  ProjectMember elsewhere = AddProjectMember(abroad, u.id, "admin");

  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.DeleteMembership(w.id, u.id)); });
  auto left = store().ProjectMembers(w.id);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(Fields(left[0]), Fields(theirs));
  auto abroad_members = store().ProjectMembers(other.id);
  ASSERT_EQ(abroad_members.size(), 1u);
  EXPECT_EQ(Fields(abroad_members[0]), Fields(elsewhere));
  EXPECT_EQ(IdsOf(store().Projects(w.id)), (std::vector<std::string>{q.id, p.id}));

  // Joining again does not bring the old project roles back.
  AddMember(w.id, u.id, "member", kT0 + 50);
  EXPECT_EQ(Roles(store().ProjectMembers(w.id)),
            std::vector<std::string>{Role(p, colleague, "viewer")});
}

// A project role needs the project and a membership in its workspace (foreign keys): giving
// one to anyone else is a failure of the statement, not an expected outcome.
TEST_P(StoreConformance, ProjectRoleOfANonMemberOrAMissingProjectIsRefused) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User member = AddUser();
  User outsider = AddUser();
  AddMember(w.id, member.id, "member");
  AddMember(other.id, outsider.id, "owner");
  Project p = AddProject(w.id, "Website");
  {
    auto tx = store().Begin();
    EXPECT_THROW(tx->PutProjectMember({p.id, w.id, outsider.id, "viewer", kT0}), StoreError);
  }
  {
    auto tx = store().Begin();
    EXPECT_THROW(tx->PutProjectMember({NewId("prj"), w.id, member.id, "viewer", kT0}), StoreError);
  }
  EXPECT_TRUE(store().ProjectMembers(w.id).empty());
  EXPECT_TRUE(store().ProjectMembers(other.id).empty());
  // The store takes project roles afterwards.
  ProjectMember ok = AddProjectMember(p, member.id, "viewer");
  ASSERT_EQ(store().ProjectMembers(w.id).size(), 1u);
  EXPECT_EQ(Fields(store().ProjectMembers(w.id)[0]), Fields(ok));
}

// Project roles go with their project (ON DELETE CASCADE); keys stay, no longer scoped to it
// (api_keys.project_id ON DELETE SET NULL, migration 3), which is why Projects::Delete refuses
// while the project has live keys.
TEST_P(StoreConformance, DeleteProjectRemovesItsRolesAndLeavesItsKeysWorkspaceWide) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User owner = AddUser();
  User u = AddUser();
  AddMember(w.id, owner.id, "owner");
  Membership membership = AddMember(w.id, u.id, "member");
  Project doomed = AddProject(w.id, "Doomed");
  Project kept = AddProject(w.id, "Kept");
  Project abroad = AddProject(other.id, "Doomed");
  AddProjectMember(doomed, u.id, "admin");
  ProjectMember kept_role = AddProjectMember(kept, u.id, "viewer");
  ApiKey revoked = NewKey(w.id, owner.id, kT0 + 1);
  revoked.project_id = doomed.id;
  revoked.revoked_at = kT0 + 50;
  ApiKey live = NewKey(w.id, owner.id, kT0 + 2);
  live.project_id = doomed.id;
  ApiKey elsewhere = NewKey(w.id, owner.id, kT0 + 3);
  elsewhere.project_id = kept.id;
  for (const ApiKey* k : {&revoked, &live, &elsewhere}) AddKey(*k);

  // Only through its own workspace.
  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.DeleteProject(other.id, doomed.id)) << "deleted through another workspace";
    EXPECT_FALSE(tx.DeleteProject(w.id, NewId("prj")));
  });
  EXPECT_TRUE(store().ProjectById(w.id, doomed.id).has_value());

  bool deleted = false;
  InTx([&](WriteTx& tx) { deleted = tx.DeleteProject(w.id, doomed.id); });
  EXPECT_TRUE(deleted);
  EXPECT_FALSE(store().ProjectById(w.id, doomed.id).has_value());
  EXPECT_EQ(IdsOf(store().Projects(w.id)), std::vector<std::string>{kept.id});
  EXPECT_EQ(Fields(*store().ProjectById(other.id, abroad.id)), Fields(abroad));
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.DeleteProject(w.id, doomed.id)) << "deleted twice"; });

  // Its roles went with it; the member's membership and other roles stay.
  auto roles = store().ProjectMembers(w.id);
  ASSERT_EQ(roles.size(), 1u);
  EXPECT_EQ(Fields(roles[0]), Fields(kept_role));
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, u.id)), Fields(membership));

  // Its keys stay, revoked or not, as workspace-wide keys. (updated_at is left as it was.)
  for (ApiKey k : {revoked, live}) {
    SCOPED_TRACE(k.revoked_at ? "revoked key" : "live key");
    auto got = store().ApiKeyById(w.id, k.id);
    ASSERT_TRUE(got.has_value());
    k.project_id = "";
    k.updated_at = got->updated_at;
    EXPECT_EQ(Fields(*got), Fields(k));
  }
  EXPECT_EQ(Fields(*store().ApiKeyById(w.id, elsewhere.id)), Fields(elsewhere));
  EXPECT_EQ(store().ApiKeys(w.id).size(), 3u);

  // Its name is free again.
  Project reborn = AddProject(w.id, "Doomed");
  EXPECT_EQ(store().Projects(w.id).size(), 2u);
  EXPECT_TRUE(store().ProjectById(w.id, reborn.id).has_value());
}

TEST_P(StoreConformance, DeleteWorkspaceRemovesItsProjectsAndProjectRoles) {
  Workspace doomed = AddWorkspace();
  Workspace kept = AddWorkspace();
  User u = AddUser();
  AddMember(doomed.id, u.id, "member");
  AddMember(kept.id, u.id, "member");
  Project p = AddProject(doomed.id, "Website");
  Project q = AddProject(kept.id, "Website");
  AddProjectMember(p, u.id, "admin");
  ProjectMember kept_role = AddProjectMember(q, u.id, "viewer");

  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(doomed.id, 1700000000); });
  EXPECT_TRUE(store().Projects(doomed.id).empty());
  EXPECT_FALSE(store().ProjectById(doomed.id, p.id).has_value());
  EXPECT_TRUE(store().ProjectMembers(doomed.id).empty());
  EXPECT_EQ(IdsOf(store().Projects(kept.id)), std::vector<std::string>{q.id});
  auto roles = store().ProjectMembers(kept.id);
  ASSERT_EQ(roles.size(), 1u);
  EXPECT_EQ(Fields(roles[0]), Fields(kept_role));

  // The id is free again: a new workspace's project can take it.
  Workspace fresh = AddWorkspace();
  Project same_id = NewProject(fresh.id, "Website");
  same_id.id = p.id;
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.InsertProject(same_id).ok()); });
  EXPECT_EQ(Fields(*store().ProjectById(fresh.id, p.id)), Fields(same_id));
}

}  // namespace
}  // namespace gh::conformance
