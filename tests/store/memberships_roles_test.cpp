// The store conformance suite (see conformance.h). Memberships and roles: who belongs to a
// workspace with which role, the member list, and custom roles with their permissions.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "conformance.h"

namespace gh::conformance {
namespace {

// ---------------------------------------------------------------------------------------------
// Memberships and members

TEST_P(StoreConformance, MembershipsAreCountedAndFoundPerWorkspace) {
  Workspace w = AddWorkspace();
  Workspace empty = AddWorkspace();
  User owner = AddUser();
  User member = AddUser();
  User outsider = AddUser();
  Membership mo = AddMember(w.id, owner.id, "owner", kT0 + 1);
  Membership mm = AddMember(w.id, member.id, "role_custom123", kT0 + 2);

  EXPECT_EQ(store().MemberCount(w.id), 2);
  EXPECT_EQ(store().MemberCount(empty.id), 0);
  EXPECT_EQ(store().MemberCount(NewId("ws")), 0);

  auto got = store().MembershipOf(w.id, owner.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(mo));
  got = store().MembershipOf(w.id, member.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(mm));
  EXPECT_FALSE(store().MembershipOf(w.id, outsider.id).has_value());
  EXPECT_FALSE(store().MembershipOf(empty.id, owner.id).has_value());
}

TEST_P(StoreConformance, WorkspacesOfUserListsEachWorkspaceWithTheUsersMembership) {
  User u = AddUser();
  User other = AddUser();
  Workspace first = AddWorkspace(kT0 + 10);
  Workspace second = AddWorkspace(kT0 + 20);
  Workspace not_mine = AddWorkspace(kT0 + 30);
  Membership m1 = AddMember(first.id, u.id, "owner", kT0 + 11);
  Membership m2 = AddMember(second.id, u.id, "viewer", kT0 + 21);
  AddMember(second.id, other.id, "owner", kT0 + 22);
  AddMember(not_mine.id, other.id, "owner", kT0 + 31);

  auto list = store().WorkspacesOfUser(u.id);
  ASSERT_EQ(list.size(), 2u);
  std::map<std::string, WorkspaceWithRole> by_id;
  for (const auto& wr : list) by_id[wr.workspace.id] = wr;
  ASSERT_EQ(by_id.count(first.id), 1u);
  ASSERT_EQ(by_id.count(second.id), 1u);
  EXPECT_EQ(Fields(by_id[first.id].workspace), Fields(first));
  EXPECT_EQ(Fields(by_id[first.id].membership), Fields(m1));
  EXPECT_EQ(Fields(by_id[second.id].workspace), Fields(second));
  EXPECT_EQ(Fields(by_id[second.id].membership), Fields(m2));

  EXPECT_TRUE(store().WorkspacesOfUser(NewId("usr")).empty());
}

TEST_P(StoreConformance, MembersListsOldestJoinedFirstWithTheirUserFields) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User late = AddUser();
  User early = AddUser();
  User middle = AddUser();
  User elsewhere = AddUser();
  InTx([&](WriteTx& tx) { tx.SetUserLastLogin(middle.id, kT0 + 99); });
  middle.last_login_at = kT0 + 99;
  // Inserted out of joining order, so that insertion order cannot pass for it.
  Membership ml = AddMember(w.id, late.id, "viewer", kT0 + 30);
  Membership me = AddMember(w.id, early.id, "owner", kT0 + 10);
  Membership mm = AddMember(w.id, middle.id, "role_custom9", kT0 + 20);
  AddMember(other.id, elsewhere.id, "owner", kT0 + 1);
  AddMember(other.id, late.id, "admin", kT0 + 2);

  auto members = store().Members(w.id);
  ASSERT_EQ(Ids(members), (std::vector<std::string>{early.id, middle.id, late.id}));
  EXPECT_EQ(Fields(members[0]), Fields(Member{me, early}));
  EXPECT_EQ(Fields(members[1]), Fields(Member{mm, middle}));
  EXPECT_EQ(Fields(members[2]), Fields(Member{ml, late}));

  EXPECT_EQ(Ids(store().Members(other.id)), (std::vector<std::string>{elsewhere.id, late.id}));
  EXPECT_TRUE(store().Members(AddWorkspace().id).empty());
  EXPECT_TRUE(store().Members(NewId("ws")).empty());
}

TEST_P(StoreConformance, MemberOfFindsTheMemberOfThatWorkspaceOnly) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User u = AddUser();
  User outsider = AddUser();
  Membership m = AddMember(w.id, u.id, "admin", kT0 + 7);
  AddMember(other.id, outsider.id, "owner");

