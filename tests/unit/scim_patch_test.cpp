#include <gtest/gtest.h>

#include <string>

#include "scim/error.h"
#include "scim/patch.h"

namespace gh::scim {
namespace {

Json User() {
  return Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "usr_1", "externalId": "ext-1", "userName": "ada@acme.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace"}, "displayName": "Ada Lovelace",
    "active": true,
    "emails": [{"value": "ada@acme.com", "type": "work", "primary": true}],
    "groups": [{"value": "grp_1", "display": "Eng"}],
    "meta": {"resourceType": "User"}
  })");
}

Json Group() {
  return Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "id": "grp_1", "displayName": "Engineering",
    "members": [{"value": "usr_1", "display": "Ada"}, {"value": "usr_2"}],
    "meta": {"resourceType": "Group"}
  })");
}

// Parses and applies `body` to `resource`; returns "" on success, else "<code>: <message>".
std::string Patch(Json& resource, const std::string& body, ResourceKind kind) {
  auto ops = ParsePatch(Json::parse(body), kind, 1000);
  if (!ops.ok()) return ops.error().code + ": " + ops.error().message;
  Status s = ApplyPatch(resource, ops.value(), kind);
  if (!s.ok()) return s.error().code + ": " + s.error().message;
  return "";
}

std::string PatchUser(Json& user, const std::string& ops_json) {
  return Patch(user,
               R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":)" +
                   ops_json + "}",
               ResourceKind::kUser);
}

std::string PatchGroup(Json& group, const std::string& ops_json) {
  return Patch(group,
               R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":)" +
                   ops_json + "}",
               ResourceKind::kGroup);
}

Json MemberValues(const Json& group) {
  Json out = Json::array();
  for (const auto& m : group.value("members", Json::array())) out.push_back(m["value"]);
  return out;
}

// ---- Okta ----

TEST(ScimPatch, OktaDeactivatesWithAPathlessReplace) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"replace","value":{"active":false}}])"), "");
  Json want = User();
  want["active"] = false;
  EXPECT_EQ(u, want);
}

TEST(ScimPatch, OktaRemovesAMemberByFilter) {
  Json g = Group();
  ASSERT_EQ(PatchGroup(g, R"([{"op":"remove","path":"members[value eq \"usr_1\"]"}])"), "");
  EXPECT_EQ(g["members"], Json::parse(R"([{"value":"usr_2"}])"));
  // Removing someone who is not there is no error.
  EXPECT_EQ(PatchGroup(g, R"([{"op":"remove","path":"members[value eq \"usr_9\"]"}])"), "");
  EXPECT_EQ(g["members"], Json::parse(R"([{"value":"usr_2"}])"));
}

TEST(ScimPatch, OktaAddsMembersWithoutDuplicates) {
  Json g = Group();
  ASSERT_EQ(PatchGroup(g, R"([{"op":"add","path":"members","value":[{"value":"usr_3","display":"x"},
                                {"value":"usr_1","display":"Ada again"}]}])"),
            "");
  EXPECT_EQ(g["members"], Json::parse(R"([{"value":"usr_1","display":"Ada"},{"value":"usr_2"},
                                          {"value":"usr_3","display":"x"}])"));
}

TEST(ScimPatch, OktaRenameIgnoresTheIdItSends) {
  Json g = Group();
  ASSERT_EQ(PatchGroup(g, R"([{"op":"replace","value":{"id":"grp_other","displayName":"New"}}])"),
            "");
  Json want = Group();
  want["displayName"] = "New";
  EXPECT_EQ(g, want);
}

TEST(ScimPatch, OktaEnterpriseExtensionAsANestedObject) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"replace","value":{
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Eng",
                                                                   "costCenter":"7"}}}])"),
            "");
  EXPECT_EQ(u[kEnterpriseUser], Json::parse(R"({"department":"Eng"})"));
  EXPECT_EQ(u["schemas"], Json::parse(R"(["urn:ietf:params:scim:schemas:core:2.0:User",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"])"));
}

// ---- Entra ID, default behaviour ----

TEST(ScimPatch, EntraSendsBooleansAsStrings) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"Replace","path":"active","value":"False"}])"), "");
  EXPECT_EQ(u["active"], false);
  ASSERT_EQ(PatchUser(u, R"([{"op":"Replace","path":"active","value":"TRUE"}])"), "");
  EXPECT_EQ(u["active"], true);
  EXPECT_EQ(PatchUser(u, R"([{"op":"Replace","path":"active","value":"yes"}])"),
            "invalidValue: The value given for active is not a valid boolean.");
  EXPECT_EQ(u["active"], true);
}

