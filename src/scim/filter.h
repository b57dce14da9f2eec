// SCIM filters (RFC 7644 §3.4.2.2): parsing into a tree, evaluation against a resource in its
// SCIM JSON form, and the equality an index can answer.
//
// Pure and bounded: a filter is at most kMaxFilterBytes long, holds at most kMaxFilterTerms
// attribute expressions and nests (parentheses, `not`, value paths) at most kMaxFilterDepth
// deep, so parsing and evaluation cost is linear in the input and the resource.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "scim/schema.h"

namespace gh::scim {

inline constexpr size_t kMaxFilterBytes = 2048;
inline constexpr int kMaxFilterTerms = 32;
inline constexpr int kMaxFilterDepth = 8;

enum class FilterOp {
  kEq,
  kNe,
  kCo,
  kSw,
  kEw,
  kGt,
  kGe,
  kLt,
  kLe,
  kPr,
  kAnd,
  kOr,
  kNot,
  kValuePath
};

// A parsed filter. Comparisons (kEq…kPr) name `attr` with `def`/`sub_def` pointing into the
// schema tables and compare with `value` (string, number, boolean or null). kAnd/kOr use
// `left` and `right`; kNot uses `left`. kValuePath (`emails[type eq "work"]`) names the
// multi-valued attribute in `attr` and holds in `left` a filter over its elements: inside it,
// comparisons are element-relative (`attr.attr` is the parent, `attr.sub` the element's key,
// `element_relative` is true).
struct Filter {
  FilterOp op = FilterOp::kPr;
  AttrPath attr;
  const AttrDef* def = nullptr;
  const AttrDef* sub_def = nullptr;
  bool element_relative = false;
  Json value;
  std::shared_ptr<const Filter> left;
  std::shared_ptr<const Filter> right;
};

// Parses a filter. Attribute names are case-insensitive and may carry the core or extension URN;
// operators and true/false/null are case-insensitive; strings are JSON strings.
// Errors: ErrorKind::kBadRequest, code "invalidFilter", field "filter", a message saying what was
// wrong at which byte offset (unbalanced quotes/brackets, unknown operator, unknown attribute,
// ordering on a boolean, over the bounds above).
Result<std::shared_ptr<const Filter>> ParseFilter(std::string_view text, ResourceKind kind);

// Parses the filter between the brackets of a value path over the multi-valued complex
// attribute `parent` (`type eq "work" and primary eq true`): element-relative, as in Filter.
// `schema` is the parent's AttrPath::schema. Same errors as ParseFilter.
Result<std::shared_ptr<const Filter>> ParseValueFilter(std::string_view text, const AttrDef& parent,
                                                       const std::string& schema);

// Whether `resource` (SCIM JSON: core attributes at the top, extension attributes under their
// URN) matches. Strings compare case-insensitively unless the attribute is caseExact;
// multi-valued attributes match when any element does; a multi-valued complex attribute without
// sub-attribute compares its elements' `value`. `ne` is the negation of `eq`. A missing
// attribute matches only `ne` and `not`.
bool Matches(const Filter& f, const Json& resource, ResourceKind kind);
// Evaluates an element-relative filter (ParseValueFilter, PatchPath::value_filter) against one
// element of a multi-valued attribute.
bool MatchesElement(const Filter& f, const Json& element);

// An `eq` an index can answer: at the top level or a conjunct of a top-level `and` chain, on
// userName, externalId, displayName or emails.value (User; `emails[value eq "x"]` counts too)
// or displayName, externalId (Group); userName preferred, else the first such conjunct.
// The index gives candidates: run Matches on each for the rest of the filter.
struct Equality {
  std::string attr;  // "userName", "externalId", "displayName", "emails.value"
  std::string value;
  bool case_exact = false;  // externalId: compare exactly; the others case-insensitively
};
std::optional<Equality> IndexableEquality(const Filter& f);

}  // namespace gh::scim
