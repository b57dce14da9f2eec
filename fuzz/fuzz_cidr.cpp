// IP addresses and CIDR ranges (key IP allowlists, the verify body's "ip").
#include <cstdint>
#include <string>
#include <string_view>

#include "core/net.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (gh::ParseIp(text)) {
    // An address is printable text: nothing may hide behind a NUL or a space.
    for (char c : text) FUZZ_CHECK(c > 0x20 && c < 0x7f);
  }
  auto cidr = gh::ParseCidr(text);
  if (!cidr) return 0;
  FUZZ_CHECK(cidr->prefix_bits >= 0 && cidr->prefix_bits <= 128);
  FUZZ_CHECK(cidr->base.v4 ? cidr->prefix_bits >= 96 : true);
  FUZZ_CHECK(cidr->Contains(cidr->base));
  // The canonical text reads back to the same range.
  auto again = gh::ParseCidr(cidr->text);
  FUZZ_CHECK(again && again->prefix_bits == cidr->prefix_bits &&
             again->base.bytes == cidr->base.bytes && again->text == cidr->text);
  // The last address of the range is inside it, the one after it is not.
  gh::IpAddress last = cidr->base;
  for (int bit = cidr->prefix_bits; bit < 128; ++bit) last.bytes[bit / 8] |= uint8_t(0x80 >> (bit % 8));
  FUZZ_CHECK(cidr->Contains(last));
  return 0;
}
