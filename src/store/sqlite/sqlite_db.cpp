// SQLite backend: WAL, busy_timeout, foreign keys; one writer connection and a pool of
// readers, each with its prepared statements cached; WAL checkpoints off the writer's path.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "store/sql/sql_db.h"

namespace gh::sql {

const std::vector<Migration>& SqliteMigrations();

namespace {

// Statement journals in memory. A statement that may change several rows inside a transaction
// (each 50-event INSERT of a batch append) first copies every page it is about to change into
// a statement journal, so that it can be undone alone if it fails. Past 64 KiB SQLite moves
// that journal into a temporary file: for a batch append to the audit log's nine B-trees that
// was two-thirds of all write system calls, and the batch path went from 36,000 to 52,000
// events/s without it. The store's statements change bounded numbers of rows (batches of
// 50 events, purges and backfills in batches), so their journals stay a few MiB at most.
// The setting is process-wide and only takes before SQLite initialises, hence a static
// initialiser. (-1 rather than a large threshold: SQLite would allocate the threshold as one
// chunk for every statement journal, which halved the batch rate at 64 MiB.)
const bool kStatementJournalsInMemory =
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1) == SQLITE_OK;

// A statement stepped a few rows at a time; it owns the statement (prepared for it alone, with
// its parameters copied) and finalizes it.
class SqliteCursor final : public Cursor {
 public:
  SqliteCursor(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteCursor() override { sqlite3_finalize(stmt_); }

  int Fetch(int max, const std::function<void(const RowView&)>& fn) override {
    // Observed as one statement per call, timing the steps only (not what `fn` does).
    QueryObserver observer = GetQueryObserver();
    std::chrono::steady_clock::duration stepping{};
    int n = 0;
    while (n < max && !done_) {
      auto start =
          observer ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
      int rc = sqlite3_step(stmt_);
      if (observer) stepping += std::chrono::steady_clock::now() - start;
      if (rc == SQLITE_DONE) {
        done_ = true;
        break;
      }
      if (rc != SQLITE_ROW) throw StoreError(std::string("SQLite: ") + sqlite3_errmsg(db_));
      int ncols = sqlite3_column_count(stmt_);
      cells_.resize(static_cast<size_t>(ncols));
      for (int i = 0; i < ncols; ++i) {
        int type = sqlite3_column_type(stmt_, i);
        const void* p = nullptr;
        if (type == SQLITE_BLOB) {
          p = sqlite3_column_blob(stmt_, i);
        } else if (type != SQLITE_NULL) {
          p = sqlite3_column_text(stmt_, i);
        }
        // An empty blob comes back as a null pointer; it is not NULL.
        if (!p && type != SQLITE_NULL) p = "";
        cells_[static_cast<size_t>(i)] =
            p ? std::string_view(static_cast<const char*>(p),
                                 static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
              : std::string_view();
      }
      fn(RowView(cells_));
      ++n;
    }
    if (observer) observer("sqlite", std::chrono::duration<double>(stepping).count());
    return n;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool done_ = false;
  std::vector<std::string_view> cells_;
};

class SqliteConn final : public Conn {
 public:
  SqliteConn(const std::string& path, bool readonly) {
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw StoreError("cannot open SQLite database " + path + ": " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 5000);
    ExecScript("PRAGMA foreign_keys=ON");
    if (!readonly) {
      ExecScript("PRAGMA journal_mode=WAL");
      ExecScript("PRAGMA synchronous=NORMAL");
      // The one writer keeps the index pages that appends touch (the right edges of the audit
      // indexes and more) in its own cache: 2 MiB by default, which made every batch append
      // read pages back from the file. 32 MiB at most, only as far as they are used.
      ExecScript("PRAGMA cache_size=-32768");
      // SQLite was initialised before this file's static initialiser ran: keep statement
      // journals in memory this way instead (TEMP tables too, which the store does not use).
      if (!kStatementJournalsInMemory) ExecScript("PRAGMA temp_store=MEMORY");
    }
  }

  ~SqliteConn() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st.stmt);
    sqlite3_close(db_);
  }

  std::vector<Row> Query(std::string_view sql, const Params& params) override {
    std::vector<Row> rows;
    Run(sql, params, &rows);
    return rows;
  }

  int64_t Exec(std::string_view sql, const Params& params) override {
    Run(sql, params, nullptr);
    return sqlite3_changes64(db_);
  }

  void ExecScript(std::string_view sql) override {
    std::string s(sql);
    char* err = nullptr;
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw StoreError("SQLite: " + msg);
    }
  }

  std::unique_ptr<Cursor> OpenCursor(std::string_view sql, const Params& params) override {
    QueryTimer timer("sqlite");
    Prepared p = PrepareStatement(sql, 0);
    try {
      Bind(p, params, SQLITE_TRANSIENT);  // the parameters need not outlive this call
    } catch (...) {
      sqlite3_finalize(p.stmt);
      throw;
    }
    return std::make_unique<SqliteCursor>(db_, p.stmt);
  }

