// Country of an IP address, for the sessions list and new-location sign-in detection.
//
// Reads Debian's geoip-database (legacy GeoIP country format: GeoIP.dat for IPv4, GeoIPv6.dat
// for IPv6) through libGeoIP. Both are optional at run time: without a database every lookup
// answers "unknown", and a binary built without libGeoIP behaves the same. Private, loopback
// and unallocated addresses are unknown too. Lookups are thread-safe (read-only memory cache).
#pragma once

#include <memory>
#include <string>

namespace gh {

struct Country {
  std::string code;  // ISO 3166-1 alpha-2, "RO"; "" when unknown
  std::string name;  // "Romania"
};

class GeoIp {
 public:
  // Debian's location of geoip-database.
  static constexpr const char* kDefaultPath = "/usr/share/GeoIP";

  // `path` is a directory holding GeoIP.dat and/or GeoIPv6.dat, or one such file (its edition,
  // IPv4 or IPv6, is read from the file). Empty: no database. Never fails: `status` describes
  // what was loaded ("IPv4 + IPv6 from /usr/share/GeoIP") or why not, for the start-up log.
  static std::unique_ptr<GeoIp> Open(const std::string& path, std::string* status = nullptr);

  ~GeoIp();
  GeoIp(const GeoIp&) = delete;
  GeoIp& operator=(const GeoIp&) = delete;

  // True when at least one database is loaded.
  bool available() const;
  // The country of an IPv4 or IPv6 address in text form; unknown (empty code) otherwise.
  Country Lookup(const std::string& ip) const;
  // The English name of a country code ("RO" -> "Romania"); the code itself when unknown.
  static std::string CountryName(const std::string& code);

  struct Impl;  // the library's handles; defined in geoip.cpp

 private:
  GeoIp() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh
