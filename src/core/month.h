// Calendar months in a time zone, for monthly quotas.
#pragma once

#include <string>

#include "core/time.h"

namespace gh {

struct MonthPeriod {
  std::string label;  // "2026-11"
  UnixTime start = 0;
  UnixTime end = 0;   // exclusive: the first second of the next month
};

// The calendar month containing `t` in IANA time zone `tz` (UTC when unknown). Uses the C
// library's TZ handling under a process-wide lock: call it when a period rolls over, not per
// request.
MonthPeriod MonthContaining(const std::string& tz, UnixTime t);

}  // namespace gh
