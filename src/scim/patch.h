// SCIM PATCH (RFC 7644 §3.5.2) as Okta and Entra ID really send it: parsing the request body
// into operations and applying them to a resource in its SCIM JSON form.
//
// Pure: no store. The service renders the stored resource as SCIM JSON, calls ApplyPatch, and
// maps the result back; it alone decides what the changes mean (deactivation, renames, member
// changes).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "scim/filter.h"
#include "scim/schema.h"

namespace gh::scim {

enum class PatchOpKind { kAdd, kRemove, kReplace };

// `members`, `name.givenName`, `members[value eq "x"]`, `emails[type eq "work"].value`,
// `urn:…:enterprise:2.0:User:department`. `value_filter` is element-relative
// (MatchesElement); `sub_after_filter` is the canonical sub-attribute after the brackets.
// When `attr.sub` is set there is no filter.
struct PatchPath {
  AttrPath attr;
  std::shared_ptr<const Filter> value_filter;
  std::string sub_after_filter;
};

struct PatchOp {
  PatchOpKind op = PatchOpKind::kReplace;
  std::optional<PatchPath> path;  // none: the value is an object of attribute paths
  Json value;                     // null when absent
};

// Parses a PATCH body. Accepts op names in any case and a missing `schemas`; refuses a
// `schemas` that does not list kPatchOp. An operation whose path names an attribute Gatehouse
// does not have (a custom extension URN, `title`, `phoneNumbers[type eq "work"].value`) is
// dropped, not refused: the clients send their whole mapping.
// Errors (ErrorKind::kBadRequest; `code` is the scimType; `field` is "Operations[i]" or
// "Operations[i].path"):
//   invalidSyntax  not an object, wrong schemas, Operations missing/not an array/empty, an
//                  operation not an object, op missing or unknown, path not a string
//   tooMany        more than `max_operations` operations
//   invalidPath    a path that does not parse (brackets, quotes, filter, names)
//   invalidValue   add/replace without a value
//   noTarget       remove without a path
Result<std::vector<PatchOp>> ParsePatch(const Json& body, ResourceKind kind, int max_operations);

// Parses one path ("members[value eq \"x\"]"). nullopt inside an ok Result: well-formed but
// naming an attribute Gatehouse does not have. Error: invalidPath.
Result<std::optional<PatchPath>> ParsePatchPath(std::string_view path, ResourceKind kind);

// Applies the operations in order, all or nothing (on error `resource` is unchanged).
// - No path: each key of the object value is applied as a path (plain, dotted, URN-prefixed,
//   a filter path as Entra sends, or a whole extension URN with an object of its attributes);
//   "id", "schemas" and "meta" keys are skipped, unknown ones ignored.
// - Booleans may be "True"/"False" strings (any case); values are coerced to the schema's
//   types (sub-attributes not in the schema and nulls are dropped from complex values,
//   `"$ref": null` included); a value that cannot be coerced is invalidValue.
// - add on a multi-valued attribute appends, skipping elements whose `value` is already there
//   (case-insensitively for emails); replace replaces the list; remove with a value list removes
//   the listed `value`s (Entra), without value removes all. Hash sets: O(n + m).
// - add/replace on a single-valued complex attribute merges its sub-attributes (RFC 7644
//   §3.5.2.1 and §3.5.2.3 both say sub-attributes not given are left unchanged).
// - A filter path that matches nothing: remove does nothing; add/replace create the element when
//   the filter is `eq` tests joined by `and` (Entra's `emails[type eq "work"].value` on a user
//   without a work email), else noTarget.
// - readOnly attributes (id, meta, groups on User) and password (changePassword is not
//   supported) are ignored silently.
// - The result must keep its required attributes (userName / displayName) as non-empty strings,
//   else invalidValue.
Status ApplyPatch(Json& resource, const std::vector<PatchOp>& ops, ResourceKind kind);

}  // namespace gh::scim
