#include <gtest/gtest.h>

#include <string>

#include "scim/error.h"
#include "scim/filter.h"

namespace gh::scim {
namespace {

Json Ada() {
  return Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "id": "usr_01ABC", "externalId": "00u1Okta", "userName": "Ada@Acme.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace"}, "displayName": "Ada Lovelace",
    "active": true,
    "emails": [{"value": "ada@acme.com", "type": "work", "primary": true},
               {"value": "ada@home.example", "type": "home"}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering",
                                                                    "manager": {"value": "usr_02"}},
    "meta": {"resourceType": "User", "lastModified": "2025-03-01T10:00:00Z"}
  })");
}

std::shared_ptr<const Filter> Parse(std::string_view text,
                                    ResourceKind kind = ResourceKind::kUser) {
  auto f = ParseFilter(text, kind);
  EXPECT_TRUE(f.ok()) << text << ": " << (f.ok() ? "" : f.error().message);
  return f.ok() ? f.value() : nullptr;
}

bool UserMatches(std::string_view text) {
  auto f = Parse(text);
  return f && Matches(*f, Ada(), ResourceKind::kUser);
}

std::string FilterError(std::string_view text, ResourceKind kind = ResourceKind::kUser) {
  auto f = ParseFilter(text, kind);
  if (f.ok()) return "parsed";
  EXPECT_EQ(f.error().kind, ErrorKind::kBadRequest);
  EXPECT_EQ(f.error().code, "invalidFilter");
  EXPECT_EQ(f.error().field, "filter");
  return f.error().message;
}

TEST(ScimFilter, OktaUserNameEqualityIsCaseInsensitive) {
  auto f = Parse(R"(userName eq "ada@acme.com")");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->op, FilterOp::kEq);
  EXPECT_EQ(f->attr, (AttrPath{"", "userName", ""}));
  EXPECT_EQ(f->value, "ada@acme.com");
  EXPECT_TRUE(Matches(*f, Ada(), ResourceKind::kUser));
  EXPECT_FALSE(UserMatches(R"(userName eq "a@b.co")"));
}

TEST(ScimFilter, AttributeNamesAndOperatorsAreCaseInsensitiveAndMayCarryTheUrn) {
  auto f = Parse(R"(USERNAME EQ "ADA@ACME.COM")");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->attr.attr, "userName");
  EXPECT_TRUE(
      UserMatches(R"(urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada@acme.com")"));
  EXPECT_TRUE(UserMatches(
      R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engineering")"));
  EXPECT_TRUE(UserMatches(
      R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "usr_02")"));
  auto ext = Parse(R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:Department pr)");
  ASSERT_TRUE(ext);
  EXPECT_EQ(ext->attr, (AttrPath{kEnterpriseUser, "department", ""}));
}

TEST(ScimFilter, IdAndExternalIdAreCaseExact) {
  EXPECT_TRUE(UserMatches(R"(externalId eq "00u1Okta")"));
  EXPECT_FALSE(UserMatches(R"(externalId eq "00U1OKTA")"));
  EXPECT_TRUE(UserMatches(R"(id eq "usr_01ABC")"));
  EXPECT_FALSE(UserMatches(R"(id eq "usr_01abc")"));
  EXPECT_TRUE(UserMatches(R"(displayName eq "ada lovelace")"));
}

TEST(ScimFilter, EntraConjunctionOfExternalIdAndUserName) {
  EXPECT_TRUE(UserMatches(R"(externalId eq "00u1Okta" and userName eq "ada@acme.com")"));
  EXPECT_FALSE(UserMatches(R"(externalId eq "00u1Okta" and userName eq "bob@acme.com")"));
  auto f = Parse(R"(externalId eq "x" and userName eq "y")");
  ASSERT_TRUE(f);
  auto eq = IndexableEquality(*f);
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->attr, "userName");  // preferred over the first conjunct
  EXPECT_EQ(eq->value, "y");
  EXPECT_FALSE(eq->case_exact);
}

