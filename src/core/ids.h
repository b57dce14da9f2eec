// Prefixed random identifiers: `ws_` + 22 base62 characters of 128 random bits.
#pragma once

#include <string>
#include <string_view>

namespace gh {

// A new id such as NewId("ws") == "ws_3GxQ…" (prefix, underscore, 22 characters).
std::string NewId(std::string_view prefix);

// Like NewId, but ids made later sort after ids made earlier (48 bits of microseconds, then
// random): for records listed newest first whose timestamps may tie.
std::string NewTimeOrderedId(std::string_view prefix);

// True when `id` has the given prefix and a well-formed random part; cheap rejection of
// garbage before any lookup.
bool IsWellFormedId(std::string_view id, std::string_view prefix);

}  // namespace gh
