// SQLite's WAL is copied back into the database file by the store's background checkpointer,
// not by the committing writer, and stays bounded while a writer keeps appending.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/audit_chain.h"
#include "core/ids.h"
#include "store/store.h"

namespace gh {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "gatehouse-ckpt-XXXXXX").string();
    if (mkdtemp(t.data())) path = t;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

// Appends `events` events of about 2 KiB each to `chain` in one transaction.
void AppendKilobytes(Store& store, const std::string& chain, int events) {
  auto tx = store.Begin();
  std::string prev = tx->LockAuditChain(chain);
  std::vector<AuditEvent> batch;
  for (int i = 0; i < events; ++i) {
    AuditEvent e;
    e.id = NewId("evt");
    e.workspace_id = chain;
    e.occurred_at = 1'750'000'000 + i;
    e.action = "bulk.appended";
    e.actor_type = ActorType::kSystem;
    e.details_json = "{\"pad\":\"" + std::string(2000, 'x') + "\"}";
    e.prev_hash = prev;
    e.hash = AuditEventHash(e);
    prev = e.hash;
    batch.push_back(std::move(e));
  }
  tx->AppendAuditEvents(batch);
  tx->Commit();
}

uintmax_t SizeOf(const fs::path& p) {
  std::error_code ec;
  uintmax_t n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

TEST(SqliteCheckpoint, TheBackgroundCopiesTheWalIntoTheDatabaseFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  fs::path db = dir.path / "g.db";
  auto store = OpenStore("sqlite:" + db.string());
  uintmax_t before = SizeOf(db);
  // ~6 MiB in one commit: past the 1,000 pages that start a background checkpoint, far below
  // the 10,000 at which the writer would checkpoint itself.
  AppendKilobytes(*store, NewId("ws"), 3000);
  EXPECT_GT(SizeOf(fs::path(db.string() + "-wal")), 4u << 20);
  // Nothing else is written: only the background checkpointer can grow the database file.
  bool copied = false;
  for (int i = 0; i < 200 && !copied; ++i) {
    copied = SizeOf(db) > before + (4u << 20);
    if (!copied) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(copied) << "database file still " << SizeOf(db) << " bytes";
}

TEST(SqliteCheckpoint, TheWalStaysBoundedUnderContinuousAppends) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  fs::path db = dir.path / "g.db";
  auto store = OpenStore("sqlite:" + db.string());
  std::string chain = NewId("ws");
  for (int i = 0; i < 30; ++i) AppendKilobytes(*store, chain, 1000);  // ~150 MiB of WAL frames
  // The WAL file is reused, never shrunk: its size is the most it ever held. The writer's own
  // checkpoint at 10,000 pages (40 MiB) restarts it; a restart missed in a race with the
  // background pass waits for the next one, so the bound is about twice that. Without the
  // writer's checkpoint the WAL held every frame (350 MiB in this test).
  EXPECT_LT(SizeOf(fs::path(db.string() + "-wal")), 100u << 20);
  EXPECT_GT(SizeOf(db), 100u << 20);
}

// A multi-row INSERT inside a transaction first copies every page it touches into a statement
// journal. SQLite's default moves that journal into a temporary file past 64 KiB, which cost
// a batch append two write system calls per page; the store keeps it in memory.
TEST(SqliteStatementJournal, ABatchAppendWritesNoTemporaryFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  fs::path tmp = dir.path / "tmp";
  fs::create_directory(tmp);
  const char* before = getenv("SQLITE_TMPDIR");
  std::string saved = before ? before : "";
  setenv("SQLITE_TMPDIR", tmp.c_str(), 1);
  int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(inotify_add_watch(watch, tmp.c_str(), IN_CREATE), 0);
  auto created = [watch] {
    alignas(inotify_event) char buf[4096];
    return read(watch, buf, sizeof buf) > 0;
  };
  {
    auto store = OpenStore("sqlite:" + (dir.path / "g.db").string());
    // 50-event statements of ~2 KiB events: each statement's journal holds ~100 KiB of pages.
    AppendKilobytes(*store, NewId("ws"), 400);
  }
  EXPECT_FALSE(created()) << "a temporary file was created in " << tmp;
  // The watch itself works: a file created there is seen.
  { std::FILE* f = std::fopen((tmp / "probe").c_str(), "w"); if (f) std::fclose(f); }
  EXPECT_TRUE(created());
  close(watch);
  if (before) setenv("SQLITE_TMPDIR", saved.c_str(), 1); else unsetenv("SQLITE_TMPDIR");
}

}  // namespace
}  // namespace gh