TEST(ScimFilter, IndexableEqualityTakesTheFirstUsableConjunct) {
  auto eq =
      IndexableEquality(*Parse(R"(active eq true and externalId eq "x" and displayName eq "d")"));
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->attr, "externalId");
  EXPECT_EQ(eq->value, "x");
  EXPECT_TRUE(eq->case_exact);
  eq = IndexableEquality(*Parse(R"(emails.value eq "a@b.co")"));
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->attr, "emails.value");
  eq = IndexableEquality(*Parse(R"(emails[type eq "work" and value eq "a@b.co"])"));
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->attr, "emails.value");
  EXPECT_EQ(eq->value, "a@b.co");
  eq = IndexableEquality(*Parse(R"(displayName eq "Admins")", ResourceKind::kGroup));
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->attr, "displayName");
  EXPECT_FALSE(IndexableEquality(*Parse(R"(userName eq "a" or externalId eq "b")")));
  EXPECT_FALSE(IndexableEquality(*Parse(R"(not (userName eq "a"))")));
  EXPECT_FALSE(IndexableEquality(*Parse(R"(userName sw "a")")));
}

TEST(ScimFilter, MultiValuedAttributesMatchWhenAnyElementDoes) {
  EXPECT_TRUE(UserMatches(R"(emails.value eq "ADA@home.example")"));
  EXPECT_TRUE(UserMatches(R"(emails eq "ada@home.example")"));  // the elements' value
  EXPECT_TRUE(UserMatches(R"(emails[type eq "work"])"));
  EXPECT_TRUE(UserMatches(R"(emails[type eq "work" and value co "@acme"])"));
  EXPECT_FALSE(UserMatches(R"(emails[type eq "home" and value co "@acme"])"));
  EXPECT_TRUE(UserMatches(R"(emails[primary eq true])"));
  EXPECT_FALSE(UserMatches(R"(emails[type eq "other"])"));
}

TEST(ScimFilter, OperatorsFollowRfc7644) {
  EXPECT_TRUE(UserMatches(R"(userName sw "ADA@")"));
  EXPECT_TRUE(UserMatches(R"(userName ew ".com")"));
  EXPECT_TRUE(UserMatches(R"(userName co "acme")"));
  EXPECT_TRUE(UserMatches(R"(userName ne "bob@acme.com")"));
  EXPECT_FALSE(UserMatches(R"(userName ne "ada@acme.com")"));
  EXPECT_TRUE(UserMatches(R"(meta.lastModified gt "2025-01-01T00:00:00Z")"));
  EXPECT_FALSE(UserMatches(R"(meta.lastModified lt "2025-01-01T00:00:00Z")"));
  EXPECT_TRUE(UserMatches(R"(name.familyName pr)"));
  EXPECT_FALSE(UserMatches(R"(name.formatted pr)"));
  EXPECT_TRUE(UserMatches(R"(active eq true)"));
  EXPECT_TRUE(UserMatches(R"(active eq TRUE)"));
  EXPECT_FALSE(UserMatches(R"(active eq false)"));
  EXPECT_TRUE(UserMatches(R"(name.formatted eq null)"));
  EXPECT_TRUE(UserMatches(R"(not (active eq false))"));
  EXPECT_TRUE(UserMatches(R"(userName eq "x" or (active eq true and name.givenName eq "ADA"))"));
}

TEST(ScimFilter, AndBindsTighterThanOr) {
  // a or (b and c), with a true and b false: true. (a or b) and c with c false: false.
  EXPECT_TRUE(UserMatches(R"(active eq true or userName eq "x" and userName eq "y")"));
  EXPECT_FALSE(UserMatches(R"((active eq true or userName eq "x") and userName eq "y")"));
}

TEST(ScimFilter, StringLiteralsAreJsonStrings) {
  Json r = Ada();
  r["displayName"] = "Ada \"the Countess\" L\u00f6velace";
  auto f = Parse(R"(displayName eq "Ada \"the Countess\" L\u00f6velace")");
  ASSERT_TRUE(f);
  EXPECT_TRUE(Matches(*f, r, ResourceKind::kUser));
  EXPECT_NE(FilterError(R"(displayName eq "bad \q escape")"), "parsed");
}

