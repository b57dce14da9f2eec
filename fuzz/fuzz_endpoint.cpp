// Endpoints as the gateway sends them, and the path patterns of API keys. Input: pattern,
// '\n', endpoint. The invariant the canonicaliser exists for: an endpoint whose canonical
// form a deny rule matches is never let through, however it was spelled.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/key_rules.h"
#include "fuzz_check.h"

namespace {

bool Unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

// Other spellings of a canonical path that an origin server resolves to the same resource.
std::vector<std::string> Spellings(const std::string& canon) {
  std::vector<std::string> out;
  std::string doubled;  // every '/' doubled
  for (char c : canon) doubled += c == '/' ? std::string("//") : std::string(1, c);
  out.push_back(doubled);
  out.push_back(canon + "/");
  out.push_back(canon + "?q=1#frag");
  out.push_back("/./" + canon.substr(1));
  out.push_back("/zz/.." + canon);
  out.push_back("/zz/%2e%2E" + canon);
  std::string escaped;  // every unreserved character percent-encoded
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < canon.size(); ++i) {
    char c = canon[i];
    if (c == '%') {  // an escape stays as it is
      escaped += canon.substr(i, 3);
      i += 2;
    } else if (Unreserved(c)) {
      escaped += '%';
      escaped += kHex[static_cast<unsigned char>(c) >> 4];
      escaped += kHex[static_cast<unsigned char>(c) & 15];
    } else {
      escaped += c;
    }
  }
  out.push_back(escaped);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view pattern = in.substr(0, nl);
  std::string_view endpoint = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  std::optional<std::string> canon = gh::CanonicalEndpoint(endpoint);
  if (canon) {
    const std::string& c = *canon;
    FUZZ_CHECK(!c.empty() && c.front() == '/');
    FUZZ_CHECK(gh::CanonicalEndpoint(c) == canon);  // idempotent
    FUZZ_CHECK(c.find("//") == std::string::npos);
    FUZZ_CHECK(c == "/" || c.back() != '/');
    FUZZ_CHECK(c.find("/./") == std::string::npos && c.find("/../") == std::string::npos);
    FUZZ_CHECK(!c.ends_with("/.") && !c.ends_with("/.."));
    for (unsigned char ch : c) FUZZ_CHECK(ch > 0x20 && ch < 0x7f && ch != '\\' && ch != ';');
    for (const auto& s : Spellings(c)) FUZZ_CHECK(gh::CanonicalEndpoint(s) == canon);
  }
  if (!gh::IsValidPathPattern(pattern)) return 0;
  FUZZ_CHECK(pattern.front() == '/' && pattern.size() <= 256);
  FUZZ_CHECK(pattern.find('*') == std::string_view::npos || pattern.find('*') == pattern.size() - 1);

  gh::ApiKey deny_key;
  deny_key.type = gh::KeyType::kSecret;
  deny_key.deny = {std::string(pattern)};
  gh::ApiKey allow_key;
  allow_key.type = gh::KeyType::kSecret;
  allow_key.allow = {std::string(pattern)};
  bool denied_match = canon && gh::EndpointMatches(pattern, *canon);
  if (denied_match) FUZZ_CHECK(!gh::KeyPermits(deny_key, endpoint, "", {}));
  if (gh::KeyPermits(allow_key, endpoint, "", {})) FUZZ_CHECK(denied_match);
  if (canon) {
    // Every other spelling gets the same decision.
    bool permitted = gh::KeyPermits(deny_key, endpoint, "", {});
    for (const auto& s : Spellings(*canon)) FUZZ_CHECK(gh::KeyPermits(deny_key, s, "", {}) == permitted);
  } else {
    FUZZ_CHECK(!gh::KeyPermits(deny_key, endpoint, "", {}));  // unresolvable: refused
  }
  return 0;
}