  auto got = store().MemberOf(w.id, u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(Member{m, u}));
  EXPECT_FALSE(store().MemberOf(other.id, u.id).has_value());
  EXPECT_FALSE(store().MemberOf(w.id, outsider.id).has_value());
  EXPECT_FALSE(store().MemberOf(w.id, NewId("usr")).has_value());
  EXPECT_FALSE(store().MemberOf(NewId("ws"), u.id).has_value());
}

TEST_P(StoreConformance, UpdateMemberRoleChangesThatMembershipOnly) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User u = AddUser();
  User colleague = AddUser();
  User outsider = AddUser();
  Membership mine = AddMember(w.id, u.id, "member", kT0 + 3);
  Membership mine_elsewhere = AddMember(other.id, u.id, "member", kT0 + 4);
  Membership theirs = AddMember(w.id, colleague.id, "member", kT0 + 5);

  bool updated = false;
  InTx([&](WriteTx& tx) { updated = tx.UpdateMemberRole(w.id, u.id, "role_abc123"); });
  EXPECT_TRUE(updated);
  Membership expected = mine;
  expected.role = "role_abc123";
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, u.id)), Fields(expected));
  EXPECT_EQ(Fields(store().MemberOf(w.id, u.id)->membership), Fields(expected));
  EXPECT_EQ(Fields(*store().MembershipOf(other.id, u.id)), Fields(mine_elsewhere));
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, colleague.id)), Fields(theirs));

  // Not a member: nothing to update, and no membership appears.
  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.UpdateMemberRole(w.id, outsider.id, "admin"));
    EXPECT_FALSE(tx.UpdateMemberRole(NewId("ws"), u.id, "admin"));
  });
  EXPECT_FALSE(store().MembershipOf(w.id, outsider.id).has_value());
  EXPECT_EQ(store().MemberCount(w.id), 2);
}

TEST_P(StoreConformance, CountMembersWithRoleCountsWithinTheWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User a = AddUser(), b = AddUser(), c = AddUser(), d = AddUser();
  AddMember(w.id, a.id, "owner");
  AddMember(w.id, b.id, "admin");
  AddMember(w.id, c.id, "admin");
  AddMember(w.id, d.id, "role_x1");
  AddMember(other.id, a.id, "admin");
  AddMember(other.id, b.id, "owner");

  EXPECT_EQ(store().CountMembersWithRole(w.id, "owner"), 1);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "admin"), 2);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "role_x1"), 1);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "viewer"), 0);
  // Only members who can act count as active: not suspended, not deactivated.
  EXPECT_EQ(store().CountActiveMembersWithRole(w.id, "admin"), 2);
  InTx([&](WriteTx& tx) { tx.SetMembershipSuspension(w.id, b.id, kT0 + 1, ""); });
  EXPECT_EQ(store().CountActiveMembersWithRole(w.id, "admin"), 1);
  InTx([&](WriteTx& tx) { tx.SetMembershipState(w.id, c.id, kT0 + 2, true); });
  EXPECT_EQ(store().CountActiveMembersWithRole(w.id, "admin"), 0);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "admin"), 2);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "Admin"), 0);
  EXPECT_EQ(store().CountMembersWithRole(other.id, "admin"), 1);
  EXPECT_EQ(store().CountMembersWithRole(other.id, "owner"), 1);
  EXPECT_EQ(store().CountMembersWithRole(NewId("ws"), "owner"), 0);

  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.UpdateMemberRole(w.id, b.id, "owner"));
    EXPECT_TRUE(tx.DeleteMembership(w.id, c.id));
  });
  EXPECT_EQ(store().CountMembersWithRole(w.id, "owner"), 2);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "admin"), 0);
  EXPECT_EQ(store().CountMembersWithRole(other.id, "admin"), 1);
}

TEST_P(StoreConformance, DeleteMembershipRemovesThatMembershipButLeavesTheUser) {
  Workspace w = AddWorkspace(kT0 + 1);
  Workspace other = AddWorkspace(kT0 + 2);
  User u = AddUser();
  User colleague = AddUser();
  Session s = AddSession(u.id, kT0 + 1);
  AddMember(w.id, u.id, "admin");
  Membership kept = AddMember(other.id, u.id, "viewer");
  Membership theirs = AddMember(w.id, colleague.id, "owner");

  bool deleted = false;
  InTx([&](WriteTx& tx) { deleted = tx.DeleteMembership(w.id, u.id); });
  EXPECT_TRUE(deleted);
  EXPECT_FALSE(store().MembershipOf(w.id, u.id).has_value());
  EXPECT_FALSE(store().MemberOf(w.id, u.id).has_value());
  EXPECT_EQ(Ids(store().Members(w.id)), std::vector<std::string>{colleague.id});
  EXPECT_EQ(store().MemberCount(w.id), 1);

  // The user, their sessions and their other memberships stay; so does the colleague.
  auto user = store().UserById(u.id);
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(Fields(*user), Fields(u));
  EXPECT_TRUE(store().SessionByTokenHash(s.token_hash).has_value());
  EXPECT_EQ(Fields(*store().MembershipOf(other.id, u.id)), Fields(kept));
  auto of_u = store().WorkspacesOfUser(u.id);
  ASSERT_EQ(of_u.size(), 1u);
  EXPECT_EQ(of_u[0].workspace.id, other.id);
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, colleague.id)), Fields(theirs));
  EXPECT_TRUE(store().WorkspaceById(w.id).has_value());

  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.DeleteMembership(w.id, u.id)) << "deleted twice";
    EXPECT_FALSE(tx.DeleteMembership(NewId("ws"), colleague.id));
  });
  EXPECT_EQ(store().MemberCount(w.id), 1);

  // The user can join again.
  Membership again = AddMember(w.id, u.id, "viewer", kT0 + 50);
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, u.id)), Fields(again));
}

