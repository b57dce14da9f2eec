// The User-Agent reader behind the sessions list and audit events.
#include <cstdint>
#include <string_view>

#include "core/user_agent.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view ua(reinterpret_cast<const char*>(data), size);
  gh::DeviceInfo d = gh::ParseUserAgent(ua);
  FUZZ_CHECK(!d.device.empty() && !d.browser.empty());
  // Labels are a name and at most a short version: an agent cannot inject long text.
  FUZZ_CHECK(d.device.size() <= 32 && d.browser.size() <= 32);
  return 0;
}
