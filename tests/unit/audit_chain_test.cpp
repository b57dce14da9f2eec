#include "core/audit_chain.h"

#include <gtest/gtest.h>

#include "service/audit.h"

namespace gh {

AuditEvent Sample() {
  AuditEvent e;
  e.id = "evt_1";
  e.workspace_id = "ws_1";
  e.occurred_at = 1700000000;
  e.action = "workspace.updated";
  e.actor_type = ActorType::kUser;
  e.actor_id = "usr_1";
  e.details_json = R"({"a":1})";
  e.prev_hash = "00";
  return e;
}

TEST(AuditChain, HashCoversEveryField) {
  std::string base = AuditEventHash(Sample());
  auto changed = [&](auto mutate) {
    AuditEvent e = Sample();
    mutate(e);
    return AuditEventHash(e) != base;
  };
  EXPECT_TRUE(changed([](AuditEvent& e) { e.action = "workspace.deleted"; }));
  EXPECT_TRUE(changed([](AuditEvent& e) { e.actor_id = "usr_2"; }));
  EXPECT_TRUE(changed([](AuditEvent& e) { e.actor_type = ActorType::kSystem; }));
  EXPECT_TRUE(changed([](AuditEvent& e) { e.details_json = R"({"a":2})"; }));
  EXPECT_TRUE(changed([](AuditEvent& e) { e.occurred_at += 1; }));
  EXPECT_TRUE(changed([](AuditEvent& e) { e.prev_hash = "01"; }));
  EXPECT_TRUE(changed([](AuditEvent& e) { e.ip = "203.0.113.1"; }));
  // The store's sequence number is not part of the event's content.
  EXPECT_FALSE(changed([](AuditEvent& e) { e.seq = 42; }));
}

// The canonical form is what stored hashes were computed over: it must not change, whatever
// the types of the fields in memory (the actor's type is an enum written by its name).
TEST(AuditChain, CanonicalFormAndHashAreStable) {
  EXPECT_EQ(AuditCanonicalForm(Sample()),
            "gatehouse-audit-v1;5:evt_1;4:ws_1;17:workspace.updated;4:user;5:usr_1;0:;0:;0:;0:;0:;"
            "0:;0:;0:;7:{\"a\":1};10:1700000000;");
  EXPECT_EQ(AuditEventHash(Sample()),
            "d0ea53f4c0e1473eb52bb83faf3feac00d44d890f960e4eba9d43db2a06a2ebb");
  AuditEvent by_key = Sample();
  by_key.actor_type = ActorType::kApiKey;
  EXPECT_NE(AuditCanonicalForm(by_key).find(";7:api_key;"), std::string::npos);
}

TEST(AuditChain, FieldBoundariesCannotBeShifted) {
  AuditEvent a = Sample(), b = Sample();
  a.actor_name = "ab";
  a.actor_email = "c";
  b.actor_name = "a";
  b.actor_email = "bc";
  EXPECT_NE(AuditEventHash(a), AuditEventHash(b));
}

TEST(AuditCursor, RoundTripsAndRejectsForgery) {
  std::string c = AuditLog::EncodeCursor(AuditKey{1767225600, 12345});
  auto key = AuditLog::DecodeCursor(c);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->occurred_at, 1767225600);
  EXPECT_EQ(key->seq, 12345);
  EXPECT_FALSE(AuditLog::DecodeCursor(""));
  EXPECT_FALSE(AuditLog::DecodeCursor("not a cursor"));
  EXPECT_FALSE(AuditLog::DecodeCursor("YTE6LTE"));  // "a1:-1"
  EXPECT_FALSE(AuditLog::DecodeCursor("YTI6MTo"));  // "a2:1:" (no seq)
  EXPECT_FALSE(AuditLog::DecodeCursor("YTI6LTE6Mg"));  // "a2:-1:2"
  EXPECT_FALSE(AuditLog::DecodeCursor(std::string(200, 'A')));
}

}  // namespace gh
