#include "core/cursor.h"

#include "core/crypto.h"

namespace gh {

std::string EncodeCursor(std::string_view payload) { return crypto::Base64Url(payload); }

std::optional<std::string> DecodeCursor(std::string_view cursor, std::string_view prefix) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (cursor.empty() || cursor.size() > 200) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : cursor) {
    size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (EncodeCursor(out) != cursor) return std::nullopt;  // canonical form only
  if (out.size() <= prefix.size() || out.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  return out.substr(prefix.size());
}

std::string EncodeMemberCursor(const MemberCursor& c) {
  return EncodeCursor("m1:" + std::to_string(c.joined_at) + ":" + c.id);
}

std::optional<MemberCursor> DecodeMemberCursor(std::string_view cursor) {
  auto payload = DecodeCursor(cursor, "m1:");
  size_t colon = payload ? payload->find(':') : std::string::npos;
  // At most 18 digits: 19 could overflow int64 (found by fuzz/fuzz_cursor.cpp under UBSan).
  if (colon == std::string::npos || colon == 0 || colon > 18) return std::nullopt;
  MemberCursor c;
  for (char ch : payload->substr(0, colon)) {
    if (ch < '0' || ch > '9') return std::nullopt;
    c.joined_at = c.joined_at * 10 + (ch - '0');
  }
  c.id = payload->substr(colon + 1);
  return c;
}

std::string EncodeProjectCursor(const ProjectCursor& c) {
  return EncodeCursor("p1:" + c.name + "\n" + c.id);
}

std::optional<ProjectCursor> DecodeProjectCursor(std::string_view cursor) {
  auto payload = DecodeCursor(cursor, "p1:");
  size_t nl = payload ? payload->rfind('\n') : std::string::npos;
  if (nl == std::string::npos) return std::nullopt;
  return ProjectCursor{payload->substr(0, nl), payload->substr(nl + 1)};
}

std::string EncodeAuditCursor(const AuditCursor& c) {
  return EncodeCursor("a2:" + std::to_string(c.occurred_at) + ":" + std::to_string(c.seq));
}

std::optional<AuditCursor> DecodeAuditCursor(std::string_view cursor) {
  auto payload = DecodeCursor(cursor, "a2:");
  if (!payload || payload->size() > 40) return std::nullopt;
  size_t colon = payload->find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto number = [](std::string_view s) -> std::optional<int64_t> {
    if (s.empty() || s.size() > 18) return std::nullopt;  // no overflow
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  auto t = number(std::string_view(*payload).substr(0, colon));
  auto seq = number(std::string_view(*payload).substr(colon + 1));
  if (!t || !seq) return std::nullopt;
  AuditCursor c{*t, *seq};
  if (EncodeAuditCursor(c) != cursor) return std::nullopt;  // one spelling per position
  return c;
}

}  // namespace gh
