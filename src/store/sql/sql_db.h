// The small SQL seam under SqlStore: connections that run parameterised statements and
// return materialised rows. Statements are written once with $1…$n placeholders, which both
// SQLite and PostgreSQL accept; each backend caches the prepared form per connection.
#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "store/store.h"

namespace gh::sql {

// Raw bytes, bound as a BLOB / BYTEA.
struct Blob {
  std::string bytes;
};

using Value = std::variant<std::nullptr_t, int64_t, std::string, Blob>;
using Params = std::vector<Value>;

inline Value Opt(const std::optional<int64_t>& v) {
  return v ? Value(*v) : Value(nullptr);
}

// One result row; cells are text (integers in decimal, blobs as raw bytes) or NULL.
class Row {
 public:
  explicit Row(std::vector<std::optional<std::string>> cells) : cells_(std::move(cells)) {}
  bool IsNull(size_t i) const { return !cells_.at(i).has_value(); }
  const std::string& Text(size_t i) const {
    static const std::string kEmpty;
    return cells_.at(i) ? *cells_[i] : kEmpty;
  }
  // Moves the text out of the cell, for rows read once into a record (large pages).
  std::string Take(size_t i) { return cells_.at(i) ? std::move(*cells_[i]) : std::string(); }
  int64_t Int(size_t i) const { return cells_.at(i) ? std::stoll(*cells_[i]) : 0; }
  std::optional<int64_t> OptInt(size_t i) const {
    return cells_.at(i) ? std::optional<int64_t>(std::stoll(*cells_[i])) : std::nullopt;
  }

 private:
  std::vector<std::optional<std::string>> cells_;
};

// One row of a streamed result: views into the driver's buffers, valid only during the
// callback that receives it. A NULL cell has a null data().
class RowView {
 public:
  explicit RowView(const std::vector<std::string_view>& cells) : cells_(cells) {}
  bool IsNull(size_t i) const { return cells_[i].data() == nullptr; }
  std::string_view Text(size_t i) const { return cells_[i]; }
  int64_t Int(size_t i) const {
    int64_t v = 0;
    std::from_chars(cells_[i].data(), cells_[i].data() + cells_[i].size(), v);
    return v;
  }

 private:
  const std::vector<std::string_view>& cells_;
};

// A query's rows read a few at a time, for results too large to materialise. Open one inside a
// transaction begun with Db::BeginSnapshotSql() and destroy it before that transaction ends;
// its connection runs nothing else meanwhile.
class Cursor {
 public:
  virtual ~Cursor() = default;
  // Calls `fn` for each of the next `max` rows at most; returns how many were read, which is
  // fewer than `max` only once the result is exhausted.
  virtual int Fetch(int max, const std::function<void(const RowView&)>& fn) = 0;
};

// A unique or primary-key constraint was violated.
class UniqueViolation : public StoreError {
 public:
  using StoreError::StoreError;
};

class Conn {
 public:
  virtual ~Conn() = default;
  virtual std::vector<Row> Query(std::string_view sql, const Params& params = {}) = 0;
  // Returns the number of rows changed.
  virtual int64_t Exec(std::string_view sql, const Params& params = {}) = 0;
  // Runs a script of several statements without parameters (migrations).
  virtual void ExecScript(std::string_view sql) = 0;
  // Streams a query's rows; see Cursor. The cursor must not outlive this connection's lease.
  virtual std::unique_ptr<Cursor> OpenCursor(std::string_view sql, const Params& params) = 0;
};

// A connection borrowed from a pool; returned on destruction.
class Lease {
 public:
  Lease(Conn* conn, std::function<void(Conn*)> release)
      : conn_(conn), release_(std::move(release)) {}
  Lease(Lease&& o) noexcept : conn_(std::exchange(o.conn_, nullptr)), release_(std::move(o.release_)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (conn_ && release_) release_(conn_);
  }
  Conn* operator->() const { return conn_; }
  Conn& operator*() const { return *conn_; }

 private:
  Conn* conn_;
  std::function<void(Conn*)> release_;
};

// A database: pools of connections plus the dialect's few differences.
class Db {
 public:
  virtual ~Db() = default;
  virtual std::string Backend() const = 0;
  virtual Lease Reader() = 0;
  virtual Lease Writer() = 0;
  // The statement that opens a write transaction ("BEGIN IMMEDIATE" on SQLite).
  virtual std::string_view BeginSql() const = 0;
  // What a locking read appends (" FOR UPDATE" on PostgreSQL; "" on SQLite, whose write
  // transactions hold the database's write lock from BEGIN IMMEDIATE on).
  virtual std::string_view ForUpdateSql() const = 0;
  // The statement that opens a read-only transaction reading one snapshot of the database
  // throughout (REPEATABLE READ on PostgreSQL; any read transaction in SQLite's WAL mode).
  virtual std::string_view BeginSnapshotSql() const = 0;
  // Applies the backend's migrations; returns {from, to}.
  virtual std::pair<int, int> Migrate() = 0;
  virtual int LatestSchemaVersion() const = 0;
};

std::unique_ptr<Db> OpenSqlite(const std::string& path);
std::unique_ptr<Db> OpenPostgres(const std::string& conninfo);

// A numbered, forward-only schema change.
struct Migration {
  int version;
  const char* sql;
  // Optional data backfill after `sql`: one statement that changes at most a batch of rows
  // and is repeated, each run in its own transaction, until it changes none. It runs at every
  // Migrate() once its migration is applied, so an interrupted backfill resumes; it must be
  // cheap when there is nothing left to do (an index on the rows still to fill).
  const char* backfill = nullptr;
};

// Shared migration runner: creates schema_migrations, refuses a store newer than
// `migrations`, applies the missing ones each in its own transaction, then runs the
// backfills of the applied ones in batches.
std::pair<int, int> RunMigrations(Conn& conn, std::string_view begin_sql,
                                  const std::vector<Migration>& migrations);

}  // namespace gh::sql

namespace gh::sql {

// Called after every statement with the backend name and its duration, for /metrics.
using QueryObserver = void (*)(const char* backend, double seconds);
void SetQueryObserver(QueryObserver observer);
QueryObserver GetQueryObserver();

// Times one statement and reports it to the observer, if any.
class QueryTimer {
 public:
  explicit QueryTimer(const char* backend);
  ~QueryTimer();

 private:
  const char* backend_;
  int64_t start_ns_;
};

}  // namespace gh::sql
