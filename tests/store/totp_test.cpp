// The store conformance suite (see conformance.h). Two-factor authentication: a TOTP secret
// from enrolment to confirmation, refusal of replayed codes, single-use recovery codes, and
// turning it off.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "conformance.h"

namespace gh::conformance {
namespace {

// A secret as the service keeps it: 20 raw bytes, not base32, NULs and 0xFF included.
std::string RawSecret(int seed) {
  std::string s(20, '\0');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>((seed * 31 + i * 57) & 0xFF);
  s[0] = '\0';
  s[9] = '\xFF';
  s[19] = '\0';
  return s;
}

// The time step of a code shown at kT0 (30-second steps).
constexpr int64_t kStep = kT0 / 30;

bool MfaEnabled(Store& store, const std::string& user_id) {
  auto u = store.UserById(user_id);
  EXPECT_TRUE(u.has_value()) << user_id;
  return u && u->mfa_enabled;
}

TEST_P(StoreConformance, PendingTotpRoundTripsItsRawSecretAndReplacesTheEarlierOne) {
  User u = AddUser();
  User other = AddUser();
  EXPECT_FALSE(store().TotpOf(u.id).has_value());
  TotpState first{u.id, RawSecret(1), false, 0, kT0 + 5};
  TotpState theirs{other.id, RawSecret(2), false, 0, kT0 + 6};
  InTx([&](WriteTx& tx) {
    tx.PutPendingTotp(first);
    tx.PutPendingTotp(theirs);
  });
  auto got = store().TotpOf(u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->secret.size(), 20u);
  EXPECT_EQ(Fields(*got), Fields(first));
  // Pending is not on: no flag, no recovery codes.
  EXPECT_FALSE(MfaEnabled(store(), u.id));
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 0);

  // A code of the pending secret is checked, then enrolment starts over: the new secret
  // replaces the old one, and its steps start afresh (a code of the current step is usable).
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseTotpStep(u.id, kStep)); });
  EXPECT_EQ(store().TotpOf(u.id)->last_step, kStep);
  TotpState second{u.id, RawSecret(3), false, 0, kT0 + 60};
  InTx([&](WriteTx& tx) { tx.PutPendingTotp(second); });
  got = store().TotpOf(u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(second));
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseTotpStep(u.id, kStep)); });

  EXPECT_EQ(Fields(*store().TotpOf(other.id)), Fields(theirs));
  EXPECT_FALSE(store().TotpOf(NewId("usr")).has_value());
}

TEST_P(StoreConformance, UseTotpStepRecordsOnlyStepsLaterThanTheLastOne) {
  User u = AddUser();
  User other = AddUser();
  User without = AddUser();
  InTx([&](WriteTx& tx) {
    tx.PutPendingTotp({u.id, RawSecret(4), false, 0, kT0});
    tx.PutPendingTotp({other.id, RawSecret(5), false, 0, kT0});
  });

  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseTotpStep(u.id, kStep)); });
  EXPECT_EQ(store().TotpOf(u.id)->last_step, kStep);

  // The same code again (a replay) and an earlier one are refused, and change nothing.
  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.UseTotpStep(u.id, kStep)) << "replay accepted";
    EXPECT_FALSE(tx.UseTotpStep(u.id, kStep - 1)) << "earlier step accepted";
  });
  EXPECT_EQ(store().TotpOf(u.id)->last_step, kStep);

  // Another user's steps are their own.
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseTotpStep(other.id, kStep)); });

  // A later step is accepted once, also within one transaction; skipped steps stay behind.
  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.UseTotpStep(u.id, kStep + 2));
    EXPECT_FALSE(tx.UseTotpStep(u.id, kStep + 2));
    EXPECT_FALSE(tx.UseTotpStep(u.id, kStep + 1));
  });
  EXPECT_EQ(store().TotpOf(u.id)->last_step, kStep + 2);

  // A step used in a transaction that rolls back was not used.
  {
    auto tx = store().Begin();
    EXPECT_TRUE(tx->UseTotpStep(u.id, kStep + 3));
  }
  EXPECT_EQ(store().TotpOf(u.id)->last_step, kStep + 2);
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseTotpStep(u.id, kStep + 3)); });

  // Without a secret there is nothing to check a step against.
  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.UseTotpStep(without.id, kStep));
    EXPECT_FALSE(tx.UseTotpStep(NewId("usr"), kStep));
  });
  EXPECT_FALSE(store().TotpOf(without.id).has_value());
  EXPECT_EQ(store().TotpOf(other.id)->last_step, kStep);
}

