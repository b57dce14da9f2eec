// SCIM filters (scim/filter.h): ParseFilter, Matches and IndexableEquality over outside text.
// Input: one mode byte (bit 0: Group instead of User), then the filter text.
// Invariants beyond not crashing:
//  - parsing is bounded: text over kMaxFilterBytes is refused, and a parsed tree has at most
//    kMaxFilterTerms comparisons and is at most 2 * kMaxFilterTerms deep;
//  - every refusal is 400 invalidFilter with a message;
//  - `not (f)` matches exactly the resources f does not;
//  - IndexableEquality is a necessary condition: a resource that matches f carries the value.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "scim/filter.h"

namespace {

using gh::scim::Filter;
using gh::scim::FilterOp;
using gh::scim::Json;
using gh::scim::ResourceKind;

const Json& Resource(ResourceKind kind) {
  static const Json user = Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "id": "usr_1", "externalId": "Ext-1", "userName": "ada@acme.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": ""},
    "displayName": "Ada", "active": "True", "password": null,
    "emails": [{"value": "ada@acme.com", "type": "work", "primary": true},
               {"value": "A@HOME.example", "type": "home"}, "stray", 7, null],
    "groups": [{"value": "grp_1", "display": "Eng"}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "department": "Eng", "employeeNumber": 42, "manager": {"value": "usr_2"}},
    "meta": {"resourceType": "User", "created": "2025-01-01T00:00:00Z", "version": "W/\"1\""}
  })");
  static const Json group = Json::parse(R"({
    "id": "grp_1", "externalId": "g-1", "displayName": "Engineering",
    "members": [{"value": "usr_1", "display": "Ada", "type": "User"}, {"value": "usr_2"}, []],
    "meta": {"resourceType": "Group"}
  })");
  return kind == ResourceKind::kUser ? user : group;
}

void Measure(const Filter& f, int depth, int& terms, int& max_depth) {
  max_depth = std::max(max_depth, depth);
  if (f.op == FilterOp::kAnd || f.op == FilterOp::kOr) {
    FUZZ_CHECK(f.left && f.right);
    Measure(*f.left, depth + 1, terms, max_depth);
    Measure(*f.right, depth + 1, terms, max_depth);
  } else if (f.op == FilterOp::kNot) {
    FUZZ_CHECK(f.left && !f.right);
    Measure(*f.left, depth + 1, terms, max_depth);
  } else if (f.op == FilterOp::kValuePath) {
    ++terms;
    FUZZ_CHECK(f.left && f.def && !f.element_relative);
    Measure(*f.left, depth + 1, terms, max_depth);
  } else {
    ++terms;
    FUZZ_CHECK(f.def != nullptr);
  }
}

// Whether `resource` carries `value` in the attribute an Equality names.
bool Carries(const Json& resource, const gh::scim::Equality& eq) {
  auto same = [&](const Json* v) {
    if (!v || !v->is_string()) return false;
    return eq.case_exact ? *v == eq.value
                         : gh::scim::EqualsIgnoreCase(v->get<std::string>(), eq.value);
  };
  if (eq.attr != "emails.value") return same(gh::scim::FindMember(resource, eq.attr));
  const Json* emails = gh::scim::FindMember(resource, "emails");
  if (!emails || !emails->is_array()) return false;
  for (const auto& e : *emails) {
    if (same(gh::scim::FindMember(e, "value"))) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ResourceKind kind = data[0] & 1 ? ResourceKind::kGroup : ResourceKind::kUser;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = gh::scim::ParseFilter(text, kind);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.error().kind == gh::ErrorKind::kBadRequest);
    FUZZ_CHECK(parsed.error().code == "invalidFilter");
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(text.size() <= gh::scim::kMaxFilterBytes);
  const Filter& f = *parsed.value();
  int terms = 0, depth = 0;
  Measure(f, 0, terms, depth);
  FUZZ_CHECK(terms >= 1 && terms <= gh::scim::kMaxFilterTerms);
  FUZZ_CHECK(depth <= 2 * gh::scim::kMaxFilterTerms);

  const Json& resource = Resource(kind);
  bool matches = gh::scim::Matches(f, resource, kind);
  Filter negated;
  negated.op = FilterOp::kNot;
  negated.left = parsed.value();
  FUZZ_CHECK(gh::scim::Matches(negated, resource, kind) == !matches);
  if (auto eq = gh::scim::IndexableEquality(f); eq && matches) {
    FUZZ_CHECK(Carries(resource, *eq));
  }
  return 0;
}
