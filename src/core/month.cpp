#include "core/month.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "core/validation.h"

namespace gh {

namespace {

// Runs `fn` with the C library's local time set to `tz` (UTC when it is not a zone), under a
// process-wide lock: TZ is process state.
template <typename Fn>
auto InZone(const std::string& tz, Fn&& fn) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  std::string zone = validation::IsIanaTimezone(tz) ? tz : "UTC";
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  setenv("TZ", zone.c_str(), 1);
  tzset();
  auto result = fn();
  if (old) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
  return result;
}

}  // namespace

MonthPeriod MonthContaining(const std::string& tz, UnixTime t) {
  return InZone(tz, [&] {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm local{};
    localtime_r(&tt, &local);
    std::tm first{};
    first.tm_year = local.tm_year;
    first.tm_mon = local.tm_mon;
    first.tm_mday = 1;
    first.tm_isdst = -1;
    std::tm next = first;
    next.tm_mon += 1;  // mktime normalises December + 1
    MonthPeriod p;
    p.start = static_cast<UnixTime>(std::mktime(&first));
    p.end = static_cast<UnixTime>(std::mktime(&next));
    char label[32];
    std::snprintf(label, sizeof label, "%04d-%02d", local.tm_year + 1900, local.tm_mon + 1);
    p.label = label;
    return p;
  });
}

UnixTime NextLocalHour(const std::string& tz, UnixTime t, int hour) {
  return InZone(tz, [&] {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm local{};
    localtime_r(&tt, &local);
    for (int day = 0; day < 3; ++day) {
      std::tm at{};
      at.tm_year = local.tm_year;
      at.tm_mon = local.tm_mon;
      at.tm_mday = local.tm_mday + day;  // mktime normalises the month's end
      at.tm_hour = hour;
      at.tm_isdst = -1;
      UnixTime when = static_cast<UnixTime>(std::mktime(&at));
      if (when >= t) return when;
    }
    return t + 86400;  // unreachable: one of three days has the hour after t
  });
}

std::string FormatLocalTime(const std::string& tz, UnixTime t) {
  return InZone(tz, [&] {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm local{};
    localtime_r(&tt, &local);
    char out[64];
    std::strftime(out, sizeof out, "%Y-%m-%d %H:%M %Z", &local);
    return std::string(out);
  });
}

}  // namespace gh
