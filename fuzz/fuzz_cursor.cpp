// Pagination cursors from query strings: the base64url layer and the members, projects and
// audit payloads. Input: one mode byte, then either a cursor as received or a payload that the
// harness encodes first (so the fuzzer reaches the payload readers without learning base64).
#include <cstdint>
#include <string>
#include <string_view>

#include "core/cursor.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  static const char* kPrefixes[] = {"m1:", "p1:", "a1:", ""};
  std::string cursor = data[0] & 1 ? gh::EncodeCursor(std::string(kPrefixes[(data[0] >> 1) % 4]) +
                                                      std::string(rest))
                                   : std::string(rest);
  if (auto payload = gh::DecodeCursor(cursor, "m1:")) {
    FUZZ_CHECK(gh::EncodeCursor("m1:" + *payload) == cursor);
  }
  if (auto m = gh::DecodeMemberCursor(cursor)) {
    FUZZ_CHECK(m->joined_at >= 0);
    auto again = gh::DecodeMemberCursor(gh::EncodeMemberCursor(*m));
    FUZZ_CHECK(again && again->joined_at == m->joined_at && again->id == m->id);
  }
  if (auto p = gh::DecodeProjectCursor(cursor)) {
    FUZZ_CHECK(p->id.find('\n') == std::string::npos);
    auto again = gh::DecodeProjectCursor(gh::EncodeProjectCursor(*p));
    FUZZ_CHECK(again && again->name == p->name && again->id == p->id);
  }
  if (auto a = gh::DecodeAuditCursor(cursor)) {
    FUZZ_CHECK(a->occurred_at >= 0 && a->seq >= 0 && gh::EncodeAuditCursor(*a) == cursor);
  }
  return 0;
}
