// The multipart/form-data reader (logo uploads). Input: a Content-Type line, then the body.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view content_type = in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto boundary = gh::http::MultipartBoundary(content_type);
  if (!boundary) return 0;
  FUZZ_CHECK(!boundary->empty() && boundary->size() <= 70);
  auto parts = gh::http::ParseMultipart(body, *boundary);
  if (!parts) return 0;
  FUZZ_CHECK(parts->size() <= 16);
  size_t total = 0;
  for (const auto& p : *parts) {
    // A part never holds the delimiter that ends it.
    FUZZ_CHECK(p.data.find("\r\n--" + *boundary) == std::string::npos);
    total += p.data.size();
  }
  FUZZ_CHECK(total <= body.size());
  return 0;
}
