// Opaque pagination cursors: a short versioned payload ("m1:1700000000:mem_…"), base64url
// encoded. Decoding refuses anything that does not round-trip exactly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gh {

std::string EncodeCursor(std::string_view payload);
// The payload of a cursor made by EncodeCursor that starts with `prefix`, without the prefix.
std::optional<std::string> DecodeCursor(std::string_view cursor, std::string_view prefix);

}  // namespace gh
