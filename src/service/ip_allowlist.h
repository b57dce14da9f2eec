// The workspace IP allowlist: which address ranges may use a workspace when "block all other
// IPs" is on. Sessions and API keys acting on the workspace are refused from elsewhere
// (Access::Authorize), and so are verifications of its keys (KeyIndex).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/net.h"
#include "core/result.h"
#include "service/key_sync.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "store/store.h"

namespace gh {

// A requested allowlist, before validation.
struct IpAllowlistInput {
  bool enabled = false;
  struct Entry {
    std::string cidr;
    std::string label;
  };
  std::vector<Entry> entries;
};

struct IpAllowlistView {
  bool enabled = false;
  std::vector<IpAllowEntry> entries;
  UnixTime updated_at = 0;  // 0: never set
};

// Checks and canonicalises entries: CIDRs (a bare address is a /32 or /128; host bits are
// refused) become canonical text, labels are trimmed (at most 64 characters, no control
// characters), at most 100 entries, no two covering the same range. Errors name the field
// as `entries[2].cidr`.
Result<std::vector<IpAllowEntry>> ValidateIpAllowlist(
    const std::vector<IpAllowlistInput::Entry>& entries);

// Whether `ip` (text) may act on `w`: always when the list is off; when it is on, only an
// address inside one of its ranges (an empty or unparsable address never is).
bool IpAllowedIn(const Workspace& w, const std::string& ip);

class IpAllowlists {
 public:
  IpAllowlists(Store& store, IdentityCache& cache, KeyIndexSync& keys,
               const Clock& clock = Clock::System());

  static constexpr size_t kMaxEntries = 100;
  static constexpr size_t kMaxLabel = 64;

  // The caller's membership was authorized for ip_allowlist.manage by the route.
  Result<IpAllowlistView> Get(const Membership& m);
  // Replaces the list. Refused with 422 ip_allowlist_lockout when the list would be on and
  // the caller's own address (p.client.ip) would be outside it, and with 422
  // ip_allowlist_empty when it would be on with no entries. Records
  // workspace.ip_allowlist_updated; the caches and the key index follow before it returns.
  Result<IpAllowlistView> Put(const Principal& p, const Membership& m, const IpAllowlistInput& in);

 private:
  Store& store_;
  IdentityCache& cache_;
  KeyIndexSync& keys_;
  const Clock& clock_;
};

}  // namespace gh
