#include <gtest/gtest.h>

#include <string>

#include "scim/error.h"
#include "scim/project.h"

namespace gh::scim {
namespace {

Json User() {
  return Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "id": "usr_1", "externalId": "ext-1", "userName": "ada@acme.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace"}, "displayName": "Ada Lovelace",
    "active": true, "password": "never shown",
    "emails": [{"value": "ada@acme.com", "type": "work", "primary": true}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng",
                                                                    "employeeNumber": "42"},
    "meta": {"resourceType": "User", "version": "W/\"3\""}
  })");
}

Json Group() {
  return Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "grp_1",
    "displayName": "Engineering", "members": [{"value": "usr_1", "display": "Ada"}],
    "meta": {"resourceType": "Group"}
  })");
}

TEST(ScimProject, SplitsAttributeLists) {
  EXPECT_EQ(SplitAttributeList(" userName, name.givenName,,emails "),
            (std::vector<std::string>{"userName", "name.givenName", "emails"}));
  EXPECT_EQ(SplitAttributeList(""), std::vector<std::string>{});
}

TEST(ScimProject, DefaultDropsNeverReturnedAttributes) {
  Json want = User();
  want.erase("password");
  EXPECT_EQ(Project(User(), ResourceKind::kUser, {}, {}), want);
}

TEST(ScimProject, EntraExcludesMembers) {
  Json want = Group();
  want.erase("members");
  EXPECT_EQ(Project(Group(), ResourceKind::kGroup, {}, SplitAttributeList("members")), want);
}

TEST(ScimProject, AttributesKeepOnlyThoseWithIdAndSchemas) {
  Json got = Project(User(), ResourceKind::kUser,
                     SplitAttributeList("USERNAME,name.givenName,emails.value"), {});
  EXPECT_EQ(got, Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "id": "usr_1", "userName": "ada@acme.com", "name": {"givenName": "Ada"},
    "emails": [{"value": "ada@acme.com"}]})"));
}

TEST(ScimProject, UrnPrefixedAndWholeExtensionNames) {
  Json got =
      Project(User(), ResourceKind::kUser,
              {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
               "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "password", "nosuch"},
              {});
  EXPECT_EQ(got, Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "id": "usr_1", "displayName": "Ada Lovelace",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng"}})"));
  got = Project(User(), ResourceKind::kUser, {kEnterpriseUser}, {});
  EXPECT_EQ(got[kEnterpriseUser], Json::parse(R"({"department": "Eng", "employeeNumber": "42"})"));
}

TEST(ScimProject, ExcludedNeverRemovesIdOrSchemas) {
  Json got = Project(Group(), ResourceKind::kGroup, {}, {"id", "schemas", "meta", "displayName"});
  EXPECT_EQ(got, Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "grp_1",
    "members": [{"value": "usr_1", "display": "Ada"}]})"));
}

TEST(ScimProject, ExcludedSubAttributesAndExtensions) {
  Json got = Project(User(), ResourceKind::kUser, {},
                     {"name.familyName", "emails.primary", "emails.type",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"});
  EXPECT_EQ(got["name"], Json::parse(R"({"givenName": "Ada"})"));
  EXPECT_EQ(got["emails"], Json::parse(R"([{"value": "ada@acme.com"}])"));
  EXPECT_FALSE(got.contains(kEnterpriseUser));
  EXPECT_FALSE(got.contains("password"));
}

TEST(ScimEnvelopes, ErrorBodyAndListResponse) {
  EXPECT_EQ(ErrorBody(409, "uniqueness", "userName is taken"), Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409",
    "scimType": "uniqueness", "detail": "userName is taken"})"));
  EXPECT_EQ(ErrorBody(404, "", "No such user"), Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404",
    "detail": "No such user"})"));
  EXPECT_EQ(ListResponse({Json{{"id", "a"}}}, 7, 3), Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 7,
    "startIndex": 3, "itemsPerPage": 1, "Resources": [{"id": "a"}]})"));
}

TEST(ScimDiscovery, DocumentsDescribeWhatIsServed) {
  Json spc = ServiceProviderConfig("https://gh.example/scim/v2/ws_1", 200, 1000);
  EXPECT_EQ(spc["patch"], Json::parse(R"({"supported": true})"));
  EXPECT_EQ(spc["bulk"]["supported"], false);
  EXPECT_EQ(spc["filter"], Json::parse(R"({"supported": true, "maxResults": 200})"));
  EXPECT_EQ(spc["changePassword"]["supported"], false);
  EXPECT_EQ(spc["sort"]["supported"], false);
  EXPECT_EQ(spc["etag"]["supported"], true);
  EXPECT_EQ(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
  EXPECT_EQ(spc["meta"]["location"], "https://gh.example/scim/v2/ws_1/ServiceProviderConfig");

  Json types = ResourceTypesDocument("https://gh.example/scim/v2/ws_1");
  ASSERT_EQ(types["Resources"].size(), 2u);
  EXPECT_EQ(types["Resources"][0]["endpoint"], "/Users");
  EXPECT_EQ(types["Resources"][0]["schemaExtensions"][0]["schema"], kEnterpriseUser);
  EXPECT_EQ(types["Resources"][1]["schema"], kGroupSchema);

  Json schemas = SchemasDocument();
  ASSERT_EQ(schemas["totalResults"], 3);
  const Json& user = schemas["Resources"][0];
  EXPECT_EQ(user["id"], kUserSchema);
  const Json& user_name = user["attributes"][2];
  EXPECT_EQ(user_name, Json::parse(R"({"name": "userName", "type": "string",
    "multiValued": false, "description": "The user's email address, unique in the workspace.",
    "required": true, "caseExact": false, "mutability": "readWrite", "returned": "default",
    "uniqueness": "server"})"));
  EXPECT_EQ(user["attributes"][8]["name"], "password");
  EXPECT_EQ(user["attributes"][8]["returned"], "never");
  EXPECT_EQ(schemas["Resources"][2]["id"], kEnterpriseUser);
}

TEST(ScimSchema, CoerceBool) {
  EXPECT_EQ(CoerceBool(Json(true)), true);
  EXPECT_EQ(CoerceBool(Json("False")), false);
  EXPECT_EQ(CoerceBool(Json("tRUE")), true);
  EXPECT_EQ(CoerceBool(Json("no")), std::nullopt);
  EXPECT_EQ(CoerceBool(Json(1)), std::nullopt);
}

}  // namespace
}  // namespace gh::scim