// ---------------------------------------------------------------------------------------------
// Custom roles

TEST_P(StoreConformance, CustomRoleRoundTripsWithItsPermissionsInOrder) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole many = AddRole(w.id, "Support", {"members.read", "audit.read", "keys.write"});
  CustomRole one = AddRole(w.id, "Single", {"projects.read"});
  CustomRole none = AddRole(w.id, "Nothing", {});

  for (const CustomRole* r : {&many, &one, &none}) {
    auto got = store().CustomRoleById(w.id, r->id);
    ASSERT_TRUE(got.has_value()) << r->name;
    EXPECT_EQ(Fields(*got), Fields(*r));
  }
  EXPECT_TRUE(store().CustomRoleById(w.id, none.id)->permissions.empty());

  // Scoped to the workspace: another workspace's id is not found through this one.
  EXPECT_FALSE(store().CustomRoleById(other.id, many.id).has_value());
  EXPECT_FALSE(store().CustomRoleById(NewId("ws"), many.id).has_value());
  EXPECT_FALSE(store().CustomRoleById(w.id, NewId("role")).has_value());
}

TEST_P(StoreConformance, CustomRolesAreListedByNameWithinTheWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  // Inserted (and created) in an order that is neither by name nor reversed.
  CustomRole m = AddRole(w.id, "marketing", {"projects.read"}, kT0 + 1);
  CustomRole z = AddRole(w.id, "zeta-ops", {}, kT0 + 2);
  CustomRole a = AddRole(w.id, "auditor", {"audit.read", "members.read"}, kT0 + 3);
  CustomRole b = AddRole(w.id, "billing", {"billing.read"}, kT0 + 0);
  AddRole(other.id, "aaa-first", {"audit.read"});

  auto roles = store().CustomRoles(w.id);
  ASSERT_EQ(IdsOf(roles), (std::vector<std::string>{a.id, b.id, m.id, z.id}));
  EXPECT_EQ(Fields(roles[0]), Fields(a));
  EXPECT_EQ(Fields(roles[1]), Fields(b));
  EXPECT_EQ(Fields(roles[2]), Fields(m));
  EXPECT_EQ(Fields(roles[3]), Fields(z));

  EXPECT_EQ(store().CustomRoles(other.id).size(), 1u);
  EXPECT_TRUE(store().CustomRoles(AddWorkspace().id).empty());
  EXPECT_TRUE(store().CustomRoles(NewId("ws")).empty());
}

TEST_P(StoreConformance, DuplicateRoleNameIsRefusedWithinAWorkspaceOnly) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole first = AddRole(w.id, "Support", {"members.read"});
  CustomRole same_name = NewRole(w.id, "Support", {"audit.read"}, kT0 + 9);
  {
    auto tx = store().Begin();
    Status st = tx->InsertCustomRole(same_name);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "role_name_taken");
    EXPECT_TRUE(st.error().kind == ErrorKind::kConflict);
    tx->Commit();
  }
  EXPECT_FALSE(store().CustomRoleById(w.id, same_name.id).has_value());
  auto roles = store().CustomRoles(w.id);
  ASSERT_EQ(roles.size(), 1u);
  EXPECT_EQ(Fields(roles[0]), Fields(first));

  // The same name in another workspace is a different role.
  CustomRole elsewhere = NewRole(other.id, "Support", {"audit.read"});
  InTx([&](WriteTx& tx) {
    Status st = tx.InsertCustomRole(elsewhere);
    EXPECT_TRUE(st.ok()) << st.error().code;
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(other.id, elsewhere.id)), Fields(elsewhere));
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, first.id)), Fields(first));
}

