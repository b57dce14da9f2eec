#include "service/workspaces.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "core/image.h"
#include "core/validation.h"
#include "service/api_keys.h"
#include "service/audit.h"

namespace gh {
namespace {

Error RegionImmutable() {
  return Error::Invalid("region_immutable", "region",
                        "The region is set at workspace creation and cannot be changed.");
}

Error InvalidTimezone() {
  return Error::Invalid("invalid_timezone", "timezone",
                        "Timezone must be an IANA time zone such as Europe/Berlin.");
}

Error InvalidLanguage() {
  return Error::Invalid("invalid_language", "language",
                        "Language must be a BCP 47 tag such as en or pt-BR.");
}

}  // namespace

Workspaces::Workspaces(Store& store, const Config& config, const Catalogue& catalogue,
                       IdentityCache& cache, KeyIndexSync& keys, const Clock& clock)
    : store_(store), config_(config), catalogue_(catalogue), cache_(cache), keys_(keys),
      clock_(clock) {}

WorkspaceView Workspaces::ViewOf(StoreReader& reads, const Workspace& w, const std::string& role) {
  const Plan* plan = config_.FindPlan(w.plan);
  return {w, role, reads.MemberCount(w.id), plan ? plan->member_limit : 0};
}

Result<WorkspaceView> Workspaces::Create(const Principal& p, const WorkspaceInput& in) {
  auto name = validation::WorkspaceName(in.name.value_or(""));
  if (!name) return name.error();
  Workspace w;
  w.region = in.region.value_or(config_.default_region);
  bool known_region = false;
  for (const auto& r : config_.regions) known_region = known_region || r == w.region;
  if (!known_region) {
    std::string list;
    for (const auto& r : config_.regions) list += (list.empty() ? "" : ", ") + r;
    return Error::Invalid("invalid_region", "region", "Region must be one of: " + list + ".");
  }
  w.timezone = in.timezone.value_or("UTC");
  if (!validation::IsIanaTimezone(w.timezone)) return InvalidTimezone();
  w.language = in.language.value_or("en");
  if (!validation::IsLanguageTag(w.language)) return InvalidLanguage();
  if (in.audit_retention_days) {
    return Error::Invalid("unknown_field", "audit_retention_days",
                          "Set audit_retention_days after creation with PATCH.");
  }
  UnixTime now = clock_.Now();
  w.id = NewId("ws");
  w.name = *name;
  w.plan = config_.default_plan;
  w.subscription_status = config_.default_subscription_status;
  w.audit_retention_days = 365;
  w.created_at = now;
  w.updated_at = now;
  Membership owner{NewId("mem"), w.id, p.user.id, catalogue_.creator_role, now};

  auto made = store_.Write([&](WriteTx& tx) -> Status {
    // Counted under the user's lock: concurrent creations cannot all pass the cap.
    if (!tx.LockUser(p.user.id)) return Error::NotFound("user");
    if (int cap = config_.limits.workspaces_per_account; cap > 0) {
      int held = 0;
      for (const auto& wr : tx.WorkspacesOfUser(p.user.id)) {
        held += wr.membership.role == catalogue_.creator_role;
      }
      if (held >= cap) {
        Error e{ErrorKind::kRateLimited, "too_many_workspaces",
                "You already hold " + std::to_string(held) + " workspaces as " +
                    catalogue_.FindRole(catalogue_.creator_role)->name +
                    ", the most one account may; delete one or hand it over first.",
                {}};
        e.retry_after_seconds = 3600;
        return e;
      }
    }
    tx.InsertWorkspace(w);
    tx.InsertMembership(owner);
    nlohmann::json details = {{"name", w.name}, {"region", w.region}, {"timezone", w.timezone}};
    AppendAudit(tx, p, {w.id, "workspace.created", "workspace", w.id, w.name, "", details.dump()},
                now);
    ApiKey publishable = NewPublishableKey(w.id, p.user.id, now);
    tx.InsertApiKey(publishable);
    AppendAudit(tx, p, {w.id, "api_key.created", "api_key", publishable.id, publishable.name, "",
                        KeyAuditSummary(publishable)},
                now);
    keys_.PutAfterCommit(tx, {publishable});
    tx.AfterCommit([this] { cache_.ForgetMemberships(); });
    return {};
  });
  if (!made.ok()) return made.error();
  return ViewOf(store_, w, owner.role);
}

std::vector<WorkspaceView> Workspaces::ListMine(const Principal& p) {
  std::vector<WorkspaceView> out;
  for (auto& wr : store_.WorkspacesOfUser(p.user.id)) {
    out.push_back(ViewOf(store_, wr.workspace, wr.membership.role));
  }
  return out;
}

Result<WorkspaceView> Workspaces::Get(const Membership& m) {
  auto w = store_.WorkspaceById(m.workspace_id);
  if (!w) return Error::NotFound("workspace");
  return ViewOf(store_, *w, m.role);
}

Result<WorkspaceView> Workspaces::Update(const Principal& p, const Membership& m,
                                         const WorkspaceInput& in) {
  return store_.Write([&](WriteTx& tx) -> Result<WorkspaceView> {
  // Read under the row's lock and written whole: a concurrent change of another setting
  // (or of the logo) is not written back over.
  auto current = tx.LockWorkspace(m.workspace_id);
  if (!current) return Error::NotFound("workspace");
  Workspace w = *current;
  nlohmann::json changes = nlohmann::json::object();
  if (in.region && *in.region != w.region) return RegionImmutable();
  if (in.name) {
    auto name = validation::WorkspaceName(*in.name);
    if (!name) return name.error();
    if (*name != w.name) changes["name"] = {{"from", w.name}, {"to", *name}};
    w.name = *name;
  }
  if (in.timezone) {
    if (!validation::IsIanaTimezone(*in.timezone)) return InvalidTimezone();
    if (*in.timezone != w.timezone) changes["timezone"] = {{"from", w.timezone}, {"to", *in.timezone}};
    w.timezone = *in.timezone;
  }
  if (in.language) {
    if (!validation::IsLanguageTag(*in.language)) return InvalidLanguage();
    if (*in.language != w.language) changes["language"] = {{"from", w.language}, {"to", *in.language}};
    w.language = *in.language;
  }
  if (in.audit_retention_days) {
    const Plan* plan = config_.FindPlan(w.plan);
    // Seven years is the ceiling whatever a plan says (the top plan's limit in the spec).
    constexpr int kMaxRetentionDays = 2555;
    int max = std::min(plan ? plan->max_audit_retention_days : 365, kMaxRetentionDays);
    int days = *in.audit_retention_days;
    if (days < 1 || days > max) {
      return Error::Invalid("invalid_retention", "audit_retention_days",
                            "Audit retention must be between 1 and " + std::to_string(max) +
                                " days on the " + (plan ? plan->name : w.plan) + " plan.");
    }
    if (days != w.audit_retention_days) {
      changes["audit_retention_days"] = {{"from", w.audit_retention_days}, {"to", days}};
    }
    w.audit_retention_days = days;
  }
  if (in.require_mfa && *in.require_mfa != w.require_mfa) {
    // Whoever turns it on must have it, or they would lock themselves out at once.
    if (*in.require_mfa && !p.user.mfa_enabled) {
      return Error::Invalid("mfa_enrollment_required", "require_mfa",
                            "Turn on two-factor authentication for your own account first.");
    }
    changes["require_mfa"] = {{"from", w.require_mfa}, {"to", *in.require_mfa}};
    w.require_mfa = *in.require_mfa;
  }
  if (in.sso_enforced && *in.sso_enforced != w.sso_enforced) {
    if (*in.sso_enforced) {
      bool active = false;
      for (const auto& c : tx.SsoConnections(w.id)) active = active || c.status == "active";
      if (!active) {
        return Error::Conflict("sso_not_active",
                               "Enable an SSO connection (tested, then active) before enforcing "
                               "single sign-on.",
                               "sso_enforced");
      }
    }
    changes["sso_enforced"] = {{"from", w.sso_enforced}, {"to", *in.sso_enforced}};
    w.sso_enforced = *in.sso_enforced;
  }
  if (changes.empty()) return ViewOf(tx, w, m.role);
  UnixTime now = clock_.Now();
  w.updated_at = now;
  tx.UpdateWorkspace(w);
  AppendAudit(tx, p, {w.id, "workspace.updated", "workspace", w.id, w.name, "",
                      nlohmann::json{{"changes", changes}}.dump()},
              now);
  // Monthly quotas count in the workspace's time zone.
  if (changes.contains("timezone")) keys_.ReindexAfterCommit(tx, w.id);
  tx.AfterCommit([this] { cache_.ForgetMemberships(); });
  return ViewOf(tx, w, m.role);
  });
}

Status Workspaces::Delete(const Principal& p, const Membership& m, const std::string& confirm) {
  if (confirm != "DELETE") {
    return Error::Invalid("confirmation_required", "confirm",
                          "Type DELETE to confirm deleting the workspace.");
  }
  return store_.Write([&](WriteTx& tx) -> Status {
    auto w = tx.LockWorkspace(m.workspace_id);
    if (!w) return Error::NotFound("workspace");
    UnixTime now = clock_.Now();
    // The event goes into the workspace's own chain, which outlives the workspace row.
    AppendAudit(tx, p, {w->id, "workspace.deleted", "workspace", w->id, w->name, "", "{}"}, now);
    tx.DeleteWorkspace(w->id, now);
    keys_.RemoveWorkspaceAfterCommit(tx, w->id);
    tx.AfterCommit([this] { cache_.ForgetMemberships(); });
    return {};
  });
}

Result<std::string> Workspaces::PutLogo(const Principal& p, const Membership& m,
                                        const std::string& bytes) {
  const std::string& ws = m.workspace_id;
  if (bytes.size() > kMaxLogoBytes) {
    return Error{ErrorKind::kTooLarge, "file_too_large", "The logo must be at most 2 MB.", "file"};
  }
  std::string type = SniffImageType(bytes);
  if (type.empty()) {
    return Error{ErrorKind::kUnsupportedMedia, "unsupported_image",
                 "The logo must be a PNG, JPEG or WebP image.", "file"};
  }
  auto size = DeclaredImageSize(bytes);
  if (!size) {
    return Error::Invalid("invalid_image", "file",
                          "The logo's width and height could not be read from the file.");
  }
  if (size->width > kMaxLogoSide || size->height > kMaxLogoSide) {
    return Error::Invalid("image_too_large", "file",
                          "The logo may be at most " + std::to_string(kMaxLogoSide) + "×" +
                              std::to_string(kMaxLogoSide) + " pixels; this one is " +
                              std::to_string(size->width) + "×" + std::to_string(size->height) +
                              ".");
  }
  return store_.Write([&](WriteTx& tx) -> Result<std::string> {
    auto w = tx.LockWorkspace(ws);
    if (!w) return Error::NotFound("workspace");
    UnixTime now = clock_.Now();
    w->logo_content_type = type;
    w->logo_updated_at = now;
    w->updated_at = now;
    tx.PutLogo(ws, {type, bytes, now});
    tx.UpdateWorkspace(*w);
    AppendAudit(tx, p, {ws, "workspace.logo_updated", "workspace", ws, w->name, "",
                        nlohmann::json{{"content_type", type}, {"bytes", bytes.size()}}.dump()},
                now);
    tx.AfterCommit([this] { cache_.ForgetMemberships(); });
    return "/v1/workspaces/" + ws + "/logo?v=" + std::to_string(now);
  });
}

Result<Logo> Workspaces::GetLogo(const Membership& m) {
  auto logo = store_.LogoOf(m.workspace_id);
  if (!logo) return Error::NotFound("logo");
  return *logo;
}

}  // namespace gh
