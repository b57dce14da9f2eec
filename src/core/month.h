// Calendar time in a workspace's time zone: months for monthly quotas, the hour of the daily
// digest, local timestamps in mail.
#pragma once

#include <string>

#include "core/time.h"

namespace gh {

struct MonthPeriod {
  std::string label;  // "2026-11"
  UnixTime start = 0;
  UnixTime end = 0;   // exclusive: the first second of the next month
};

// The calendar month containing `t` in IANA time zone `tz` (UTC when unknown). Reads the zone
// from /usr/share/zoneinfo (cached by Abseil after the first use); safe on any thread.
MonthPeriod MonthContaining(const std::string& tz, UnixTime t);

// The first moment at or after `t` that is `hour`:00 local time in `tz` (for the daily
// digest at 09:00 in each workspace's zone).
UnixTime NextLocalHour(const std::string& tz, UnixTime t, int hour);

// "2026-12-06 09:00 CET": `t` as a person in `tz` reads it.
std::string FormatLocalTime(const std::string& tz, UnixTime t);

}  // namespace gh
