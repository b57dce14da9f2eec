#include "service/key_sync.h"

#include <absl/container/flat_hash_map.h>

#include <optional>

namespace gh {
namespace {

// Reads each workspace and project once, however many keys share them.
class CompileContext {
 public:
  explicit CompileContext(StoreReader& store) : store_(store) {}

  // The workspace's part of verification; nullopt when the workspace is gone.
  const std::optional<KeyWorkspace>& Workspace(const std::string& id) {
    auto it = workspaces_.find(id);
    if (it == workspaces_.end()) {
      std::optional<KeyWorkspace> kw;
      if (auto w = store_.WorkspaceById(id)) kw = KeyWorkspace::Of(*w);
      it = workspaces_.emplace(id, std::move(kw)).first;
    }
    return it->second;
  }

  const std::optional<Project>& ProjectOf(const ApiKey& k) {
    static const std::optional<Project> kNone;
    if (k.project_id.empty()) return kNone;
    auto it = projects_.find(k.project_id);
    if (it == projects_.end()) {
      it = projects_.emplace(k.project_id, store_.ProjectById(k.workspace_id, k.project_id)).first;
    }
    return it->second;
  }

 private:
  StoreReader& store_;
  absl::flat_hash_map<std::string, std::optional<KeyWorkspace>> workspaces_;
  absl::flat_hash_map<std::string, std::optional<Project>> projects_;
};

}  // namespace

KeyIndexSync::KeyIndexSync(Store& store, KeyIndex& index, const Clock& clock)
    : store_(store), index_(index), clock_(clock) {}

void KeyIndexSync::PutAfterCommit(WriteTx& tx, std::vector<ApiKey> keys) {
  if (keys.empty()) return;
  tx.AfterCommit([this, keys = std::move(keys)] { Put(keys); });
}

void KeyIndexSync::ReindexAfterCommit(WriteTx& tx, const std::string& workspace_id) {
  tx.AfterCommit([this, workspace_id] { ReindexWorkspace(workspace_id); });
}

void KeyIndexSync::RemoveWorkspaceAfterCommit(WriteTx& tx, const std::string& workspace_id) {
  tx.AfterCommit([this, workspace_id] { index_.RemoveWorkspace(workspace_id); });
}

void KeyIndexSync::Put(const std::vector<ApiKey>& keys) {
  std::lock_guard lock(apply_mu_);
  CompileContext ctx(store_);
  for (const auto& k : keys) {
    const auto& ws = ctx.Workspace(k.workspace_id);
    index_.Put(k, ctx.ProjectOf(k), ws ? *ws : KeyWorkspace{});
  }
}

void KeyIndexSync::ReindexWorkspace(const std::string& workspace_id) {
  std::lock_guard lock(apply_mu_);
  CompileContext ctx(store_);
  const auto& ws = ctx.Workspace(workspace_id);
  if (!ws) return;  // deleted: its removal is the index's business
  for (const auto& k : store_.ApiKeys(workspace_id)) index_.Put(k, ctx.ProjectOf(k), *ws);
}

void KeyIndexSync::Refresh() {
  std::unique_lock lock(refresh_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  UnixTime now = clock_.Now();
  if (last_refresh_ == 0) last_refresh_ = index_.loaded_at();
  UnixTime since = last_refresh_ - kRefreshOverlapSeconds;
  uint64_t generation = index_.Generation();
  // Keys first, tombstones last: a key read before its workspace's deletion committed is
  // removed again by the tombstone read after it.
  auto keys = store_.ApiKeysUpdatedSince(since);
  auto changed = store_.WorkspacesChangedSince(since);
  auto deleted = store_.WorkspacesDeletedSince(since);
  CompileContext ctx(store_);
  auto apply = [&](const ApiKey& k) {
    const auto& ws = ctx.Workspace(k.workspace_id);
    if (!ws) return;  // deleted meanwhile: its tombstone removes its keys
    index_.PutIfUnchangedSince(k, ctx.ProjectOf(k), *ws, generation);
  };
  for (const auto& k : keys) apply(k);
  for (const auto& ws : changed) {
    for (const auto& k : store_.ApiKeys(ws)) apply(k);
  }
  for (const auto& ws : deleted) index_.RemoveWorkspace(ws);
  last_refresh_ = now;
}

}  // namespace gh
