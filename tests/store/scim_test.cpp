// The store conformance suite (see conformance.h). Directory sync: SCIM tokens (a revoked one
// stays revoked), the directory's users (userName unique per workspace, found by userName or
// externalId) and groups (display names unique per workspace, case-insensitively), group
// members, settings, a membership's deactivation and the hold it puts on the member's keys,
// and what goes with a membership when it is deleted.
#include <gtest/gtest.h>

#include <string>

#include "conformance.h"

namespace gh::conformance {
namespace {

auto Fields(const ScimToken& t) {
  return std::tie(t.id, t.workspace_id, t.name, t.token_hash, t.created_by, t.created_at,
                  t.last_used_at, t.revoked_at);
}

auto Fields(const ScimUser& u) {
  return std::tie(u.workspace_id, u.user_id, u.user_name, u.external_id, u.active, u.resource,
                  u.version, u.created_at, u.updated_at);
}

auto Fields(const ScimGroup& g) {
  return std::tie(g.id, g.workspace_id, g.display_name, g.external_id, g.resource, g.version,
                  g.created_at, g.updated_at);
}

ScimUser NewScimUser(const std::string& ws, const std::string& user_id, const std::string& name,
                     UnixTime at = kT0) {
  return ScimUser{ws,   user_id, name, "ext-" + name, true, R"({"name":{"givenName":"Zoë"}})",
                  1,    at,      at};
}

ScimGroup NewScimGroup(const std::string& ws, const std::string& name, UnixTime at = kT0) {
  return ScimGroup{NewId("dgr"), ws, name, "ext-" + name, R"({"x":"ÿ"})", 1, at, at};
}

TEST_P(StoreConformance, ScimTokensAreFoundByHashAndARevokedOneStaysRevoked) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User u = AddUser();
  ScimToken t{NewId("scim"), w.id, "Okta – prod", NewId("hash"), u.id, kT0, std::nullopt,
              std::nullopt};
  InTx([&](WriteTx& tx) { tx.InsertScimToken(t); });
  EXPECT_EQ(Fields(*store().ScimTokenByHash(t.token_hash)), Fields(t));
  ASSERT_EQ(store().ScimTokens(w.id).size(), 1u);
  EXPECT_TRUE(store().ScimTokens(other.id).empty());
  InTx([&](WriteTx& tx) { tx.TouchScimToken(t.id, kT0 + 10); });
  EXPECT_EQ(store().ScimTokenByHash(t.token_hash)->last_used_at, kT0 + 10);
  // Another workspace cannot revoke it; revoking twice answers false and keeps the first time.
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.RevokeScimToken(other.id, t.id, kT0 + 20)); });
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.RevokeScimToken(w.id, t.id, kT0 + 30)); });
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.RevokeScimToken(w.id, t.id, kT0 + 40)); });
  EXPECT_EQ(store().ScimTokenByHash(t.token_hash)->revoked_at, kT0 + 30);
}

TEST_P(StoreConformance, ScimUsersAreUniqueByUserNamePerWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User a = AddUser();
  User b = AddUser();
  ScimUser ua = NewScimUser(w.id, a.id, "ada@acme.test");
  ScimUser ub = NewScimUser(w.id, b.id, "bob@acme.test", kT0 + 1);
  InTx([&](WriteTx& tx) {
    ASSERT_TRUE(tx.InsertScimUser(ua).ok());
    ASSERT_TRUE(tx.InsertScimUser(ub).ok());
    // The same userName in another workspace is another directory.
    ASSERT_TRUE(tx.InsertScimUser(NewScimUser(other.id, a.id, "ada@acme.test")).ok());
  });
  InTx([&](WriteTx& tx) {
    Status st = tx.InsertScimUser(NewScimUser(w.id, NewId("usr"), "ada@acme.test"));
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "scim_user_name_taken");
    // The transaction stays usable after the refusal (PostgreSQL aborts it otherwise).
    EXPECT_TRUE(tx.ScimUserOf(w.id, a.id).has_value());
  });
  EXPECT_EQ(Fields(*store().ScimUserOf(w.id, a.id)), Fields(ua));
  EXPECT_EQ(store().ScimUserByUserName(w.id, "bob@acme.test")->user_id, b.id);
  EXPECT_FALSE(store().ScimUserByUserName(w.id, "eve@acme.test").has_value());
  ASSERT_EQ(store().ScimUsersByExternalId(w.id, "ext-ada@acme.test").size(), 1u);
  EXPECT_EQ(store().CountScimUsers(w.id), 2);
  auto page = store().ScimUsers(w.id, 1, 10);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].user_id, b.id);
  // Renaming onto a taken userName is refused; a rename moves the version on.
  ub.user_name = "ada@acme.test";
  InTx([&](WriteTx& tx) { EXPECT_EQ(tx.UpdateScimUser(ub).error().code, "scim_user_name_taken"); });
  ub.user_name = "robert@acme.test";
  ub.active = false;
  ub.updated_at = kT0 + 9;
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.UpdateScimUser(ub).ok()); });
  EXPECT_EQ(ub.version, 2);
  EXPECT_EQ(Fields(*store().ScimUserOf(w.id, b.id)), Fields(ub));
}

