// Recognises image formats by their magic bytes, never by name or declared type, and reads the
// dimensions their headers declare (without decoding a pixel).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gh {

// "image/png", "image/jpeg", "image/webp", or "" when the bytes are none of those.
std::string SniffImageType(std::string_view bytes);

struct ImageSize {
  uint32_t width = 0;
  uint32_t height = 0;
};

// The width and height the image's header declares: PNG's IHDR, JPEG's frame header (the first
// SOFn segment), WebP's VP8, VP8L or VP8X header. nullopt when the header is missing,
// truncated or declares a zero side. What a decoder would allocate follows from these, and a
// file of a few hundred bytes can declare 60000×60000 pixels.
std::optional<ImageSize> DeclaredImageSize(std::string_view bytes);

}  // namespace gh
