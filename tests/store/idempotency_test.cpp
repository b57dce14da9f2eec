// The store conformance suite (see conformance.h). Idempotency keys: a response saved once per
// scope and key, and purged oldest first.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "conformance.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, IdempotentResponseIsSavedOnceAndFound) {
  std::string scope = NewId("usr");
  std::string key = NewId("idem");
  EXPECT_FALSE(store().FindIdempotentResponse(scope, key).has_value());

  IdempotentResponse first{"POST /v1/workspaces sha256:abc", 201, "application/json",
                           R"({"id":"ws_1","name":"Zürich \"HQ\""})", kT0};
  InTx([&](WriteTx& tx) { tx.SaveIdempotentResponse(scope, key, first); });
  auto got = store().FindIdempotentResponse(scope, key);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(first));

  IdempotentResponse second{"POST /v1/workspaces sha256:def", 409, "application/problem+json", "{}",
                            kT0 + 5};
  EXPECT_NO_THROW(InTx([&](WriteTx& tx) { tx.SaveIdempotentResponse(scope, key, second); }));
  got = store().FindIdempotentResponse(scope, key);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(first)) << "the second save overwrote the first response";

  // Keys are per scope.
  std::string other_scope = NewId("usr");
  EXPECT_FALSE(store().FindIdempotentResponse(other_scope, key).has_value());
  InTx([&](WriteTx& tx) { tx.SaveIdempotentResponse(other_scope, key, second); });
  EXPECT_EQ(Fields(*store().FindIdempotentResponse(other_scope, key)), Fields(second));
  EXPECT_EQ(Fields(*store().FindIdempotentResponse(scope, key)), Fields(first));
}

TEST_P(StoreConformance, IdempotentResponsesArePurgedOldestFirstInBatches) {
  // Far older than any other test's rows (kT0), so that only these are before the cutoffs.
  std::string scope = NewId("usr");
  for (UnixTime at : {UnixTime{1000}, UnixTime{1001}, UnixTime{1002}}) {
    InTx([&](WriteTx& tx) {
      tx.SaveIdempotentResponse(
          scope, "k" + std::to_string(at),
          IdempotentResponse{"h", at == 1002 ? 0 : 201, "text/plain", "b", at});
    });
  }
  int64_t n = 0;
  InTx([&](WriteTx& tx) { n = tx.PurgeIdempotentResponses(1002, 1); });
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(store().FindIdempotentResponse(scope, "k1000").has_value());  // oldest first
  EXPECT_TRUE(store().FindIdempotentResponse(scope, "k1001").has_value());
  InTx([&](WriteTx& tx) { n = tx.PurgeIdempotentResponses(1002, 10); });
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(store().FindIdempotentResponse(scope, "k1001").has_value());
  // Created at the cutoff: kept (a reservation, status 0, like any other).
  EXPECT_TRUE(store().FindIdempotentResponse(scope, "k1002").has_value());
  InTx([&](WriteTx& tx) { n = tx.PurgeIdempotentResponses(1003, 10); });
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(store().FindIdempotentResponse(scope, "k1002").has_value());
}

}  // namespace
}  // namespace gh::conformance
