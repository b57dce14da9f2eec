#include "core/month.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "core/validation.h"

namespace gh {

MonthPeriod MonthContaining(const std::string& tz, UnixTime t) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  std::string zone = validation::IsIanaTimezone(tz) ? tz : "UTC";
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  setenv("TZ", zone.c_str(), 1);
  tzset();
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
  if (old) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
  return p;
}

}  // namespace gh
