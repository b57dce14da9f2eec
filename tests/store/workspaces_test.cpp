// The store conformance suite (see conformance.h). Workspaces: settings, the IP allowlist, logos,
// and what deleting a workspace takes with it.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "conformance.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, InsertedWorkspaceReadsBack) {
  Workspace w = AddWorkspace();
  auto got = store().WorkspaceById(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(w));
  EXPECT_FALSE(store().WorkspaceById(NewId("ws")).has_value());
}

TEST_P(StoreConformance, UpdateWorkspaceChangesItsSettings) {
  Workspace w = AddWorkspace();
  Workspace bystander = AddWorkspace();
  Workspace changed = w;
  changed.name = "Acme Renamed";
  changed.timezone = "America/New_York";
  changed.language = "en";
  changed.plan = "enterprise";
  changed.subscription_status = "past_due";
  changed.audit_retention_days = 730;
  changed.logo_content_type = "image/png";
  changed.logo_updated_at = kT0 + 70;
  changed.updated_at = kT0 + 80;
  InTx([&](WriteTx& tx) { tx.UpdateWorkspace(changed); });

  auto got = store().WorkspaceById(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(changed));
  EXPECT_EQ(Fields(*store().WorkspaceById(bystander.id)), Fields(bystander));
}

TEST_P(StoreConformance, IpAllowlistIsKeptApartFromTheOtherSettings) {
  Workspace w = AddWorkspace();
  Workspace bystander = AddWorkspace();
  EXPECT_FALSE(store().WorkspaceById(w.id)->ip_allowlist_enabled);
  EXPECT_TRUE(store().WorkspaceById(w.id)->ip_allowlist.empty());
  EXPECT_EQ(store().WorkspaceById(w.id)->ip_allowlist_updated_at, 0);

  std::vector<IpAllowEntry> entries = {{"203.0.113.0/24", "Office"},
                                       {"198.51.100.42/32", "VPN (night shift)"},
                                       {"2001:db8::/32", ""},
                                       {"192.0.2.0/24", "Data Center \xc3\xbc"}};
  InTx([&](WriteTx& tx) { tx.UpdateIpAllowlist(w.id, true, entries, kT0 + 500); });
  auto got = store().WorkspaceById(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->ip_allowlist_enabled);
  EXPECT_EQ(got->ip_allowlist, entries);
  EXPECT_EQ(got->ip_allowlist_updated_at, kT0 + 500);
  EXPECT_EQ(got->updated_at, kT0 + 500);  // other processes' refresh finds the change
  auto changed = store().WorkspacesChangedSince(kT0 + 500);
  EXPECT_NE(std::find(changed.begin(), changed.end(), w.id), changed.end());
  EXPECT_FALSE(store().WorkspaceById(bystander.id)->ip_allowlist_enabled);

  // The member's view of their workspaces carries the list (Access::Authorize reads it).
  User u = AddUser();
  AddMember(w.id, u.id, "admin", kT0 + 501);
  auto mine = store().WorkspacesOfUser(u.id);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].workspace.ip_allowlist, entries);
  EXPECT_EQ(mine[0].membership.role, "admin");

  // Updating the other settings leaves the list alone.
  Workspace renamed = *got;
  renamed.name = "Renamed";
  renamed.ip_allowlist_enabled = false;
  renamed.ip_allowlist.clear();
  InTx([&](WriteTx& tx) { tx.UpdateWorkspace(renamed); });
  got = store().WorkspaceById(w.id);
  EXPECT_EQ(got->name, "Renamed");
  EXPECT_TRUE(got->ip_allowlist_enabled);
  EXPECT_EQ(got->ip_allowlist, entries);

  InTx([&](WriteTx& tx) { tx.UpdateIpAllowlist(w.id, false, {}, kT0 + 600); });
  got = store().WorkspaceById(w.id);
  EXPECT_FALSE(got->ip_allowlist_enabled);
  EXPECT_TRUE(got->ip_allowlist.empty());
}