TEST_P(StoreConformance, TransactionStaysUsableAfterARefusedRoleName) {
  Workspace w = AddWorkspace();
  CustomRole taken = AddRole(w.id, "Taken", {"audit.read"});
  CustomRole before = NewRole(w.id, "Before", {"members.read"});
  CustomRole duplicate = NewRole(w.id, "Taken", {});
  CustomRole renamed = before;
  renamed.name = "Taken";
  CustomRole after = NewRole(w.id, "After", {"projects.read", "projects.write"});
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertCustomRole(before).ok());
    Status st = tx->InsertCustomRole(duplicate);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "role_name_taken");
    st = tx->UpdateCustomRole(renamed);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "role_name_taken");
    // The refusals are expected outcomes, not failures of the transaction.
    ASSERT_TRUE(tx->InsertCustomRole(after).ok());
    tx->Commit();
  }
  EXPECT_EQ(IdsOf(store().CustomRoles(w.id)),
            (std::vector<std::string>{after.id, before.id, taken.id}));
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, before.id)), Fields(before));
  EXPECT_FALSE(store().CustomRoleById(w.id, duplicate.id).has_value());
}

TEST_P(StoreConformance, UpdateCustomRoleRewritesNameDescriptionAndPermissions) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole r = AddRole(w.id, "Support", {"members.read", "audit.read"}, kT0);
  CustomRole neighbour = AddRole(w.id, "Neighbour", {"keys.read"}, kT0);
  CustomRole abroad = AddRole(other.id, "Abroad", {"keys.read"}, kT0);

  CustomRole changed = r;
  changed.name = "Support Tier 2";
  changed.description = "";
  changed.permissions = {};
  changed.updated_at = kT0 + 60;
  InTx([&](WriteTx& tx) {
    Status st = tx.UpdateCustomRole(changed);
    EXPECT_TRUE(st.ok()) << st.error().code;
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(changed));

  // From no permissions back to several, order kept; the name may stay as it is.
  changed.permissions = {"projects.write", "billing.read", "audit.read"};
  changed.description = "back again";
  changed.updated_at = kT0 + 70;
  InTx([&](WriteTx& tx) {
    Status st = tx.UpdateCustomRole(changed);
    EXPECT_TRUE(st.ok()) << st.error().code;
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(changed));

  // A name another role of the workspace has is refused, and nothing changes.
  CustomRole clash = changed;
  clash.name = neighbour.name;
  clash.permissions = {"members.write"};
  clash.updated_at = kT0 + 80;
  {
    auto tx = store().Begin();
    Status st = tx->UpdateCustomRole(clash);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "role_name_taken");
    EXPECT_TRUE(st.error().kind == ErrorKind::kConflict);
    tx->Commit();
  }
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(changed));
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, neighbour.id)), Fields(neighbour));

  // A name only another workspace has is free.
  changed.name = abroad.name;
  changed.updated_at = kT0 + 90;
  InTx([&](WriteTx& tx) {
    Status st = tx.UpdateCustomRole(changed);
    EXPECT_TRUE(st.ok()) << st.error().code;
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(changed));
  EXPECT_EQ(Fields(*store().CustomRoleById(other.id, abroad.id)), Fields(abroad));

  // The old name is free again.
  AddRole(w.id, "Support", {});
  EXPECT_EQ(store().CustomRoles(w.id).size(), 3u);
}

TEST_P(StoreConformance, UpdateCustomRoleThroughAnotherWorkspaceChangesNothing) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole r = AddRole(w.id, "Support", {"members.read"});
  CustomRole hijack = r;
  hijack.workspace_id = other.id;
  hijack.name = "Hijacked";
  hijack.permissions = {"members.write", "billing.write"};
  hijack.updated_at = kT0 + 500;
  InTx([&](WriteTx& tx) { (void)tx.UpdateCustomRole(hijack); });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(r));
  EXPECT_FALSE(store().CustomRoleById(other.id, r.id).has_value());
  EXPECT_TRUE(store().CustomRoles(other.id).empty());
}

TEST_P(StoreConformance, DeleteCustomRoleIsScopedToTheWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole r = AddRole(w.id, "Support", {"members.read"});
  CustomRole kept = AddRole(w.id, "Kept", {"audit.read"});

  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.DeleteCustomRole(other.id, r.id)) << "deleted through another workspace";
    EXPECT_FALSE(tx.DeleteCustomRole(w.id, NewId("role")));
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(r));

  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.DeleteCustomRole(w.id, r.id)); });
  EXPECT_FALSE(store().CustomRoleById(w.id, r.id).has_value());
  EXPECT_EQ(IdsOf(store().CustomRoles(w.id)), std::vector<std::string>{kept.id});
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.DeleteCustomRole(w.id, r.id)) << "deleted twice"; });

  // Its name is free again.
  CustomRole reborn = AddRole(w.id, "Support", {});
  EXPECT_EQ(IdsOf(store().CustomRoles(w.id)), (std::vector<std::string>{kept.id, reborn.id}));
}

}  // namespace
}  // namespace gh::conformance
