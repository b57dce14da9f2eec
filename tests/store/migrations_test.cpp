// The store conformance suite (see conformance.h). Opening a store and migrating its schema: fresh
// databases, up-to-date ones, and a schema newer than this binary.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "conformance.h"

namespace gh::conformance {
namespace {

TEST_P(StoreConformance, OpenStoreMigratesAFreshDatabase) {
  ScratchDatabase scratch;
  ASSERT_TRUE(scratch.ready());
  auto fresh = OpenStore(scratch.url());
  EXPECT_EQ(fresh->Backend(), GetParam());
  EXPECT_NO_THROW(fresh->Ping());
  EXPECT_GE(fresh->SchemaVersion(), 1);
  EXPECT_EQ(fresh->SchemaVersion(), store().SchemaVersion());

  User u = NewUser();
  {
    auto tx = fresh->Begin();
    ASSERT_TRUE(tx->InsertUser(u).ok());
    tx->Commit();
  }
  EXPECT_TRUE(fresh->UserById(u.id).has_value());
  EXPECT_FALSE(store().UserById(u.id).has_value()) << "the scratch database is not separate";
}

TEST_P(StoreConformance, MigrateStoreBringsAnEmptyDatabaseUpToDateOnce) {
  ScratchDatabase scratch;
  ASSERT_TRUE(scratch.ready());
  int latest = store().SchemaVersion();
  ASSERT_GE(latest, 1);
  EXPECT_EQ(MigrateStore(scratch.url()), std::make_pair(0, latest));
  EXPECT_EQ(MigrateStore(scratch.url()), std::make_pair(latest, latest));
  EXPECT_EQ(OpenStore(scratch.url())->SchemaVersion(), latest);
}

TEST_P(StoreConformance, MigratingAnUpToDateStoreIsANoOp) {
  int v = store().SchemaVersion();
  EXPECT_GE(v, 1);
  EXPECT_EQ(MigrateStore(url()), std::make_pair(v, v));
  EXPECT_EQ(MigrateStore(url()), std::make_pair(v, v));
  EXPECT_EQ(store().SchemaVersion(), v);
  EXPECT_NO_THROW(store().Ping());
}

TEST_P(StoreConformance, StoreWithANewerSchemaIsRefused) {
  ScratchDatabase scratch;
  ASSERT_TRUE(scratch.ready());
  OpenStore(scratch.url()).reset();
  ASSERT_TRUE(RawSql(scratch.url(),
                     "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"));

  auto expect_refused = [](const char* what, auto&& open) {
    SCOPED_TRACE(what);
    try {
      open();
      ADD_FAILURE() << what << " accepted a store at schema version 9999";
    } catch (const StoreError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("newer"), std::string::npos) << msg;
      EXPECT_NE(msg.find("9999"), std::string::npos) << msg;
    }
  };
  expect_refused("OpenStore", [&] { OpenStore(scratch.url()); });
  expect_refused("MigrateStore", [&] { MigrateStore(scratch.url()); });
}

}  // namespace
}  // namespace gh::conformance
