#include "core/ids.h"

#include <chrono>

#include "core/crypto.h"

namespace gh {

static constexpr size_t kRandomChars = 22;

std::string NewId(std::string_view prefix) {
  std::string id(prefix);
  id += '_';
  id += crypto::Base62(crypto::RandomBytes(16), kRandomChars);
  return id;
}

std::string NewTimeOrderedId(std::string_view prefix) {
  uint64_t micros = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  std::string time_bytes(6, '\0');
  for (int i = 0; i < 6; ++i) time_bytes[i] = static_cast<char>((micros >> (40 - 8 * i)) & 0xFF);
  std::string id(prefix);
  id += '_';
  id += crypto::Base62(time_bytes, 9);  // 62^9 > 2^48
  id += crypto::Base62(crypto::RandomBytes(10), 13).substr(0, 13);
  return id;
}

bool IsWellFormedId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 1 + kRandomChars) return false;
  if (id.substr(0, prefix.size()) != prefix || id[prefix.size()] != '_') return false;
  for (char c : id.substr(prefix.size() + 1)) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum) return false;
  }
  return true;
}

}  // namespace gh