TEST(ScimPatch, EntraAddsMembersWithNullRef) {
  Json g = Group();
  ASSERT_EQ(
      PatchGroup(g, R"([{"op":"Add","path":"members","value":[{"value":"usr_3","$ref":null}]}])"),
      "");
  EXPECT_EQ(g["members"].back(), Json::parse(R"({"value":"usr_3"})"));
  EXPECT_EQ(g["members"].size(), 3u);
}

TEST(ScimPatch, EntraRemovesMembersByValueList) {
  Json g = Group();
  ASSERT_EQ(PatchGroup(g, R"([{"op":"Remove","path":"members","value":[{"value":"usr_2"}]}])"), "");
  EXPECT_EQ(MemberValues(g), Json::parse(R"(["usr_1"])"));
  ASSERT_EQ(PatchGroup(g, R"([{"op":"Remove","path":"members","value":[{"value":"usr_1"}]}])"), "");
  EXPECT_FALSE(g.contains("members"));
}

TEST(ScimPatch, RemovingMembersWithoutValueRemovesAll) {
  Json g = Group();
  ASSERT_EQ(PatchGroup(g, R"([{"op":"remove","path":"members"}])"), "");
  EXPECT_FALSE(g.contains("members"));
}

TEST(ScimPatch, EntraReplacesTheWorkEmailThroughAFilterPath) {
  Json u = User();
  ASSERT_EQ(
      PatchUser(u, R"([{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y"}])"),
      "");
  EXPECT_EQ(u["emails"], Json::parse(R"([{"value":"x@y","type":"work","primary":true}])"));
  // No home email yet: an eq filter creates the element.
  ASSERT_EQ(PatchUser(u, R"([{"op":"Add","path":"emails[type eq \"home\"].value","value":"h@y"}])"),
            "");
  EXPECT_EQ(u["emails"], Json::parse(R"([{"value":"x@y","type":"work","primary":true},
                                         {"value":"h@y","type":"home"}])"));
  // A filter that cannot describe a new element has no target.
  EXPECT_EQ(
      PatchUser(u, R"([{"op":"Replace","path":"emails[value co \"zzz\"].type","value":"a"}])"),
      "noTarget: No emails value matches the path's filter.");
}

TEST(ScimPatch, EntraAddsASubAttribute) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"Add","path":"name.givenName","value":"A"}])"), "");
  EXPECT_EQ(u["name"], Json::parse(R"({"givenName":"A","familyName":"Lovelace"})"));
  u.erase("name");
  ASSERT_EQ(PatchUser(u, R"([{"op":"Add","path":"NAME.GIVENNAME","value":"B"}])"), "");
  EXPECT_EQ(u["name"], Json::parse(R"({"givenName":"B"})"));
}

TEST(ScimPatch, EntraReplacesAnExtensionAttributeByUrnPath) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"Replace",
      "path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Eng"}])"),
            "");
  EXPECT_EQ(u[kEnterpriseUser], Json::parse(R"({"department":"Eng"})"));
  ASSERT_EQ(PatchUser(u, R"([{"op":"Add",
      "path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"usr_9"}])"),
            "");
  EXPECT_EQ(u[kEnterpriseUser], Json::parse(R"({"department":"Eng","manager":{"value":"usr_9"}})"));
  ASSERT_EQ(PatchUser(u, R"([{"op":"Remove",
      "path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
      {"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}])"),
            "");
  EXPECT_FALSE(u.contains(kEnterpriseUser));
}

TEST(ScimPatch, EntraAttributesGatehouseDoesNotHaveAreIgnored) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([
      {"op":"Add","path":"title","value":"CEO"},
      {"op":"Add","path":"phoneNumbers[type eq \"work\"].value","value":"+1 555"},
      {"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Paris"},
      {"op":"Add","path":"urn:example:custom:2.0:User:costCenter","value":"7"},
      {"op":"Replace","value":{"nickName":"A","urn:example:custom:2.0:User:x":"y"}}])"),
            "");
  EXPECT_EQ(u, User());
}

// ---- Entra ID with aadOptscim062020 ----

TEST(ScimPatch, EntraFlaggedPathlessReplaceWithDottedAndUrnKeys) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"replace","value":{"name.givenName":"A",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Eng",
      "active":false}}])"),
            "");
  EXPECT_EQ(u["name"], Json::parse(R"({"givenName":"A","familyName":"Lovelace"})"));
  EXPECT_EQ(u[kEnterpriseUser], Json::parse(R"({"department":"Eng"})"));
  EXPECT_EQ(u["active"], false);
}

TEST(ScimPatch, EntraFlaggedPathlessReplaceWithAFilterKey) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"replace","value":{"emails[type eq \"work\"].value":"w@y"}}])"),
            "");
  EXPECT_EQ(u["emails"], Json::parse(R"([{"value":"w@y","type":"work","primary":true}])"));
}

