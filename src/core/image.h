// Recognises image formats by their magic bytes, never by name or declared type.
#pragma once

#include <string>
#include <string_view>

namespace gh {

// "image/png", "image/jpeg", "image/webp", or "" when the bytes are none of those.
std::string SniffImageType(std::string_view bytes);

}  // namespace gh
