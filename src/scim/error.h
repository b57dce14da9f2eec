// SCIM response envelopes (RFC 7644 §3.12 errors, §3.4.2 list responses).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "scim/schema.h"

namespace gh::scim {

// {"schemas":[kError],"status":"409","scimType":"uniqueness","detail":"…"}; scimType is
// omitted when empty. `status` is a string, as RFC 7644 §3.12 writes it.
Json ErrorBody(int status, std::string_view scim_type, std::string_view detail);

// {"schemas":[kListResponse],"totalResults":total,"startIndex":start_index,
//  "itemsPerPage":resources.size(),"Resources":[…]}.
Json ListResponse(std::vector<Json> resources, int64_t total, int64_t start_index);

// The scimType codes this library puts in Error::code (ErrorKind::kBadRequest).
namespace scim_type {
inline constexpr const char* kInvalidFilter = "invalidFilter";
inline constexpr const char* kInvalidSyntax = "invalidSyntax";
inline constexpr const char* kInvalidPath = "invalidPath";
inline constexpr const char* kNoTarget = "noTarget";
inline constexpr const char* kInvalidValue = "invalidValue";
inline constexpr const char* kTooMany = "tooMany";
inline constexpr const char* kMutability = "mutability";
inline constexpr const char* kUniqueness = "uniqueness";  // for the service (409)
}  // namespace scim_type

}  // namespace gh::scim