TEST(ScimFilter, GroupFilters) {
  Json g = {{"id", "grp_1"},
            {"displayName", "Engineering"},
            {"members", {{{"value", "usr_1"}}, {{"value", "usr_2"}}}}};
  auto f = Parse(R"(displayName eq "engineering")", ResourceKind::kGroup);
  ASSERT_TRUE(f);
  EXPECT_TRUE(Matches(*f, g, ResourceKind::kGroup));
  f = Parse(R"(members[value eq "usr_2"])", ResourceKind::kGroup);
  ASSERT_TRUE(f);
  EXPECT_TRUE(Matches(*f, g, ResourceKind::kGroup));
  EXPECT_EQ(FilterError(R"(userName eq "x")", ResourceKind::kGroup),
            "The filter names an unknown attribute \"userName\" at offset 0.");
}

TEST(ScimFilter, MalformedFiltersAreInvalidFilter) {
  EXPECT_EQ(FilterError(R"(userName eq "ada@acme.com)"),
            "The filter has an unterminated string starting at offset 12.");
  EXPECT_EQ(FilterError(R"((userName eq "a")"),
            "The filter has an unbalanced \"(\" at offset 0 (found the end of the filter).");
  EXPECT_EQ(FilterError(R"(userName eq "a")"), "parsed");
  EXPECT_EQ(FilterError(R"(userName eq "a"))"), "The filter has an unexpected \")\" at offset 15.");
  EXPECT_EQ(FilterError(R"(emails[type eq "work")"),
            "The filter has an unbalanced \"[\" at offset 6 (found the end of the filter).");
  EXPECT_EQ(FilterError(R"(userName like "a")"),
            "The filter has an unknown operator \"like\" at offset 9.");
  EXPECT_EQ(FilterError(R"(title eq "CEO")"),
            "The filter names an unknown attribute \"title\" at offset 0.");
  EXPECT_EQ(FilterError(R"(urn:example:custom:2.0:User:costCenter eq "1")"),
            "The filter names an unknown attribute \"urn:example:custom:2.0:User:costCenter\" at "
            "offset 0.");
  EXPECT_EQ(FilterError(R"(emails[bogus eq "x"])"),
            "The filter names an unknown attribute \"bogus\" at offset 7 of emails.");
  EXPECT_EQ(FilterError(R"(userName eq)"),
            "The filter expects a value, found the end of the filter.");
  EXPECT_EQ(FilterError(R"(userName eq ada)"),
            "The filter expects a value (a quoted string, number, true, false or null), found "
            "\"ada\" at offset 12.");
  EXPECT_EQ(FilterError(R"(active gt true)"),
            "The filter uses \"gt\" at offset 7 on the boolean attribute active.");
  EXPECT_EQ(FilterError(R"(name eq "Ada")"),
            "The filter compares the complex attribute name as a whole; name a sub-attribute.");
  EXPECT_EQ(FilterError(""), "The filter expects an attribute name, found the end of the filter.");
  EXPECT_EQ(FilterError(R"(userName eq "a" and)"),
            "The filter expects an attribute name, found the end of the filter.");
  EXPECT_EQ(FilterError(R"(not userName eq "a")"),
            "The filter expects \"(\" after not, found \"userName\" at offset 4.");
}

TEST(ScimFilter, BoundsAreEnforced) {
  std::string long_text = R"(userName eq ")" + std::string(2040, 'a') + "\"";
  EXPECT_EQ(FilterError(long_text), "The filter is longer than 2048 bytes.");

  std::string deep = R"(userName eq "a")";
  for (int i = 0; i < 8; ++i) deep = "(" + deep + ")";
  EXPECT_EQ(FilterError(deep), "parsed");
  EXPECT_EQ(FilterError("(" + deep + ")"), "The filter nests deeper than 8 levels at offset 8.");

  std::string terms = R"(userName eq "a")";
  for (int i = 1; i < 32; ++i) terms += R"( or userName eq "a")";
  EXPECT_EQ(FilterError(terms), "parsed");
  EXPECT_EQ(FilterError(terms + R"( or userName eq "a")"), "The filter has more than 32 terms.");
}

}  // namespace
}  // namespace gh::scim
