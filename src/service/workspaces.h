// Workspaces: create, list, read, update, delete, logo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/catalogue.h"
#include "core/model.h"
#include "core/result.h"
#include "service/config.h"
#include "service/context.h"
#include "service/identity_cache.h"
#include "service/key_sync.h"
#include "store/store.h"

namespace gh {

struct WorkspaceInput {
  std::optional<std::string> name;
  std::optional<std::string> region;
  std::optional<std::string> timezone;
  std::optional<std::string> language;
  std::optional<int> audit_retention_days;
  std::optional<bool> require_mfa;
  // Needs an active SSO connection (409 sso_not_active); the route checks sso.configure.
  std::optional<bool> sso_enforced;
};

// A workspace as the API shows it.
struct WorkspaceView {
  Workspace workspace;
  std::string role;  // the caller's
  int64_t member_count = 0;
  int member_limit = 0;
};

class Workspaces {
 public:
  Workspaces(Store& store, const Config& config, const Catalogue& catalogue, IdentityCache& cache,
             KeyIndexSync& keys, const Clock& clock = Clock::System());

  Result<WorkspaceView> Create(const Principal& p, const WorkspaceInput& in);
  std::vector<WorkspaceView> ListMine(const Principal& p);
  // The methods below take the caller's membership, which the caller has checked with
  // Access::Authorize for the permission the route declares.
  Result<WorkspaceView> Get(const Membership& m);
  Result<WorkspaceView> Update(const Principal& p, const Membership& m, const WorkspaceInput& in);
  Status Delete(const Principal& p, const Membership& m, const std::string& confirm);
  // Returns the logo's URL path.
  Result<std::string> PutLogo(const Principal& p, const Membership& m, const std::string& bytes);
  Result<Logo> GetLogo(const Membership& m);

  static constexpr size_t kMaxLogoBytes = 2 * 1024 * 1024;
  // Pixels per side a logo may declare: a 4096×4096 RGBA image decodes to 64 MiB in every
  // browser that shows it, and a logo never needs more.
  static constexpr uint32_t kMaxLogoSide = 4096;

 private:
  WorkspaceView ViewOf(StoreReader& reads, const Workspace& w, const std::string& role);

  Store& store_;
  const Config& config_;
  const Catalogue& catalogue_;
  IdentityCache& cache_;
  KeyIndexSync& keys_;
  const Clock& clock_;
};

}  // namespace gh
