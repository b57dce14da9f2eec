#include "core/ids.h"

#include "core/crypto.h"

namespace gh {

static constexpr size_t kRandomChars = 22;

std::string NewId(std::string_view prefix) {
  std::string id(prefix);
  id += '_';
  id += crypto::Base62(crypto::RandomBytes(16), kRandomChars);
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
