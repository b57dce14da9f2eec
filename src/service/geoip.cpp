// The only file that includes GeoIP.h: the library stays out of every other translation unit.
#include "service/geoip.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cstring>

#ifdef GATEHOUSE_HAVE_GEOIP
#include <GeoIP.h>
#endif

namespace gh {

#ifdef GATEHOUSE_HAVE_GEOIP

struct GeoIp::Impl {
  GeoIP* v4 = nullptr;
  GeoIP* v6 = nullptr;
  ~Impl() {
    if (v4) GeoIP_delete(v4);
    if (v6) GeoIP_delete(v6);
  }
};

namespace {

bool IsDirectory(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsFile(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Opens a country database into `impl` by its edition; false when it is not one.
bool Load(GeoIp::Impl& impl, const std::string& file) {
  if (!IsFile(file)) return false;
  // GEOIP_MEMORY_CACHE: the whole file in memory, read-only afterwards, so concurrent
  // lookups are safe. Not GEOIP_CHECK_CACHE, which reloads under readers' feet.
  GeoIP* gi = GeoIP_open(file.c_str(), GEOIP_MEMORY_CACHE | GEOIP_SILENCE);
  if (!gi) return false;
  unsigned char edition = GeoIP_database_edition(gi);
  if (edition == GEOIP_COUNTRY_EDITION && !impl.v4) {
    impl.v4 = gi;
    return true;
  }
  if (edition == GEOIP_COUNTRY_EDITION_V6 && !impl.v6) {
    impl.v6 = gi;
    return true;
  }
  GeoIP_delete(gi);
  return false;
}

Country FromId(int id) {
  if (id <= 0) return {};
  const char* code = GeoIP_code_by_id(id);
  const char* name = GeoIP_name_by_id(id);
  if (!code || std::strlen(code) != 2 || std::strcmp(code, "--") == 0) return {};
  return {code, name ? name : code};
}

}  // namespace

std::unique_ptr<GeoIp> GeoIp::Open(const std::string& path, std::string* status) {
  std::unique_ptr<GeoIp> g(new GeoIp());
  g->impl_ = std::make_unique<Impl>();
  std::string note;
  if (path.empty()) {
    note = "off";
  } else if (IsDirectory(path)) {
    Load(*g->impl_, path + "/GeoIP.dat");
    Load(*g->impl_, path + "/GeoIPv6.dat");
  } else if (!Load(*g->impl_, path)) {
    note = "no GeoIP country database at " + path;
  }
  if (note.empty()) {
    if (!g->available()) {
      note = "no GeoIP country database in " + path + " (Debian: apt install geoip-database)";
    } else {
      note = std::string(g->impl_->v4 ? "IPv4" : "") +
             (g->impl_->v4 && g->impl_->v6 ? " + " : "") + (g->impl_->v6 ? "IPv6" : "") +
             " from " + path;
    }
  }
  if (status) *status = note;
  return g;
}

GeoIp::~GeoIp() = default;

bool GeoIp::available() const { return impl_ && (impl_->v4 || impl_->v6); }

Country GeoIp::Lookup(const std::string& ip) const {
  if (!available()) return {};
  GeoIPLookup gl{};
  in_addr a4{};
  if (inet_pton(AF_INET, ip.c_str(), &a4) == 1) {
    if (!impl_->v4) return {};
    return FromId(GeoIP_id_by_ipnum_gl(impl_->v4, ntohl(a4.s_addr), &gl));
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, ip.c_str(), &a6) != 1) return {};
  if (IN6_IS_ADDR_V4MAPPED(&a6) && impl_->v4) {
    uint32_t v4;
    std::memcpy(&v4, &a6.s6_addr[12], 4);
    return FromId(GeoIP_id_by_ipnum_gl(impl_->v4, ntohl(v4), &gl));
  }
  if (!impl_->v6) return {};
  return FromId(GeoIP_id_by_ipnum_v6_gl(impl_->v6, a6, &gl));
}

std::string GeoIp::CountryName(const std::string& code) {
  if (code.size() != 2) return code;
  int id = GeoIP_id_by_code(code.c_str());
  const char* name = id > 0 ? GeoIP_name_by_id(id) : nullptr;
  return name ? name : code;
}

#else  // built without libGeoIP: every address is unknown.

struct GeoIp::Impl {};

std::unique_ptr<GeoIp> GeoIp::Open(const std::string&, std::string* status) {
  if (status) *status = "not built in (install libgeoip-dev and rebuild)";
  return std::unique_ptr<GeoIp>(new GeoIp());
}
GeoIp::~GeoIp() = default;
bool GeoIp::available() const { return false; }
Country GeoIp::Lookup(const std::string&) const { return {}; }
std::string GeoIp::CountryName(const std::string& code) { return code; }

#endif

}  // namespace gh
