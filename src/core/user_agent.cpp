#include "core/user_agent.h"

namespace gh {
namespace {

bool Has(std::string_view ua, std::string_view needle) {
  return ua.find(needle) != std::string_view::npos;
}

// The major version that follows `token` (e.g. "Chrome/"), or "" when absent.
std::string MajorAfter(std::string_view ua, std::string_view token) {
  size_t pos = ua.find(token);
  if (pos == std::string_view::npos) return "";
  pos += token.size();
  std::string v;
  while (pos < ua.size() && ua[pos] >= '0' && ua[pos] <= '9' && v.size() < 6) v += ua[pos++];
  return v;
}

std::string Labelled(std::string name, const std::string& major) {
  return major.empty() ? name : name + " " + major;
}

std::string Device(std::string_view ua) {
  if (Has(ua, "iPhone")) return "iPhone";
  if (Has(ua, "iPad")) return "iPad";
  if (Has(ua, "Android")) return Has(ua, "Mobile") ? "Android phone" : "Android tablet";
  if (Has(ua, "Macintosh") || Has(ua, "Mac OS X")) return "Mac";
  if (Has(ua, "Windows")) return "Windows PC";
  if (Has(ua, "CrOS")) return "Chromebook";
  if (Has(ua, "Linux") || Has(ua, "X11")) return "Linux PC";
  return "Unknown device";
}

std::string Browser(std::string_view ua) {
  // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
  if (Has(ua, "Edg/")) return Labelled("Edge", MajorAfter(ua, "Edg/"));
  if (Has(ua, "OPR/")) return Labelled("Opera", MajorAfter(ua, "OPR/"));
  if (Has(ua, "Firefox/")) return Labelled("Firefox", MajorAfter(ua, "Firefox/"));
  if (Has(ua, "Chromium/")) return Labelled("Chromium", MajorAfter(ua, "Chromium/"));
  if (Has(ua, "Chrome/")) return Labelled("Chrome", MajorAfter(ua, "Chrome/"));
  if (Has(ua, "Safari/") && Has(ua, "Version/")) return Labelled("Safari", MajorAfter(ua, "Version/"));
  if (ua.rfind("curl/", 0) == 0) return Labelled("curl", MajorAfter(ua, "curl/"));
  if (ua.rfind("python-requests/", 0) == 0) {
    return Labelled("python-requests", MajorAfter(ua, "python-requests/"));
  }
  return "Unknown browser";
}

}  // namespace

DeviceInfo ParseUserAgent(std::string_view ua) {
  ua = ua.substr(0, 512);
  return {Device(ua), Browser(ua)};
}

}  // namespace gh