TEST_P(StoreConformance, ScimGroupsAreUniqueByDisplayNameAndKeepTheirMembers) {
  Workspace w = AddWorkspace();
  User a = AddUser();
  User b = AddUser();
  ScimGroup eng = NewScimGroup(w.id, "Engineering");
  ScimGroup ops = NewScimGroup(w.id, "Ops", kT0 + 1);
  InTx([&](WriteTx& tx) {
    ASSERT_TRUE(tx.InsertScimGroup(eng).ok());
    ASSERT_TRUE(tx.InsertScimGroup(ops).ok());
    ScimGroup dup = NewScimGroup(w.id, "ENGINEERING");
    Status st = tx.InsertScimGroup(dup);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "scim_group_name_taken");
    tx.AddScimGroupMembers(eng.id, {a.id, b.id});
    tx.AddScimGroupMembers(eng.id, {a.id});  // present already: skipped
    tx.AddScimGroupMembers(ops.id, {a.id});
  });
  EXPECT_EQ(Fields(*store().ScimGroupById(w.id, eng.id)), Fields(eng));
  EXPECT_EQ(store().ScimGroupByDisplayKey(w.id, "engineering")->id, eng.id);
  EXPECT_EQ(store().ScimGroupsByExternalId(w.id, "ext-Ops").at(0).id, ops.id);
  EXPECT_EQ(store().CountScimGroups(w.id), 2);
  auto members = store().ScimGroupMembers(eng.id);
  std::vector<std::string> want = {a.id, b.id};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(members, want);
  auto of_a = store().ScimGroupsOfUser(w.id, a.id);
  ASSERT_EQ(of_a.size(), 2u);
  EXPECT_EQ(of_a[0].display_name, "Engineering");  // by display name
  InTx([&](WriteTx& tx) { tx.RemoveScimGroupMembers(eng.id, {a.id}); });
  EXPECT_EQ(store().ScimGroupMembers(eng.id), std::vector<std::string>{b.id});
  // A rename onto another group's name (in another case) is refused.
  ops.display_name = "engineering";
  InTx([&](WriteTx& tx) { EXPECT_EQ(tx.UpdateScimGroup(ops).error().code, "scim_group_name_taken"); });
  ops.display_name = "Operations";
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.UpdateScimGroup(ops).ok()); });
  EXPECT_EQ(store().ScimGroupByDisplayKey(w.id, "operations")->version, 2);
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.DeleteScimGroup(w.id, eng.id)); });
  EXPECT_FALSE(store().ScimGroupById(w.id, eng.id).has_value());
  EXPECT_TRUE(store().ScimGroupMembers(eng.id).empty());
}

TEST_P(StoreConformance, ScimSettingsAreReplacedWhole) {
  Workspace w = AddWorkspace();
  EXPECT_FALSE(store().ScimSettingsOf(w.id).has_value());
  InTx([&](WriteTx& tx) { tx.PutScimSettings({w.id, R"([{"group":"A"}])", kT0}); });
  InTx([&](WriteTx& tx) { tx.PutScimSettings({w.id, R"([{"group":"B"}])", kT0 + 1}); });
  auto s = store().ScimSettingsOf(w.id);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->group_mappings, R"([{"group":"B"}])");
  EXPECT_EQ(s->updated_at, kT0 + 1);
}