TEST_P(StoreConformance, ConfirmTotpTurnsTwoFactorOnAndReplacesTheRecoveryCodes) {
  User u = AddUser();
  User other = AddUser();
  TotpState pending{u.id, RawSecret(6), false, 0, kT0 + 5};
  InTx([&](WriteTx& tx) {
    tx.PutPendingTotp(pending);
    tx.PutPendingTotp({other.id, RawSecret(7), false, 0, kT0});
  });
  InTx([&](WriteTx& tx) {
    ASSERT_TRUE(tx.UseTotpStep(u.id, kStep));
    tx.ConfirmTotp(u.id, {"sha256:code-a", "sha256:code-b", "sha256:code-c"});
  });

  // Confirmed: the same secret and last step, the flag on, three codes.
  TotpState confirmed = pending;
  confirmed.confirmed = true;
  confirmed.last_step = kStep;
  auto got = store().TotpOf(u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(confirmed));
  EXPECT_TRUE(MfaEnabled(store(), u.id));
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 3);
  EXPECT_FALSE(MfaEnabled(store(), other.id));
  EXPECT_FALSE(store().TotpOf(other.id)->confirmed);
  EXPECT_EQ(store().RecoveryCodesLeft(other.id), 0);

  // One code is used; then a new set replaces them all, used or not.
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseRecoveryCode(u.id, "sha256:code-a", kT0 + 100)); });
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 2);
  InTx([&](WriteTx& tx) { tx.ConfirmTotp(u.id, {"sha256:code-d", "sha256:code-e"}); });
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 2);
  InTx([&](WriteTx& tx) {
    for (const char* old : {"sha256:code-a", "sha256:code-b", "sha256:code-c"}) {
      EXPECT_FALSE(tx.UseRecoveryCode(u.id, old, kT0 + 200)) << old << " outlived its set";
    }
  });
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 2);
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseRecoveryCode(u.id, "sha256:code-d", kT0 + 201)); });
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 1);
  EXPECT_EQ(Fields(*store().TotpOf(u.id)), Fields(confirmed));
  EXPECT_TRUE(MfaEnabled(store(), u.id));

  // Codes keep being checked against the last step once confirmed.
  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.UseTotpStep(u.id, kStep)) << "the confirming code replayed";
    EXPECT_TRUE(tx.UseTotpStep(u.id, kStep + 1));
  });
}

TEST_P(StoreConformance, RecoveryCodeIsUsableOnceAndOnlyByItsUser) {
  User u = AddUser();
  User other = AddUser();
  InTx([&](WriteTx& tx) {
    tx.PutPendingTotp({u.id, RawSecret(8), false, 0, kT0});
    tx.PutPendingTotp({other.id, RawSecret(9), false, 0, kT0});
    tx.ConfirmTotp(u.id, {"shared", "mine"});
    tx.ConfirmTotp(other.id, {"shared", "theirs"});
  });
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 2);
  EXPECT_EQ(store().RecoveryCodesLeft(other.id), 2);

  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.UseRecoveryCode(u.id, "theirs", kT0 + 10)) << "another user's code";
    EXPECT_FALSE(tx.UseRecoveryCode(u.id, "unknown", kT0 + 10));
    EXPECT_FALSE(tx.UseRecoveryCode(u.id, "", kT0 + 10));
    EXPECT_TRUE(tx.UseRecoveryCode(u.id, "shared", kT0 + 11));
    EXPECT_FALSE(tx.UseRecoveryCode(u.id, "shared", kT0 + 12)) << "used twice in one transaction";
  });
  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.UseRecoveryCode(u.id, "shared", kT0 + 13)) << "used twice";
  });
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 1);
  // The same hash is a code of the other user too, still unused.
  EXPECT_EQ(store().RecoveryCodesLeft(other.id), 2);
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseRecoveryCode(other.id, "shared", kT0 + 14)); });
  EXPECT_EQ(store().RecoveryCodesLeft(other.id), 1);

  // A code used in a transaction that rolls back was not used.
  {
    auto tx = store().Begin();
    EXPECT_TRUE(tx->UseRecoveryCode(u.id, "mine", kT0 + 20));
  }
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 1);
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.UseRecoveryCode(u.id, "mine", kT0 + 21)); });
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 0);
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.UseRecoveryCode(u.id, "mine", kT0 + 22)); });

  // Using codes leaves the second factor on.
  EXPECT_TRUE(MfaEnabled(store(), u.id));
  EXPECT_TRUE(store().TotpOf(u.id)->confirmed);
  EXPECT_EQ(store().RecoveryCodesLeft(NewId("usr")), 0);
}

