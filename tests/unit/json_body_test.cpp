#include "http/json_body.h"

#include <gtest/gtest.h>

#include <string>

namespace gh::http {
namespace {

Result<Json> Parse(std::string body) {
  Request req;
  req.method = "POST";
  req.headers.emplace_back("content-type", "application/json");
  req.body = std::move(body);
  return ParseObject(req, {"name", "target", "entries", "details"});
}

void ExpectDuplicate(const std::string& body, const std::string& field) {
  auto r = Parse(body);
  ASSERT_FALSE(r.ok()) << body;
  EXPECT_EQ(r.error().code, "duplicate_key") << body;
  EXPECT_EQ(r.error().kind, ErrorKind::kBadRequest) << body;
  EXPECT_EQ(r.error().field, field) << body;
}

TEST(JsonBody, RepeatedKeysAreRefusedWithTheirPath) {
  ExpectDuplicate(R"({"name":"a","name":"b"})", "name");
  ExpectDuplicate(R"({"name":"a","n\u0061me":"b"})", "name");  // the same key, escaped
  ExpectDuplicate(R"({"target":{"type":"a","id":"1","type":"b"}})", "target.type");
  ExpectDuplicate(R"({"entries":[{"cidr":"x"},{"label":"a","label":"b"}]})", "entries[1].label");
  ExpectDuplicate(R"({"details":{"a":[[1],[2,{"k":1,"k":2}]]}})", "details.a[1][1].k");
  // The first repeat is reported, even when the body repeats more.
  ExpectDuplicate(R"({"name":"a","target":{"x":1,"x":2},"name":"b"})", "target.x");
}

TEST(JsonBody, EqualKeysInDifferentObjectsAreFine) {
  auto r = Parse(R"({"name":"n","target":{"name":"n","type":"t"},)"
                 R"("entries":[{"name":1},{"name":2}],"details":{"a":{"name":1},"b":{"name":2}}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["entries"][1]["name"], 2);
}

TEST(JsonBody, MalformedJsonIsStillMalformedFirst) {
  auto r = Parse(R"({"name":"a","name":)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "malformed_json");
}

}  // namespace
}  // namespace gh::http