TEST_P(StoreConformance, PutLogoRoundTripsBinaryBytesExactlyAndReplacesTheOldOne) {
  Workspace w = AddWorkspace();
  Workspace bystander = AddWorkspace();
  EXPECT_FALSE(store().LogoOf(w.id).has_value());

  std::string every_byte(std::string_view("\0\xFF\0", 3));
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  every_byte += std::string_view("\xFF\0\\x00'\"", 8);
  Logo first{"image/png", every_byte, kT0 + 5};
  Logo other{"image/gif", std::string("GIF89a\0\0\xFF", 9), kT0 + 6};
  InTx([&](WriteTx& tx) {
    tx.PutLogo(w.id, first);
    tx.PutLogo(bystander.id, other);
  });
  auto got = store().LogoOf(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->content_type, first.content_type);
  EXPECT_EQ(got->bytes.size(), first.bytes.size());
  EXPECT_EQ(got->bytes, first.bytes);
  EXPECT_EQ(got->updated_at, first.updated_at);

  // A second put replaces the first: a larger random image, NULs and 0xFFs included.
  std::mt19937 rng(12345);
  std::string big(300'000, '\0');
  for (char& c : big) c = static_cast<char>(rng() & 0xFF);
  big[0] = '\0';
  big[big.size() - 1] = '\xFF';
  Logo second{"image/webp", big, kT0 + 9};
  InTx([&](WriteTx& tx) { tx.PutLogo(w.id, second); });
  got = store().LogoOf(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->content_type, "image/webp");
  EXPECT_EQ(got->bytes.size(), big.size());
  EXPECT_TRUE(got->bytes == big) << "the replaced logo's bytes differ";
  EXPECT_EQ(got->updated_at, kT0 + 9);

  auto untouched = store().LogoOf(bystander.id);
  ASSERT_TRUE(untouched.has_value());
  EXPECT_EQ(untouched->bytes, other.bytes);
  EXPECT_EQ(untouched->content_type, other.content_type);
}

TEST_P(StoreConformance, DeleteWorkspaceRemovesItsMembershipsAndLogoButNotItsAuditLog) {
  Workspace doomed = AddWorkspace();
  Workspace kept = AddWorkspace();
  User a = AddUser();
  User b = AddUser();
  AddMember(doomed.id, a.id, "owner");
  AddMember(doomed.id, b.id, "member");
  Membership kept_membership = AddMember(kept.id, a.id, "owner");
  InTx([&](WriteTx& tx) {
    tx.PutLogo(doomed.id, Logo{"image/png", "png", kT0});
    tx.PutLogo(kept.id, Logo{"image/png", "other", kT0});
  });
  std::vector<AuditEvent> events = AppendMany(doomed.id, 3);

  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(doomed.id, 1700000000); });

  EXPECT_FALSE(store().WorkspaceById(doomed.id).has_value());
  EXPECT_EQ(store().MemberCount(doomed.id), 0);
  EXPECT_FALSE(store().MembershipOf(doomed.id, a.id).has_value());
  EXPECT_FALSE(store().MembershipOf(doomed.id, b.id).has_value());
  EXPECT_FALSE(store().LogoOf(doomed.id).has_value());
  auto of_a = store().WorkspacesOfUser(a.id);
  ASSERT_EQ(of_a.size(), 1u);
  EXPECT_EQ(of_a[0].workspace.id, kept.id);
  EXPECT_TRUE(store().WorkspacesOfUser(b.id).empty());

  // Everything else stays.
  EXPECT_TRUE(store().UserById(a.id).has_value());
  EXPECT_TRUE(store().UserById(b.id).has_value());
  EXPECT_TRUE(store().WorkspaceById(kept.id).has_value());
  EXPECT_EQ(Fields(*store().MembershipOf(kept.id, a.id)), Fields(kept_membership));
  EXPECT_TRUE(store().LogoOf(kept.id).has_value());

  // The audit log outlives the workspace it describes.
  EXPECT_EQ(Ids(store().AuditEvents(doomed.id, std::nullopt, 10).events), Reversed(Ids(events)));
  AuditVerification v = AuditLog(store()).Verify(doomed.id);
  EXPECT_TRUE(v.valid);
  EXPECT_EQ(v.checked, 3);
}

TEST_P(StoreConformance, DeleteWorkspaceRemovesItsCustomRolesAndInvitations) {
  Workspace doomed = AddWorkspace();
  Workspace kept = AddWorkspace();
  User u = AddUser();
  AddMember(doomed.id, u.id, "owner");
  CustomRole doomed_role = AddRole(doomed.id, "Support", {"members.read"});
  CustomRole kept_role = AddRole(kept.id, "Support", {"members.read"});
  Invitation doomed_inv = AddInvitation(doomed.id, NewEmail(), kT0, kT0 + 86400);
  Invitation kept_inv = AddInvitation(kept.id, doomed_inv.email, kT0, kT0 + 86400);

  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(doomed.id, 1700000000); });

  EXPECT_TRUE(store().CustomRoles(doomed.id).empty());
  EXPECT_FALSE(store().CustomRoleById(doomed.id, doomed_role.id).has_value());
  EXPECT_FALSE(store().InvitationById(doomed.id, doomed_inv.id).has_value());
  EXPECT_FALSE(store().InvitationByTokenHash(doomed_inv.token_hash).has_value());
  EXPECT_TRUE(store().Invitations(doomed.id, false, kT0).empty());
  EXPECT_EQ(store().CountPendingInvitations(doomed.id, kT0), 0);
  EXPECT_FALSE(store().PendingInvitationFor(doomed.id, doomed_inv.email, kT0).has_value());
  EXPECT_TRUE(store().Members(doomed.id).empty());
  EXPECT_TRUE(store().UserById(u.id).has_value());

  EXPECT_EQ(Fields(*store().CustomRoleById(kept.id, kept_role.id)), Fields(kept_role));
  EXPECT_EQ(Fields(*store().InvitationByTokenHash(kept_inv.token_hash)), Fields(kept_inv));
  EXPECT_EQ(store().CountPendingInvitations(kept.id, kT0), 1);

  // The ids are free again: a new workspace's role and invitation can take them.
  Workspace fresh = AddWorkspace();
  CustomRole same_id = NewRole(fresh.id, "Support", {});
  same_id.id = doomed_role.id;
  Invitation same_token = NewInvitation(fresh.id, NewEmail(), kT0, kT0 + 5);
  same_token.id = doomed_inv.id;
  same_token.token_hash = doomed_inv.token_hash;
  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.InsertCustomRole(same_id).ok());
    tx.InsertInvitation(same_token);
  });
  EXPECT_EQ(Fields(*store().InvitationByTokenHash(same_token.token_hash)), Fields(same_token));
}

}  // namespace
}  // namespace gh::conformance
