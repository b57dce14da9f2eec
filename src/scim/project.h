// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes of a
// resource a response carries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scim/schema.h"

namespace gh::scim {

// "userName, name.givenName,emails" → {"userName", "name.givenName", "emails"}: split on
// commas, blanks trimmed, empty items dropped.
std::vector<std::string> SplitAttributeList(std::string_view list);

// The resource (SCIM JSON) as a response shows it. Names are case-insensitive, plain, dotted
// ("name.givenName", "emails.value") or URN-prefixed, or a whole extension URN; unknown names are
// ignored. With `attributes` non-empty only those are returned, plus `schemas` and the
// `returned: always` attribute `id` (RFC 7643 §4.1; userName and displayName are `default`);
// otherwise every attribute but the `never` ones (password). `excluded` then removes attributes
// or sub-attributes, never `id` or `schemas`. An extension object left empty is dropped.
Json Project(const Json& resource, ResourceKind kind, const std::vector<std::string>& attributes,
             const std::vector<std::string>& excluded);

}  // namespace gh::scim
