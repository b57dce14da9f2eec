// The store conformance suite (see conformance.h). Invitations: round trips, updates, the pending
// list and the lookup by email.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conformance.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, InvitationRoundTripsAndIsFoundByIdAndTokenHash) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  Invitation several = NewInvitation(w.id, NewEmail(), kT0 + 1, kT0 + 7 * 86400,
                                     {"prj_zeta", "prj_alpha", "prj_mid"});
  Invitation no_projects = NewInvitation(w.id, NewEmail(), kT0 + 2, kT0 + 86400, {});
  no_projects.role = "viewer";
  no_projects.redirect_url = "";
  Invitation accepted = NewInvitation(w.id, NewEmail(), kT0 + 3, kT0 + 86400, {"prj_1"});
  accepted.status = "accepted";
  accepted.accepted_at = kT0 + 40;
  Invitation revoked = NewInvitation(w.id, NewEmail(), kT0 + 4, kT0 + 86400);
  revoked.status = "revoked";
  revoked.revoked_at = kT0 + 41;
  InTx([&](WriteTx& tx) {
    for (const Invitation* i : {&several, &no_projects, &accepted, &revoked}) {
      tx.InsertInvitation(*i);
    }
  });

  for (const Invitation* i : {&several, &no_projects, &accepted, &revoked}) {
    auto by_id = store().InvitationById(w.id, i->id);
    ASSERT_TRUE(by_id.has_value()) << i->email;
    EXPECT_EQ(Fields(*by_id), Fields(*i));
    auto by_token = store().InvitationByTokenHash(i->token_hash);
    ASSERT_TRUE(by_token.has_value()) << i->email;
    EXPECT_EQ(Fields(*by_token), Fields(*i));
  }
  EXPECT_TRUE(store().InvitationById(w.id, no_projects.id)->projects.empty());

  EXPECT_FALSE(store().InvitationById(other.id, several.id).has_value());
  EXPECT_FALSE(store().InvitationById(NewId("ws"), several.id).has_value());
  EXPECT_FALSE(store().InvitationById(w.id, NewId("inv")).has_value());
  EXPECT_FALSE(store().InvitationByTokenHash(Lower(NewId("tok"))).has_value());
  EXPECT_FALSE(store().InvitationByTokenHash("").has_value());
}

TEST_P(StoreConformance, UpdateInvitationWritesStatusTokenExpiryAndTimes) {
  Workspace w = AddWorkspace();
  Invitation resent = AddInvitation(w.id, NewEmail(), kT0, kT0 + 100);
  Invitation accepted = AddInvitation(w.id, NewEmail(), kT0 + 1, kT0 + 100);
  Invitation revoked = AddInvitation(w.id, NewEmail(), kT0 + 2, kT0 + 100);
  Invitation bystander = AddInvitation(w.id, NewEmail(), kT0 + 3, kT0 + 100);

  // Resending replaces the token and moves the expiry: the old token no longer finds it.
  std::string old_token = resent.token_hash;
  resent.token_hash = Lower(NewId("tok"));
  resent.expires_at = kT0 + 9000;
  accepted.status = "accepted";
  accepted.accepted_at = kT0 + 50;
  revoked.status = "revoked";
  revoked.revoked_at = kT0 + 51;
  InTx([&](WriteTx& tx) {
    tx.UpdateInvitation(resent);
    tx.UpdateInvitation(accepted);
    tx.UpdateInvitation(revoked);
  });

  EXPECT_FALSE(store().InvitationByTokenHash(old_token).has_value());
  auto by_token = store().InvitationByTokenHash(resent.token_hash);
  ASSERT_TRUE(by_token.has_value());
  EXPECT_EQ(Fields(*by_token), Fields(resent));
  EXPECT_EQ(Fields(*store().InvitationById(w.id, resent.id)), Fields(resent));
  EXPECT_EQ(Fields(*store().InvitationById(w.id, accepted.id)), Fields(accepted));
  EXPECT_EQ(Fields(*store().InvitationById(w.id, revoked.id)), Fields(revoked));
  EXPECT_EQ(Fields(*store().InvitationById(w.id, bystander.id)), Fields(bystander));

  // Times can be cleared again.
  revoked.status = "pending";
  revoked.revoked_at = std::nullopt;
  InTx([&](WriteTx& tx) { tx.UpdateInvitation(revoked); });
  EXPECT_EQ(Fields(*store().InvitationById(w.id, revoked.id)), Fields(revoked));
}

