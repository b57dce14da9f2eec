#include "core/image.h"

namespace gh {
namespace {

uint32_t Byte(std::string_view b, size_t i) { return static_cast<unsigned char>(b[i]); }
uint32_t Be16(std::string_view b, size_t i) { return Byte(b, i) << 8 | Byte(b, i + 1); }
uint32_t Le16(std::string_view b, size_t i) { return Byte(b, i) | Byte(b, i + 1) << 8; }
uint32_t Le24(std::string_view b, size_t i) { return Le16(b, i) | Byte(b, i + 2) << 16; }
uint32_t Be32(std::string_view b, size_t i) { return Be16(b, i) << 16 | Be16(b, i + 2); }
uint32_t Le32(std::string_view b, size_t i) { return Le16(b, i) | Le16(b, i + 2) << 16; }

std::optional<ImageSize> NonZero(uint32_t width, uint32_t height) {
  if (width == 0 || height == 0) return std::nullopt;
  return ImageSize{width, height};
}

// The signature, then the IHDR chunk: length, "IHDR", width and height (big-endian).
std::optional<ImageSize> PngSize(std::string_view b) {
  if (b.size() < 24 || b.substr(12, 4) != "IHDR") return std::nullopt;
  return NonZero(Be32(b, 16), Be32(b, 20));
}

// Segments from SOI on: each marker is 0xFF (fill bytes allowed) and a code; all but the
// standalone ones carry a big-endian length that counts itself. The frame header (SOF0-SOF15
// but DHT C4, JPG C8 and DAC CC) holds the precision, the height and the width.
std::optional<ImageSize> JpegSize(std::string_view b) {
  size_t i = 2;
  while (i < b.size()) {
    if (Byte(b, i) != 0xFF) return std::nullopt;
    while (i < b.size() && Byte(b, i) == 0xFF) ++i;
    if (i >= b.size()) return std::nullopt;
    uint32_t marker = Byte(b, i++);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // image data before a frame
    if (i + 2 > b.size()) return std::nullopt;
    uint32_t length = Be16(b, i);
    if (length < 2 || i + length > b.size()) return std::nullopt;
    bool frame =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      if (length < 7) return std::nullopt;
      return NonZero(Be16(b, i + 5), Be16(b, i + 3));  // a zero height (DNL) is refused too
    }
    i += length;
  }
  return std::nullopt;
}

// RIFF header (12 bytes), then the first chunk: its FourCC, its size, its data from byte 20.
std::optional<ImageSize> WebpSize(std::string_view b) {
  if (b.size() < 30) return std::nullopt;
  std::string_view chunk = b.substr(12, 4);
  if (chunk == "VP8 ") {  // lossy: a 3-byte frame tag, the start code, 14-bit sides
    if (b.substr(23, 3) != std::string_view("\x9D\x01\x2A", 3)) return std::nullopt;
    return NonZero(Le16(b, 26) & 0x3FFF, Le16(b, 28) & 0x3FFF);
  }
  if (chunk == "VP8L") {  // lossless: signature 0x2F, then width-1 and height-1 in 14 bits
    if (Byte(b, 20) != 0x2F) return std::nullopt;
    uint32_t bits = Le32(b, 21);
    return ImageSize{(bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (chunk == "VP8X") {  // extended: flags, 3 reserved bytes, canvas width-1 and height-1
    return ImageSize{Le24(b, 24) + 1, Le24(b, 27) + 1};
  }
  return std::nullopt;
}

}  // namespace

std::string SniffImageType(std::string_view b) {
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    return "image/png";
  }
  if (b.size() >= 3 && b.substr(0, 3) == std::string_view("\xFF\xD8\xFF", 3)) {
    return "image/jpeg";
  }
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") {
    return "image/webp";
  }
  return "";
}

std::optional<ImageSize> DeclaredImageSize(std::string_view b) {
  std::string type = SniffImageType(b);
  if (type == "image/png") return PngSize(b);
  if (type == "image/jpeg") return JpegSize(b);
  if (type == "image/webp") return WebpSize(b);
  return std::nullopt;
}

}  // namespace gh