TEST(ScimPatch, EntraFlaggedRemovesAMemberByFilter) {
  Json g = Group();
  ASSERT_EQ(PatchGroup(g, R"([{"op":"remove","path":"members[value eq \"usr_2\"]"},
                              {"op":"add","path":"members","value":[{"value":"usr_4"}]}])"),
            "");
  EXPECT_EQ(MemberValues(g), Json::parse(R"(["usr_1","usr_4"])"));
}

// ---- RFC semantics and refusals ----

TEST(ScimPatch, ReadOnlyAttributesAreIgnored) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"replace","path":"id","value":"usr_x"},
      {"op":"add","path":"groups","value":[{"value":"grp_9"}]},
      {"op":"remove","path":"groups[value eq \"grp_1\"]"},
      {"op":"replace","path":"meta.resourceType","value":"Group"},
      {"op":"replace","path":"password","value":"hunter2"}])"),
            "");
  EXPECT_EQ(u, User());
}

TEST(ScimPatch, RemovingARequiredAttributeIsRefusedAndChangesNothing) {
  Json u = User();
  EXPECT_EQ(PatchUser(u, R"([{"op":"replace","path":"displayName","value":"X"},
                             {"op":"remove","path":"userName"}])"),
            "invalidValue: userName is required and cannot be removed.");
  EXPECT_EQ(u, User());
  EXPECT_EQ(PatchUser(u, R"([{"op":"replace","path":"userName","value":""}])"),
            "invalidValue: userName is required and must not be empty.");
  Json g = Group();
  EXPECT_EQ(PatchGroup(g, R"([{"op":"replace","value":{"displayName":null}}])"),
            "invalidValue: displayName is required and cannot be removed.");
  EXPECT_EQ(g, Group());
}

TEST(ScimPatch, ComplexAttributesMergeOnAddAndReplace) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"replace","path":"name","value":{"formatted":"Ada L"}}])"), "");
  EXPECT_EQ(u["name"],
            Json::parse(R"({"givenName":"Ada","familyName":"Lovelace","formatted":"Ada L"})"));
}

TEST(ScimPatch, ReplacingAMultiValuedAttributeReplacesTheList) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"replace","path":"emails",
      "value":[{"value":"n@acme.com","type":"work","primary":"True","display":"dropped"}]}])"),
            "");
  EXPECT_EQ(u["emails"], Json::parse(R"([{"value":"n@acme.com","type":"work","primary":true}])"));
}

TEST(ScimPatch, EmailsAreDeduplicatedCaseInsensitively) {
  Json u = User();
  ASSERT_EQ(PatchUser(u, R"([{"op":"add","path":"emails","value":[{"value":"ADA@acme.com"}]}])"),
            "");
  EXPECT_EQ(u["emails"].size(), 1u);
}

TEST(ScimPatch, ParseErrors) {
  auto err = [](const std::string& body, int max = 10) {
    auto ops = ParsePatch(Json::parse(body), ResourceKind::kGroup, max);
    return ops.ok() ? std::string("ok") : ops.error().code + " " + ops.error().field;
  };
  EXPECT_EQ(err("[]"), "invalidSyntax ");
  EXPECT_EQ(err(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "Operations":[{"op":"remove","path":"members"}]})"),
            "invalidSyntax schemas");
  EXPECT_EQ(err(R"({"Operations":[{"op":"remove","path":"members"}]})"), "ok");
  EXPECT_EQ(err(R"({"operations":[{"op":"REMOVE","path":"members"}]})"), "ok");
  EXPECT_EQ(err(R"({"Operations":{}})"), "invalidSyntax Operations");
  EXPECT_EQ(err(R"({"Operations":[]})"), "invalidSyntax Operations");
  EXPECT_EQ(err(R"({"Operations":[{"op":"move","path":"members"}]})"),
            "invalidSyntax Operations[0].op");
  EXPECT_EQ(err(R"({"Operations":[{"op":"remove","path":"members"},{"path":"members"}]})"),
            "invalidSyntax Operations[1].op");
  EXPECT_EQ(err(R"({"Operations":[{"op":"remove","path":"members[value eq \"x\""}]})"),
            "invalidPath Operations[0].path");
  EXPECT_EQ(err(R"({"Operations":[{"op":"remove","path":"members[value eq]"}]})"),
            "invalidPath Operations[0].path");
  EXPECT_EQ(err(R"({"Operations":[{"op":"remove","path":"members[bogus eq \"x\"]"}]})"),
            "invalidPath Operations[0].path");
  EXPECT_EQ(err(R"({"Operations":[{"op":"remove","path":"displayName[value eq \"x\"]"}]})"),
            "invalidPath Operations[0].path");
  EXPECT_EQ(err(R"({"Operations":[{"op":"remove","path":"members]x"}]})"),
            "invalidPath Operations[0].path");
  EXPECT_EQ(err(R"({"Operations":[{"op":"remove","path":"members[value eq \"x\"]foo"}]})"),
            "invalidPath Operations[0].path");
  EXPECT_EQ(err(R"({"Operations":[{"op":"remove"}]})"), "noTarget Operations[0].path");
  // A name in neither the schema nor RFC 7643 is a client's mistake; an extension Gatehouse
  // does not keep is not.
  EXPECT_EQ(err(R"({"Operations":[{"op":"replace","path":"notAnAttribute","value":"x"}]})"),
            "invalidPath Operations[0].path");
  EXPECT_EQ(err(R"({"Operations":[{"op":"replace","path":"urn:example:ext:1.0:Group:x","value":"x"}]})"),
            "ok");
  EXPECT_EQ(err(R"({"Operations":[{"op":"add","path":"members"}]})"),
            "invalidValue Operations[0].value");
  EXPECT_EQ(err(R"({"Operations":[{"op":"replace","value":"x"}]})"),
            "invalidValue Operations[0].value");
  EXPECT_EQ(
      err(R"({"Operations":[{"op":"remove","path":"members"},{"op":"remove","path":"members"}]})",
          1),
      "tooMany Operations");
}

