#include "core/key_format.h"

#include <array>
#include <cstdint>

#include "core/crypto.h"

namespace gh {
namespace {

constexpr size_t kBodyChars = 32;
constexpr size_t kChecksumChars = 6;
constexpr size_t kPrefixChars = 8;  // "sk_live_"

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = MakeCrcTable();

uint32_t Crc32(std::string_view s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

int Base62Digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  if (c >= 'a' && c <= 'z') return c - 'a' + 36;
  return -1;
}

std::string Checksum(std::string_view prefix_and_body) {
  uint32_t crc = Crc32(prefix_and_body);
  std::string bytes(4, '\0');
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xFF);
  return crypto::Base62(bytes, kChecksumChars);
}

bool IsBase62(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string NewApiKey(KeyType type, KeyEnvironment environment) {
  std::string key = type == KeyType::kPublishable ? "pk_" : "sk_";
  key += environment == KeyEnvironment::kTest ? "test_" : "live_";
  // 24 random bytes are 192 bits; 32 base62 characters hold 190 of them.
  key += crypto::Base62(crypto::RandomBytes(24), kBodyChars).substr(0, kBodyChars);
  key += Checksum(key);
  return key;
}

std::optional<KeyShape> ParseApiKey(std::string_view key) {
  if (key.size() != kPrefixChars + kBodyChars + kChecksumChars) return std::nullopt;
  KeyShape shape;
  std::string_view p = key.substr(0, kPrefixChars);
  if (p == "sk_live_") shape = {KeyType::kSecret, KeyEnvironment::kLive};
  else if (p == "sk_test_") shape = {KeyType::kSecret, KeyEnvironment::kTest};
  else if (p == "pk_live_") shape = {KeyType::kPublishable, KeyEnvironment::kLive};
  else if (p == "pk_test_") shape = {KeyType::kPublishable, KeyEnvironment::kTest};
  else return std::nullopt;
  std::string_view rest = key.substr(kPrefixChars);
  if (!IsBase62(rest)) return std::nullopt;
  // Decode the checksum rather than encode the CRC: this runs on every verification.
  uint64_t sum = 0;
  for (char c : key.substr(kPrefixChars + kBodyChars)) sum = sum * 62 + static_cast<uint64_t>(Base62Digit(c));
  if (sum != Crc32(key.substr(0, kPrefixChars + kBodyChars))) return std::nullopt;
  return shape;
}

std::string KeyDisplayPrefix(std::string_view key) {
  return std::string(key.substr(0, kPrefixChars + 4));
}

}  // namespace gh
