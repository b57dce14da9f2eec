// A small User-Agent reader for the sessions list: "MacBook" / "Chrome 120" style labels.
#pragma once

#include <string>
#include <string_view>

namespace gh {

struct DeviceInfo {
  std::string device;   // "Mac", "Windows PC", "iPhone", "Android phone", "Linux PC", "Unknown device"
  std::string browser;  // "Chrome 120", "Firefox 121", "Safari 17", "curl 8", "Unknown browser"
};

// Never fails: unknown agents yield the "Unknown …" labels. Reads at most the first 512 bytes.
DeviceInfo ParseUserAgent(std::string_view ua);

}  // namespace gh
