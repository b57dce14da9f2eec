// SCIM PATCH (scim/patch.h): ParsePatch and ApplyPatch over outside bodies.
// Input: one mode byte, then
//   bit 0: Group instead of User;
//   bit 1 clear: a PATCH body (JSON; skipped when it does not parse or nests over 64 deep);
//   bit 1 set: a path, sent as one operation (bits 2-3 pick add/remove/replace/Replace) with a
//              value chosen by bits 4-5 (a string, "False", a member list, an object).
// Invariants beyond not crashing:
//  - refusals are 400 with one of the documented scimTypes; at most max_operations ops parse;
//  - ApplyPatch is all or nothing: on error the resource is unchanged;
//  - a patched resource still has its required attributes (userName / displayName) as
//    non-empty strings and keeps its id.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "scim/patch.h"

namespace {

using gh::scim::Json;
using gh::scim::ResourceKind;

constexpr int kMaxOps = 16;

const Json& Resource(ResourceKind kind) {
  static const Json user = Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "usr_1", "externalId": "ext-1", "userName": "ada@acme.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace"}, "displayName": "Ada",
    "active": true,
    "emails": [{"value": "ada@acme.com", "type": "work", "primary": true}, "stray"],
    "groups": [{"value": "grp_1"}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng"},
    "meta": {"resourceType": "User"}
  })");
  static const Json group = Json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "id": "grp_1", "displayName": "Engineering",
    "members": [{"value": "usr_1", "display": "Ada"}, {"value": "usr_2"}, 5],
    "meta": {"resourceType": "Group"}
  })");
  return kind == ResourceKind::kUser ? user : group;
}

bool ParseBody(std::string_view text, Json& out) {
  int max_depth = 0;
  out = Json::parse(
      text,
      [&](int depth, Json::parse_event_t, Json&) {
        if (depth > max_depth) max_depth = depth;
        return true;
      },
      /*allow_exceptions=*/false);
  return !out.is_discarded() && max_depth <= 64;
}

Json PathBody(uint8_t mode, std::string_view path) {
  static const char* kOps[] = {"add", "remove", "replace", "Replace"};
  static const Json kValues[] = {
      Json("x@y.co"), Json("False"),
      Json::parse(R"([{"value":"usr_3","$ref":null},{"value":"usr_1"}])"),
      Json::parse(R"({"value":"v","type":"work","givenName":"A"})")};
  return {{"schemas", {gh::scim::kPatchOp}},
          {"Operations",
           {{{"op", kOps[(mode >> 2) & 3]},
             {"path", std::string(path)},
             {"value", kValues[(mode >> 4) & 3]}}}}};
}

void CheckRequired(const Json& r, ResourceKind kind) {
  FUZZ_CHECK(r.is_object());
  FUZZ_CHECK(r.contains("id") && r["id"] == Resource(kind)["id"]);
  for (const auto& def : gh::scim::Attributes(kind)) {
    if (!def.required) continue;
    const Json* v = gh::scim::FindMember(r, def.name);
    FUZZ_CHECK(v && v->is_string() && !v->get<std::string>().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0];
  ResourceKind kind = mode & 1 ? ResourceKind::kGroup : ResourceKind::kUser;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  Json body;
  if (mode & 2) {
    body = PathBody(mode, rest);
  } else if (!ParseBody(rest, body)) {
    return 0;
  }
  static const std::set<std::string> kTypes = {"invalidSyntax", "invalidPath", "noTarget",
                                               "invalidValue", "tooMany"};
  auto ops = gh::scim::ParsePatch(body, kind, kMaxOps);
  if (!ops.ok()) {
    FUZZ_CHECK(ops.error().kind == gh::ErrorKind::kBadRequest);
    FUZZ_CHECK(kTypes.contains(ops.error().code));
    return 0;
  }
  FUZZ_CHECK(ops->size() <= static_cast<size_t>(kMaxOps));
  Json resource = Resource(kind);
  gh::Status s = gh::scim::ApplyPatch(resource, *ops, kind);
  if (!s.ok()) {
    FUZZ_CHECK(s.error().kind == gh::ErrorKind::kBadRequest);
    FUZZ_CHECK(kTypes.contains(s.error().code));
    FUZZ_CHECK(resource == Resource(kind));
    return 0;
  }
  CheckRequired(resource, kind);
  // Applying the same operations again must not fail for want of required attributes either.
  Json again = resource;
  if (gh::scim::ApplyPatch(again, *ops, kind).ok()) CheckRequired(again, kind);
  return 0;
}