TEST_P(StoreConformance, ADeactivatedMembershipHoldsTheMembersLiveKeysUntilLifted) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User u = AddUser();
  AddMember(w.id, u.id, "developer");
  AddMember(other.id, u.id, "developer");
  ApiKey live = AddKey(NewKey(w.id, u.id));
  ApiKey revoked = NewKey(w.id, u.id);
  revoked.revoked_at = kT0 + 1;
  AddKey(revoked);
  ApiKey elsewhere = AddKey(NewKey(other.id, u.id));
  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.SetMembershipState(w.id, u.id, kT0 + 5, true));
    EXPECT_FALSE(tx.SetMembershipState(w.id, NewId("usr"), kT0 + 5, true));
    auto held = tx.HoldKeysOfOwner(w.id, u.id, "deactivated", kT0 + 5);
    ASSERT_EQ(held.size(), 1u);  // the live key of this workspace only
    EXPECT_EQ(held[0].id, live.id);
    EXPECT_EQ(held[0].owner_hold, "deactivated");
    EXPECT_EQ(held[0].version, 2);
    // Holding again changes nothing.
    EXPECT_TRUE(tx.HoldKeysOfOwner(w.id, u.id, "deactivated", kT0 + 6).empty());
  });
  auto m = store().MembershipOf(w.id, u.id);
  EXPECT_EQ(m->deactivated_at, kT0 + 5);
  EXPECT_TRUE(m->directory_managed);
  EXPECT_EQ(m->status(), "deactivated");
  EXPECT_FALSE(store().MembershipOf(other.id, u.id)->deactivated_at.has_value());
  EXPECT_EQ(store().ApiKeyById(w.id, live.id)->owner_hold, "deactivated");
  EXPECT_EQ(store().ApiKeyById(other.id, elsewhere.id)->owner_hold, "");
  // What other processes follow sees the held key (its updated_at moved).
  bool seen = false;
  for (const auto& k : store().ApiKeysUpdatedSince(kT0 + 5)) seen |= k.id == live.id;
  EXPECT_TRUE(seen);
  // Members lists and a user's workspaces carry the state.
  for (const auto& mem : store().Members(w.id)) EXPECT_TRUE(mem.membership.deactivated_at.has_value());
  for (const auto& ww : store().WorkspacesOfUser(u.id)) {
    EXPECT_EQ(ww.membership.deactivated_at.has_value(), ww.workspace.id == w.id);
  }
  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.SetMembershipState(w.id, u.id, std::nullopt, true));
    EXPECT_EQ(tx.HoldKeysOfOwner(w.id, u.id, "", kT0 + 7).size(), 1u);
  });
  EXPECT_EQ(store().ApiKeyById(w.id, live.id)->owner_hold, "");
  EXPECT_EQ(store().MembershipOf(w.id, u.id)->status(), "active");
}

TEST_P(StoreConformance, DeletingAMembershipDeletesTheDirectorysRecordOfIt) {
  Workspace w = AddWorkspace();
  User u = AddUser();
  User stays = AddUser();
  AddMember(w.id, u.id, "developer");
  AddMember(w.id, stays.id, "developer");
  ScimGroup g = NewScimGroup(w.id, "Eng");
  InTx([&](WriteTx& tx) {
    ASSERT_TRUE(tx.InsertScimUser(NewScimUser(w.id, u.id, "u@acme.test")).ok());
    ASSERT_TRUE(tx.InsertScimUser(NewScimUser(w.id, stays.id, "s@acme.test")).ok());
    ASSERT_TRUE(tx.InsertScimGroup(g).ok());
    tx.AddScimGroupMembers(g.id, {u.id, stays.id});
  });
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.DeleteMembership(w.id, u.id)); });
  EXPECT_FALSE(store().ScimUserOf(w.id, u.id).has_value());
  EXPECT_EQ(store().ScimGroupMembers(g.id), std::vector<std::string>{stays.id});
  EXPECT_TRUE(store().ScimUserOf(w.id, stays.id).has_value());
}

TEST_P(StoreConformance, DeletingAWorkspaceDeletesItsDirectory) {
  Workspace w = AddWorkspace();
  User u = AddUser();
  ScimToken t{NewId("scim"), w.id, "t", NewId("hash"), u.id, kT0, std::nullopt, std::nullopt};
  ScimGroup g = NewScimGroup(w.id, "Eng");
  InTx([&](WriteTx& tx) {
    tx.InsertScimToken(t);
    ASSERT_TRUE(tx.InsertScimUser(NewScimUser(w.id, u.id, "u@acme.test")).ok());
    ASSERT_TRUE(tx.InsertScimGroup(g).ok());
    tx.AddScimGroupMembers(g.id, {u.id});
    tx.PutScimSettings({w.id, "[]", kT0});
  });
  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(w.id, kT0 + 1); });
  EXPECT_FALSE(store().ScimTokenByHash(t.token_hash).has_value());
  EXPECT_FALSE(store().ScimUserOf(w.id, u.id).has_value());
  EXPECT_FALSE(store().ScimGroupById(w.id, g.id).has_value());
  EXPECT_TRUE(store().ScimGroupMembers(g.id).empty());
  EXPECT_FALSE(store().ScimSettingsOf(w.id).has_value());
}

}  // namespace
}  // namespace gh::conformance