 private:
  struct Prepared {
    sqlite3_stmt* stmt = nullptr;
    std::vector<int> index_of;  // $k -> bind index, for k = 1..n
  };

  Prepared& Prepare(std::string_view sql) {
    auto it = cache_.find(std::string(sql));
    if (it != cache_.end()) return it->second;
    return cache_.emplace(std::string(sql), PrepareStatement(sql, SQLITE_PREPARE_PERSISTENT))
        .first->second;
  }

  Prepared PrepareStatement(std::string_view sql, unsigned flags) {
    Prepared p;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &p.stmt,
                           nullptr) != SQLITE_OK) {
      throw StoreError(std::string("SQLite prepare: ") + sqlite3_errmsg(db_) + " in: " +
                       std::string(sql));
    }
    int n = sqlite3_bind_parameter_count(p.stmt);
    p.index_of.assign(static_cast<size_t>(n) + 1, 0);
    for (int i = 1; i <= n; ++i) {
      const char* name = sqlite3_bind_parameter_name(p.stmt, i);
      if (name && name[0] == '$') {
        int k = std::atoi(name + 1);
        if (k >= 1 && k <= n) p.index_of[static_cast<size_t>(k)] = i;
      }
    }
    return p;
  }

  void Bind(Prepared& p, const Params& params, sqlite3_destructor_type lifetime = SQLITE_STATIC) {
    for (size_t k = 1; k <= params.size(); ++k) {
      int i = k < p.index_of.size() ? p.index_of[k] : 0;
      if (i == 0) continue;  // parameter not used by this statement
      const Value& v = params[k - 1];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::nullptr_t>(v)) {
        rc = sqlite3_bind_null(p.stmt, i);
      } else if (auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(p.stmt, i, *n);
      } else if (auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text64(p.stmt, i, s->data(), s->size(), lifetime, SQLITE_UTF8);
      } else {
        const auto& b = std::get<Blob>(v).bytes;
        rc = sqlite3_bind_blob64(p.stmt, i, b.data(), b.size(), lifetime);
      }
      if (rc != SQLITE_OK) throw StoreError(std::string("SQLite bind: ") + sqlite3_errmsg(db_));
    }
  }

  void Run(std::string_view sql, const Params& params, std::vector<Row>* rows) {
    QueryTimer timer("sqlite");
    Prepared& p = Prepare(sql);
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{p.stmt};
    Bind(p, params);
    while (true) {
      int rc = sqlite3_step(p.stmt);
      if (rc == SQLITE_DONE) return;
      if (rc != SQLITE_ROW) {
        std::string msg = sqlite3_errmsg(db_);
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
          throw UniqueViolation("SQLite: " + msg);
        }
        // Another process held the write lock past busy_timeout (or a snapshot went stale):
        // nothing of this transaction was written, and Store::Write runs it again.
        if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
          throw RetryableStoreError("SQLite: " + msg);
        }
        throw StoreError("SQLite: " + msg);
      }
      if (!rows) continue;
      int n = sqlite3_column_count(p.stmt);
      std::vector<std::optional<std::string>> cells;
      cells.reserve(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        int type = sqlite3_column_type(p.stmt, i);
        if (type == SQLITE_NULL) {
          cells.emplace_back(std::nullopt);
        } else if (type == SQLITE_BLOB) {
          const void* b = sqlite3_column_blob(p.stmt, i);
          int len = sqlite3_column_bytes(p.stmt, i);
          cells.emplace_back(std::string(static_cast<const char*>(b), static_cast<size_t>(len)));
        } else {
          const unsigned char* t = sqlite3_column_text(p.stmt, i);
          int len = sqlite3_column_bytes(p.stmt, i);
          cells.emplace_back(std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(len)));
        }
      }
      rows->emplace_back(std::move(cells));
    }
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, Prepared> cache_;

 public:
  sqlite3* handle() const { return db_; }
};

// Copies the WAL back into the database file on a thread of its own, with its own connection.
// SQLite's default runs that checkpoint inside the commit that takes the WAL past 1,000 pages,
// so the writer paid for it: a quarter of the batch append's time (measured 29,000 events/s
// with it, 37,000 without). PASSIVE checkpoints never wait for, nor block, readers and the
// writer. But the WAL starts over only after a checkpoint has copied all of it, which a
// background pass never does while the writer keeps appending; so when the WAL reaches
// kWriterCheckpointPages the writer, after its commit, waits for the background pass in
// progress and then checkpoints the rest itself (by then there is little left). That bounds
// the WAL even when this thread gets no time at all (tests/unit/sqlite_checkpoint_test.cpp).
class Checkpointer {
 public:
  static constexpr int kBackgroundPages = 1000;  // SQLite's own autocheckpoint threshold
  static constexpr int kWriterCheckpointPages = 10000;  // 40 MiB of WAL at 4 KiB pages

