// Time as the domain sees it: Unix seconds, rendered as RFC 3339 UTC at the edges.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gh {

using UnixTime = int64_t;  // seconds since the epoch, UTC

// A clock that tests can move; production uses the system clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixTime Now() const = 0;
  static const Clock& System();
};

// "2026-01-30T14:32:15Z"
std::string FormatRfc3339(UnixTime t);
// The same, appended to `out` (no allocation of its own): for exports, one per row.
void AppendRfc3339(std::string& out, UnixTime t);

// Parses "YYYY-MM-DDTHH:MM:SSZ" (fractional seconds and numeric offsets accepted).
std::optional<UnixTime> ParseRfc3339(std::string_view s);

// "Mon, 23 Nov 2026 19:30:00 GMT" for HTTP Date headers.
std::string FormatHttpDate(UnixTime t);

}  // namespace gh
