#include "core/month.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include "core/validation.h"

namespace gh {

namespace {

// The zone named `tz` (UTC when it is not one). Abseil reads the TZif file once and keeps it;
// no process state (TZ) is touched, so any thread may call this at any time.
absl::TimeZone Zone(const std::string& tz) {
  absl::TimeZone zone;
  if (validation::IsIanaTimezone(tz) && absl::LoadTimeZone(tz, &zone)) return zone;
  return absl::UTCTimeZone();
}

UnixTime Seconds(absl::Time t) { return absl::ToUnixSeconds(t); }

}  // namespace

MonthPeriod MonthContaining(const std::string& tz, UnixTime t) {
  absl::TimeZone zone = Zone(tz);
  absl::CivilMonth month = absl::ToCivilMonth(absl::FromUnixSeconds(t), zone);
  MonthPeriod p;
  p.start = Seconds(absl::FromCivil(month, zone));
  p.end = Seconds(absl::FromCivil(month + 1, zone));
  p.label = absl::FormatCivilTime(month);
  return p;
}

UnixTime NextLocalHour(const std::string& tz, UnixTime t, int hour) {
  absl::TimeZone zone = Zone(tz);
  absl::CivilDay day = absl::ToCivilDay(absl::FromUnixSeconds(t), zone);
  for (int ahead = 0; ahead < 3; ++ahead) {
    absl::CivilDay d = day + ahead;
    UnixTime when =
        Seconds(absl::FromCivil(absl::CivilHour(d.year(), d.month(), d.day(), hour), zone));
    if (when >= t) return when;
  }
  return t + 86400;  // unreachable: one of three days has the hour after t
}

std::string FormatLocalTime(const std::string& tz, UnixTime t) {
  return absl::FormatTime("%Y-%m-%d %H:%M %Z", absl::FromUnixSeconds(t), Zone(tz));
}

}  // namespace gh
