// Endpoint path patterns of API keys ("/v1/metrics/*"). Input: pattern, '\n', path.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/net.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view pattern = in.substr(0, nl);
  std::string_view path = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  bool valid = gh::IsValidPathPattern(pattern);
  bool matches = gh::PathPatternMatches(pattern, path);
  if (!valid) return 0;
  FUZZ_CHECK(pattern.front() == '/' && pattern.size() <= 256);
  if (pattern.back() == '*') {
    std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    FUZZ_CHECK(pattern.find('*') == pattern.size() - 1);
    FUZZ_CHECK(gh::PathPatternMatches(pattern, std::string(prefix) + std::string(path)));
    // A match is either under the prefix or the prefix's own directory.
    if (matches) FUZZ_CHECK(path.substr(0, prefix.size()) == prefix || prefix.size() > path.size());
  } else {
    FUZZ_CHECK(pattern.find('*') == std::string_view::npos);
    FUZZ_CHECK(gh::PathPatternMatches(pattern, pattern));
    FUZZ_CHECK(matches == (pattern == path));
  }
  return 0;
}
