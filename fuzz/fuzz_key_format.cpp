// The API key shape check that runs before any lookup on every verification.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/key_format.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view key(reinterpret_cast<const char*>(data), size);
  auto shape = gh::ParseApiKey(key);
  (void)gh::KeyDisplayPrefix(key);
  if (!shape) return 0;
  FUZZ_CHECK(key.size() == 46);
  FUZZ_CHECK((shape->type == gh::KeyType::kSecret) == (key.substr(0, 3) == "sk_"));
  FUZZ_CHECK((shape->environment == gh::KeyEnvironment::kLive) == (key.substr(3, 5) == "live_"));
  return 0;
}
