#include "service/ip_allowlist.h"

#include <nlohmann/json.hpp>

#include "core/validation.h"
#include "service/audit.h"

namespace gh {
namespace {

std::string EntryField(size_t i, const char* name) {
  return "entries[" + std::to_string(i) + "]." + name;
}

nlohmann::json EntriesJson(const std::vector<IpAllowEntry>& entries) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries) out.push_back({{"cidr", e.cidr}, {"label", e.label}});
  return out;
}

IpAllowlistView ViewOf(const Workspace& w) {
  return {w.ip_allowlist_enabled, w.ip_allowlist, w.ip_allowlist_updated_at};
}

}  // namespace

Result<std::vector<IpAllowEntry>> ValidateIpAllowlist(
    const std::vector<IpAllowlistInput::Entry>& entries) {
  if (entries.size() > IpAllowlists::kMaxEntries) {
    return Error::Invalid(
        "too_many_entries", "entries",
        "An IP allowlist holds at most " + std::to_string(IpAllowlists::kMaxEntries) + " entries.");
  }
  std::vector<IpAllowEntry> out;
  out.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    auto cidr = ParseCidr(validation::Trim(entries[i].cidr));
    if (!cidr) {
      return Error::Invalid("invalid_cidr", EntryField(i, "cidr"),
                            "'" + entries[i].cidr +
                                "' is not an IPv4 or IPv6 address or CIDR range with its host "
                                "bits zero (such as 203.0.113.0/24 or 2001:db8::/32).");
    }
    std::string label = validation::Trim(entries[i].label);
    if (!validation::IsSingleLine(label) ||
        validation::CodePoints(label) > IpAllowlists::kMaxLabel) {
      return Error::Invalid("invalid_label", EntryField(i, "label"),
                            "A label is at most " + std::to_string(IpAllowlists::kMaxLabel) +
                                " characters, without control characters.");
    }
    for (size_t j = 0; j < out.size(); ++j) {
      if (out[j].cidr == cidr->text) {
        return Error::Invalid("duplicate_entry", EntryField(i, "cidr"),
                              cidr->text + " is listed twice (entries[" + std::to_string(j) +
                                  "] and entries[" + std::to_string(i) + "]).");
      }
    }
    out.push_back({cidr->text, std::move(label)});
  }
  return out;
}

bool IpAllowedIn(const Workspace& w, const std::string& ip) {
  if (!w.ip_allowlist_enabled) return true;
  auto addr = ParseIp(ip);
  if (!addr) return false;
  for (const auto& e : w.ip_allowlist) {
    auto c = ParseCidr(e.cidr);
    if (c && c->Contains(*addr)) return true;
  }
  return false;
}

IpAllowlists::IpAllowlists(Store& store, IdentityCache& cache, KeyIndexSync& keys, const Clock& clock)
    : store_(store), cache_(cache), keys_(keys), clock_(clock) {}

Result<IpAllowlistView> IpAllowlists::Get(const Membership& m) {
  auto w = store_.WorkspaceById(m.workspace_id);
  if (!w) return Error::NotFound("workspace");
  return ViewOf(*w);
}

Result<IpAllowlistView> IpAllowlists::Put(const Principal& p, const Membership& m,
                                          const IpAllowlistInput& in) {
  auto entries = ValidateIpAllowlist(in.entries);
  if (!entries) return entries.error();
  if (in.enabled && entries->empty()) {
    return Error::Invalid("ip_allowlist_empty", "entries",
                          "Add at least one range before blocking all other IPs.");
  }
  return store_.Write([&](WriteTx& tx) -> Result<IpAllowlistView> {
    auto current = tx.LockWorkspace(m.workspace_id);
    if (!current) return Error::NotFound("workspace");
    Workspace next = *current;
    next.ip_allowlist_enabled = in.enabled;
    next.ip_allowlist = *entries;
    // Whoever turns the list on (or edits it while it is on) must stay inside it, or the
    // change would lock them out with its own answer.
    if (in.enabled && !IpAllowedIn(next, p.client.ip)) {
      return Error::Invalid("ip_allowlist_lockout", "entries",
                            "Your current address (" +
                                (p.client.ip.empty() ? "unknown" : p.client.ip) +
                                ") is not inside the new list: saving it would lock you out. "
                                "Add a range that contains it.");
    }
    if (current->ip_allowlist_enabled == next.ip_allowlist_enabled &&
        current->ip_allowlist == next.ip_allowlist) {
      return ViewOf(*current);  // nothing changes: no write, no event
    }
    UnixTime now = clock_.Now();
    nlohmann::json details = {
        {"enabled", in.enabled},
        {"before",
         {{"enabled", current->ip_allowlist_enabled},
          {"entries", EntriesJson(current->ip_allowlist)}}},
        {"after", {{"enabled", in.enabled}, {"entries", EntriesJson(next.ip_allowlist)}}},
    };
    tx.UpdateIpAllowlist(m.workspace_id, in.enabled, next.ip_allowlist, now);
    AppendAudit(tx, p,
                {m.workspace_id, "workspace.ip_allowlist_updated", "workspace", m.workspace_id,
                 current->name, "", details.dump()},
                now);
    // Sessions and bearer keys: Access::Authorize reads the workspace from the membership
    // cache; verification: every key of the workspace carries the list compiled in.
    tx.AfterCommit([this] { cache_.ForgetMemberships(); });
    keys_.ReindexAfterCommit(tx, m.workspace_id);
    next.ip_allowlist_updated_at = now;
    return ViewOf(next);
  });
}

}  // namespace gh
