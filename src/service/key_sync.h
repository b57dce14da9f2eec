// Keeps the in-memory key index (KeyIndex) in step with the store: after each commit of this
// process that wrote keys, projects' default limits or a workspace's time zone or allowlist
// (through WriteTx::AfterCommit, so a rolled-back change never reaches it), and, every
// second, with what other processes sharing the store committed (Refresh).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "service/context.h"
#include "service/key_index.h"
#include "store/store.h"

namespace gh {

class KeyIndexSync {
 public:
  KeyIndexSync(Store& store, KeyIndex& index, const Clock& clock = Clock::System());

  // Once `tx` commits, the index holds `keys` as written there (their versions order
  // updates that race each other; see KeyIndex::Put).
  void PutAfterCommit(WriteTx& tx, std::vector<ApiKey> keys);
  // Once `tx` commits, every key of the workspace is compiled again from the store: after a
  // change of a project's default limits, a project's deletion, the workspace's time zone or
  // IP allowlist.
  void ReindexAfterCommit(WriteTx& tx, const std::string& workspace_id);
  // Once `tx` commits, the index forgets the workspace's keys.
  void RemoveWorkspaceAfterCommit(WriteTx& tx, const std::string& workspace_id);

  // Applies what other processes sharing the store changed: keys created, edited, rotated or
  // revoked, projects' default limits, time zones, deleted workspaces. Called every second at
  // normal priority (another process's revocation must not wait for an idle core); a call
  // while one runs returns at once. Reads what changed since the previous call minus
  // kRefreshOverlapSeconds, so that a transaction that committed late (or a clock a little
  // behind) is still seen.
  void Refresh();

  KeyIndex& index() { return index_; }

 private:
  void Put(const std::vector<ApiKey>& keys);
  void ReindexWorkspace(const std::string& workspace_id);

  Store& store_;
  KeyIndex& index_;
  const Clock& clock_;
  // After-commit updates read the store and write the index one at a time, so that of two
  // updates the later one also read the later state (a project's limits, a time zone).
  std::mutex apply_mu_;
  static constexpr UnixTime kRefreshOverlapSeconds = 10;
  std::mutex refresh_mu_;
  UnixTime last_refresh_ = 0;  // guarded by refresh_mu_
};

}  // namespace gh