  explicit Checkpointer(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                        nullptr) != SQLITE_OK) {
      sqlite3_close(db_);
      db_ = nullptr;
      return;  // the writer's own checkpoints remain
    }
    // Reads the header, so that this connection knows the file is in WAL mode (a checkpoint
    // by a connection that has not is a no-op).
    if (sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
      sqlite3_close(db_);
      db_ = nullptr;
      return;
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    sqlite3_close(db_);
  }

  bool running() const { return db_ != nullptr; }

  // By the writer, after its commit, when the WAL has reached kWriterCheckpointPages.
  void CheckpointNow(sqlite3* writer) {
    std::lock_guard lock(checkpoint_mu_);  // a concurrent checkpoint would make this one a no-op
    sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }

  // Called by the writer after a commit that left the WAL past kBackgroundPages.
  void Poke() {
    std::lock_guard lock(mu_);
    pending_ = true;
    cv_.notify_one();
  }

 private:
  // At normal priority: unlike the bookkeeping, this work cannot wait (a starved pass leaves
  // it to the writer, in one stall at kWriterCheckpointPages instead of small steps).
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return pending_ || stop_; });
      if (stop_) return;
      pending_ = false;
      lock.unlock();
      {
        std::lock_guard checkpoint(checkpoint_mu_);
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      lock.lock();
    }
  }

  sqlite3* db_ = nullptr;
  std::thread thread_;
  std::mutex checkpoint_mu_;  // one checkpoint at a time, this thread's or the writer's
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
};

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(std::string path) : path_(std::move(path)) {
    writer_ = std::make_unique<SqliteConn>(path_, false);
    bool in_memory = path_.find(":memory:") != std::string::npos ||
                     path_.find("mode=memory") != std::string::npos;
    if (!in_memory) {
      checkpointer_ = std::make_unique<Checkpointer>(path_);
      if (checkpointer_->running()) sqlite3_wal_hook(writer_->handle(), &SqliteDb::OnCommit, this);
    }
  }

  ~SqliteDb() override {
    if (checkpointer_ && checkpointer_->running()) sqlite3_wal_hook(writer_->handle(), nullptr, nullptr);
  }

  std::string Backend() const override { return "sqlite"; }
  std::string_view BeginSql() const override { return "BEGIN IMMEDIATE"; }
  std::string_view BeginSnapshotSql() const override { return "BEGIN"; }
  std::string_view ForUpdateSql() const override { return ""; }
  int LatestSchemaVersion() const override { return SqliteMigrations().back().version; }

  std::pair<int, int> Migrate() override {
    auto lease = Writer();
    return RunMigrations(*lease, BeginSql(), SqliteMigrations());
  }

  Lease Writer() override {
    writer_mu_.lock();
    return Lease(writer_.get(), [this](Conn*) { writer_mu_.unlock(); });
  }

  Lease Reader() override {
    std::unique_lock lock(pool_mu_);
    if (idle_.empty() && created_ < kMaxReaders) {
      ++created_;
      lock.unlock();
      Conn* c = NewReader();
      return Lease(c, [this](Conn* conn) { Release(conn); });
    }
    pool_cv_.wait(lock, [&] { return !idle_.empty(); });
    Conn* c = idle_.back();
    idle_.pop_back();
    return Lease(c, [this](Conn* conn) { Release(conn); });
  }

 private:
  static constexpr int kMaxReaders = 8;

  // The writer's WAL hook (replacing SQLite's autocheckpoint), after every commit.
  static int OnCommit(void* self, sqlite3* db, const char*, int pages) {
    if (pages >= Checkpointer::kWriterCheckpointPages) {
      static_cast<SqliteDb*>(self)->checkpointer_->CheckpointNow(db);
    } else if (pages >= Checkpointer::kBackgroundPages) {
      static_cast<SqliteDb*>(self)->checkpointer_->Poke();
    }
    return SQLITE_OK;
  }

  Conn* NewReader() {
    try {
      auto conn = std::make_unique<SqliteConn>(path_, path_.find(":memory:") == std::string::npos &&
                                                          path_.find("mode=memory") == std::string::npos);
      std::lock_guard lock(pool_mu_);
      readers_.push_back(std::move(conn));
      return readers_.back().get();
    } catch (...) {
      std::lock_guard lock(pool_mu_);
      --created_;
      pool_cv_.notify_one();
      throw;
    }
  }

  void Release(Conn* c) {
    std::lock_guard lock(pool_mu_);
    idle_.push_back(c);
    pool_cv_.notify_one();
  }

  std::string path_;
  std::unique_ptr<SqliteConn> writer_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::mutex writer_mu_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<SqliteConn>> readers_;
  std::vector<Conn*> idle_;
  int created_ = 0;
};

}  // namespace

std::unique_ptr<Db> OpenSqlite(const std::string& path) {
  return std::make_unique<SqliteDb>(path);
}

}  // namespace gh::sql
