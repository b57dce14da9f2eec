#include "core/cursor.h"

#include "core/crypto.h"

namespace gh {

std::string EncodeCursor(std::string_view payload) { return crypto::Base64Url(payload); }

std::optional<std::string> DecodeCursor(std::string_view cursor, std::string_view prefix) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (cursor.empty() || cursor.size() > 200) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : cursor) {
    size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (EncodeCursor(out) != cursor) return std::nullopt;  // canonical form only
  if (out.size() <= prefix.size() || out.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  return out.substr(prefix.size());
}

}  // namespace gh