TEST(ScimPatch, ParsedPathsUseTheSchemaCasing) {
  auto ops = ParsePatch(Json::parse(R"({"Operations":[
      {"op":"replace","path":"EMAILS[TYPE EQ \"work\"].VALUE","value":"a@b.co"}]})"),
                        ResourceKind::kUser, 10);
  ASSERT_TRUE(ops.ok());
  ASSERT_EQ(ops->size(), 1u);
  const PatchOp& op = ops->front();
  EXPECT_EQ(op.op, PatchOpKind::kReplace);
  ASSERT_TRUE(op.path);
  EXPECT_EQ(op.path->attr, (AttrPath{"", "emails", ""}));
  EXPECT_EQ(op.path->sub_after_filter, "value");
  ASSERT_TRUE(op.path->value_filter);
  EXPECT_EQ(op.path->value_filter->attr, (AttrPath{"", "emails", "type"}));
  EXPECT_TRUE(MatchesElement(*op.path->value_filter, Json{{"type", "Work"}}));
}

// ---- sizes ----

TEST(ScimPatch, AddsAThousandMembersInOneOperation) {
  Json g = Group();
  Json members = Json::array();
  for (int i = 0; i < 1000; ++i) members.push_back({{"value", "usr_n" + std::to_string(i)}});
  Json body = {{"schemas", {kPatchOp}},
               {"Operations", {{{"op", "add"}, {"path", "members"}, {"value", members}}}}};
  auto ops = ParsePatch(body, ResourceKind::kGroup, 10);
  ASSERT_TRUE(ops.ok());
  ASSERT_TRUE(ApplyPatch(g, *ops, ResourceKind::kGroup).ok());
  ASSERT_EQ(g["members"].size(), 1002u);
  EXPECT_EQ(g["members"][2]["value"], "usr_n0");
  EXPECT_EQ(g["members"][1001]["value"], "usr_n999");
}

TEST(ScimPatch, RemovesAThousandOfTenThousandMembers) {
  Json members = Json::array();
  for (int i = 0; i < 10000; ++i) members.push_back({{"value", "usr_" + std::to_string(i)}});
  Json g = {{"id", "grp_1"}, {"displayName", "Big"}, {"members", members}};
  // Okta: one filter op per member; Entra: one op with a value list.
  Json okta = Json::array(), listed = Json::array();
  for (int i = 0; i < 10000; i += 20) {
    okta.push_back(
        {{"op", "remove"}, {"path", "members[value eq \"usr_" + std::to_string(i) + "\"]"}});
    listed.push_back({{"value", "usr_" + std::to_string(i + 10)}});
  }
  Json entra = {{{"op", "Remove"}, {"path", "members"}, {"value", listed}}};
  auto ops = ParsePatch({{"Operations", okta}}, ResourceKind::kGroup, 1000);
  ASSERT_TRUE(ops.ok());
  ASSERT_EQ(ops->size(), 500u);
  ASSERT_TRUE(ApplyPatch(g, *ops, ResourceKind::kGroup).ok());
  ops = ParsePatch({{"Operations", entra}}, ResourceKind::kGroup, 1000);
  ASSERT_TRUE(ops.ok());
  ASSERT_TRUE(ApplyPatch(g, *ops, ResourceKind::kGroup).ok());
  ASSERT_EQ(g["members"].size(), 9000u);
  EXPECT_EQ(g["members"][0]["value"], "usr_1");
  EXPECT_EQ(g["members"][8]["value"], "usr_9");
  EXPECT_EQ(g["members"][9]["value"], "usr_11");
}

}  // namespace
}  // namespace gh::scim