TEST_P(StoreConformance, InvitationsListNewestFirstAndPendingOnlyThoseLiveAtNow) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  const UnixTime now = kT0 + 10'000;
  Invitation live = AddInvitation(w.id, NewEmail(), kT0 + 10, now + 100);
  Invitation ends_now = AddInvitation(w.id, NewEmail(), kT0 + 20, now);
  Invitation ended = AddInvitation(w.id, NewEmail(), kT0 + 30, now - 1);
  Invitation accepted = AddInvitation(w.id, NewEmail(), kT0 + 60, now + 100, "accepted");
  Invitation revoked = AddInvitation(w.id, NewEmail(), kT0 + 40, now + 100, "revoked");
  Invitation live_too = AddInvitation(w.id, NewEmail(), kT0 + 50, now + 1);
  Invitation abroad = AddInvitation(other.id, NewEmail(), kT0 + 70, now + 100);

  auto all = store().Invitations(w.id, false, now);
  ASSERT_EQ(IdsOf(all), (std::vector<std::string>{accepted.id, live_too.id, revoked.id, ended.id,
                                                  ends_now.id, live.id}));
  EXPECT_EQ(Fields(all[0]), Fields(accepted));
  EXPECT_EQ(Fields(all[5]), Fields(live));

  // Expired means expires_at <= now.
  auto pending = store().Invitations(w.id, true, now);
  ASSERT_EQ(IdsOf(pending), (std::vector<std::string>{live_too.id, live.id}));
  EXPECT_EQ(Fields(pending[0]), Fields(live_too));
  EXPECT_EQ(Fields(pending[1]), Fields(live));
  EXPECT_EQ(store().CountPendingInvitations(w.id, now), 2);

  // A second earlier, the one that ends at `now` is still pending.
  EXPECT_EQ(IdsOf(store().Invitations(w.id, true, now - 1)),
            (std::vector<std::string>{live_too.id, ends_now.id, live.id}));
  EXPECT_EQ(store().CountPendingInvitations(w.id, now - 1), 3);
  // And a second later, the one that ends at now + 1 is not.
  EXPECT_EQ(IdsOf(store().Invitations(w.id, true, now + 1)), std::vector<std::string>{live.id});
  EXPECT_EQ(store().CountPendingInvitations(w.id, now + 1), 1);
  EXPECT_EQ(store().CountPendingInvitations(w.id, now + 100), 0);
  // `now` does not filter the full list.
  EXPECT_EQ(store().Invitations(w.id, false, now + 1'000'000).size(), 6u);

  EXPECT_EQ(IdsOf(store().Invitations(other.id, false, now)), std::vector<std::string>{abroad.id});
  EXPECT_EQ(IdsOf(store().Invitations(other.id, true, now)), std::vector<std::string>{abroad.id});
  EXPECT_EQ(store().CountPendingInvitations(other.id, now), 1);
  EXPECT_TRUE(store().Invitations(NewId("ws"), false, now).empty());
  EXPECT_TRUE(store().Invitations(NewId("ws"), true, now).empty());
  EXPECT_EQ(store().CountPendingInvitations(NewId("ws"), now), 0);
}

TEST_P(StoreConformance, PendingInvitationForFindsOnlyALiveOneForThatEmailAndWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  const UnixTime now = kT0 + 10'000;
  std::string email = NewEmail();
  AddInvitation(w.id, email, kT0 + 1, now + 500, "revoked");
  AddInvitation(w.id, email, kT0 + 2, now + 500, "accepted");
  AddInvitation(w.id, email, kT0 + 3, now);  // expired at now
  Invitation live = AddInvitation(w.id, email, kT0 + 4, now + 60);
  AddInvitation(w.id, NewEmail(), kT0 + 5, now + 500);
  Invitation abroad = AddInvitation(other.id, NewEmail(), kT0 + 6, now + 500);

  auto got = store().PendingInvitationFor(w.id, email, now);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(live));

  EXPECT_FALSE(store().PendingInvitationFor(other.id, email, now).has_value());
  EXPECT_FALSE(store().PendingInvitationFor(w.id, abroad.email, now).has_value());
  EXPECT_FALSE(store().PendingInvitationFor(w.id, NewEmail(), now).has_value());
  EXPECT_FALSE(store().PendingInvitationFor(w.id, email, now + 60).has_value());

  live.status = "accepted";
  live.accepted_at = now + 1;
  InTx([&](WriteTx& tx) { tx.UpdateInvitation(live); });
  EXPECT_FALSE(store().PendingInvitationFor(w.id, email, now).has_value());
}

}  // namespace
}  // namespace gh::conformance
