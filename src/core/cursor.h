// Opaque pagination cursors: a short versioned payload ("m1:1700000000:mem_…"), base64url
// encoded. Decoding refuses anything that does not round-trip exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gh {

std::string EncodeCursor(std::string_view payload);
// The payload of a cursor made by EncodeCursor that starts with `prefix`, without the prefix.
std::optional<std::string> DecodeCursor(std::string_view cursor, std::string_view prefix);

// The members list's keyset position: "m1:<joined_at>:<membership id>".
struct MemberCursor {
  int64_t joined_at = 0;
  std::string id;
};
std::string EncodeMemberCursor(const MemberCursor& c);
std::optional<MemberCursor> DecodeMemberCursor(std::string_view cursor);

// The projects list's keyset position: "p1:<name>\n<project id>" (names have no newline).
struct ProjectCursor {
  std::string name;
  std::string id;
};
std::string EncodeProjectCursor(const ProjectCursor& c);
std::optional<ProjectCursor> DecodeProjectCursor(std::string_view cursor);

// The audit log's position, newest first by time then sequence: "a2:<occurred_at>:<seq>",
// no sign and no leading zeros (one spelling per position).
struct AuditCursor {
  int64_t occurred_at = 0;
  int64_t seq = 0;
};
std::string EncodeAuditCursor(const AuditCursor& c);
std::optional<AuditCursor> DecodeAuditCursor(std::string_view cursor);

}  // namespace gh
