// The store conformance suite (see conformance.h). Projects: names unique within a workspace.
#include <gtest/gtest.h>

#include <optional>
#include <string>
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

}  // namespace
}  // namespace gh::conformance
