// Percent-decoding of paths and query strings, and the query and cookie readers built on it.
// Input: one flag byte, then the text.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool plus_is_space = data[0] & 1;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (auto decoded = gh::http::PercentDecode(text, plus_is_space)) {
    FUZZ_CHECK(decoded->size() <= text.size());
  }
  // Every byte encoded decodes back to itself.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : text) {
    encoded += '%';
    encoded += kHex[c >> 4];
    encoded += kHex[c & 15];
  }
  auto round = gh::http::PercentDecode(encoded, plus_is_space);
  FUZZ_CHECK(round && *round == text);

  gh::http::Request req;
  req.query = std::string(text);
  req.headers.emplace_back("cookie", std::string(text));
  (void)req.QueryParam("cursor");
  (void)req.QueryParam("limit");
  (void)req.Cookie("gh_session");
  return 0;
}