TEST_P(StoreConformance, DeleteTotpClearsTheSecretTheCodesAndTheFlag) {
  User u = AddUser();
  User other = AddUser();
  InTx([&](WriteTx& tx) {
    tx.PutPendingTotp({u.id, RawSecret(10), false, 0, kT0});
    tx.PutPendingTotp({other.id, RawSecret(11), false, 0, kT0});
    ASSERT_TRUE(tx.UseTotpStep(u.id, kStep));
    tx.ConfirmTotp(u.id, {"code-1", "code-2", "code-3"});
    tx.ConfirmTotp(other.id, {"code-1", "code-2", "code-3"});
  });
  ASSERT_TRUE(MfaEnabled(store(), u.id));

  InTx([&](WriteTx& tx) { tx.DeleteTotp(u.id); });
  EXPECT_FALSE(store().TotpOf(u.id).has_value());
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 0);
  EXPECT_FALSE(MfaEnabled(store(), u.id));
  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.UseRecoveryCode(u.id, "code-1", kT0 + 10)) << "a code outlived the secret";
    EXPECT_FALSE(tx.UseTotpStep(u.id, kStep + 10)) << "a step checked without a secret";
  });

  // The other user keeps theirs.
  auto theirs = store().TotpOf(other.id);
  ASSERT_TRUE(theirs.has_value());
  EXPECT_TRUE(theirs->confirmed);
  EXPECT_EQ(theirs->secret, RawSecret(11));
  EXPECT_EQ(store().RecoveryCodesLeft(other.id), 3);
  EXPECT_TRUE(MfaEnabled(store(), other.id));

  // Enrolling again starts from nothing: a pending secret, no codes carried over, steps anew.
  TotpState again{u.id, RawSecret(12), false, 0, kT0 + 500};
  InTx([&](WriteTx& tx) { tx.PutPendingTotp(again); });
  EXPECT_EQ(Fields(*store().TotpOf(u.id)), Fields(again));
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 0);
  EXPECT_FALSE(MfaEnabled(store(), u.id));

  // A pending enrolment is deleted the same way.
  InTx([&](WriteTx& tx) { tx.DeleteTotp(u.id); });
  EXPECT_FALSE(store().TotpOf(u.id).has_value());
  EXPECT_NO_THROW(InTx([&](WriteTx& tx) { tx.DeleteTotp(NewId("usr")); }));
}

// users.mfa_enabled is "written only through the MFA store methods" (core/model.h).
TEST_P(StoreConformance, MfaFlagIsWrittenOnlyByTheTwoFactorMethods) {
  User u = NewUser();
  u.mfa_enabled = true;
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertUser(u).ok()); });
  EXPECT_FALSE(MfaEnabled(store(), u.id)) << "InsertUser set the flag";

  User renamed = u;
  renamed.name = "Renamed";
  renamed.updated_at = kT0 + 50;
  InTx([&](WriteTx& tx) { tx.UpdateUser(renamed); });
  EXPECT_EQ(store().UserById(u.id)->name, "Renamed");
  EXPECT_FALSE(MfaEnabled(store(), u.id)) << "UpdateUser set the flag";

  InTx([&](WriteTx& tx) {
    tx.PutPendingTotp({u.id, RawSecret(13), false, 0, kT0});
    tx.ConfirmTotp(u.id, {});
  });
  EXPECT_TRUE(MfaEnabled(store(), u.id));
  EXPECT_EQ(store().RecoveryCodesLeft(u.id), 0);

  renamed.mfa_enabled = false;
  renamed.name = "Renamed again";
  renamed.updated_at = kT0 + 60;
  InTx([&](WriteTx& tx) { tx.UpdateUser(renamed); });
  EXPECT_EQ(store().UserById(u.id)->name, "Renamed again");
  EXPECT_TRUE(MfaEnabled(store(), u.id)) << "UpdateUser cleared the flag";
}

}  // namespace
}  // namespace gh::conformance
