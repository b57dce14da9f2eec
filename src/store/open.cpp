#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "store/sql/sql_db.h"
#include "store/sql/sql_store.h"
#include "store/store.h"

namespace gh {
namespace {

std::unique_ptr<sql::Db> OpenDb(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0) {
    std::string path = url.substr(7);
    if (path.empty()) throw StoreError("the sqlite: URL names no file (sqlite:./data/gatehouse.db)");
    if (path != ":memory:" && path.rfind("file:", 0) != 0) {
      auto dir = std::filesystem::path(path).parent_path();
      std::error_code ec;
      if (!dir.empty()) std::filesystem::create_directories(dir, ec);
      if (ec) throw StoreError("cannot create directory " + dir.string() + ": " + ec.message());
    }
    return sql::OpenSqlite(path);
  }
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    return sql::OpenPostgres(url);
  }
  throw StoreError("unknown database URL '" + url +
                   "': use sqlite:PATH or postgres://user@host:port/db");
}

}  // namespace

void store_detail::BackOff(int attempt) {
  // 1-2 ms, 2-4 ms, 4-8 ms …: the winner of the race commits meanwhile, and two losers that
  // deadlocked on each other do not meet again in step.
  thread_local std::minstd_rand rng(std::random_device{}());
  int base = 1000 << std::min(attempt - 1, 4);
  std::this_thread::sleep_for(std::chrono::microseconds(base + static_cast<int>(rng() % base)));
}

std::unique_ptr<Store> OpenStore(const std::string& url) {
  auto db = OpenDb(url);
  db->Migrate();
  return sql::MakeSqlStore(std::move(db));
}

std::pair<int, int> MigrateStore(const std::string& url) { return OpenDb(url)->Migrate(); }

}  // namespace gh
