// The store conformance suite's entry point: one set of tests (the other files of this
// directory) that every Store backend must pass unchanged, run against the backend named on
// the command line.
//
//   store_conformance --backend=sqlite     a fresh temporary SQLite file, removed afterwards
//   store_conformance --backend=postgres   the database named by GATEHOUSE_TEST_PG
//
// ctest runs it twice, as store_sqlite and store_postgres.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "conformance.h"
#include "core/ids.h"
#include "store/store.h"

namespace gh::conformance {

Run& TheRun() {
  static Run run;
  return run;
}

namespace {

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

::testing::AssertionResult RawSql(const std::string& url, const std::string& sql) {
  std::filesystem::path file = TheRun().temp_dir / (NewId("sql") + ".sql");
  {
    std::ofstream out(file);
    out << sql << ";\n";
  }
  std::string cmd;
  if (url.rfind("sqlite:", 0) == 0) {
    cmd = "sqlite3 -bail -cmd '.timeout 10000' " + ShellQuote(url.substr(7)) + " < " +
          ShellQuote(file.string());
  } else {
    cmd = "psql -X -q -v ON_ERROR_STOP=1 -d " + ShellQuote(url) + " -f " +
          ShellQuote(file.string()) + " >/dev/null";
  }
  int rc = std::system(cmd.c_str());
  std::filesystem::remove(file);
  if (rc != 0) {
    return ::testing::AssertionFailure() << "`" << cmd << "` exited with " << rc << " on: " << sql;
  }
  return ::testing::AssertionSuccess();
}

namespace {

// `url` with its database name replaced: postgres://u@h:p/db?x -> postgres://u@h:p/name?x.
std::string WithDatabase(const std::string& url, const std::string& name) {
  size_t authority = url.find("://") + 3;
  size_t query = url.find('?', authority);
  std::string tail = query == std::string::npos ? "" : url.substr(query);
  std::string head = url.substr(0, query == std::string::npos ? url.size() : query);
  size_t slash = head.find('/', authority);
  if (slash != std::string::npos) head.resize(slash);
  return head + "/" + name + tail;
}

}  // namespace

ScratchDatabase::ScratchDatabase() {
  const Run& run = TheRun();
  if (run.backend == "sqlite") {
    path_ = run.temp_dir / (NewId("scratch") + ".db");
    url_ = "sqlite:" + path_.string();
  } else {
    name_ = Lower("gh_scratch_" + NewId("db").substr(3));
    ready_ = RawSql(run.url, "CREATE DATABASE " + name_);
    url_ = WithDatabase(run.url, name_);
  }
}

ScratchDatabase::~ScratchDatabase() {
  if (!path_.empty()) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(path_.string() + suffix, ec);
    }
  } else if (ready_) {
    EXPECT_TRUE(RawSql(TheRun().url, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"));
  }
}

namespace {

std::vector<std::string> BackendsToTest() {
  if (TheRun().backend.empty()) return {};
  return {TheRun().backend};
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backend, StoreConformance, ::testing::ValuesIn(BackendsToTest()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

constexpr const char* kUsage =
    "usage: store_conformance --backend=sqlite|postgres [gtest flags]\n"
    "  sqlite:   runs against a fresh temporary SQLite file\n"
    "  postgres: runs against the database in GATEHOUSE_TEST_PG, e.g.\n"
    "            eval \"$(bash scripts/pg.sh)\" && store_conformance --backend=postgres\n";

}  // namespace gh::conformance

int main(int argc, char** argv) {
  gh::conformance::Run& run = gh::conformance::TheRun();
  // The backend must be known before InitGoogleTest, which instantiates the parameterised tests.
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--backend=", 0) == 0) run.backend = std::string(arg.substr(10));
  }
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--backend=", 0) != 0) {
      std::fprintf(stderr, "store_conformance: unknown argument '%s'\n%s", argv[i],
                   gh::conformance::kUsage);
      return 2;
    }
  }
  if (run.backend != "sqlite" && run.backend != "postgres") {
    std::fprintf(stderr, "store_conformance: %s\n%s",
                 run.backend.empty() ? "--backend is required"
                                     : ("unknown backend '" + run.backend + "'").c_str(),
                 gh::conformance::kUsage);
    return 2;
  }

  std::string dir_template =
      (std::filesystem::temp_directory_path() / "gatehouse-store-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    std::perror("store_conformance: mkdtemp");
    return 1;
  }
  run.temp_dir = dir_template;

  if (run.backend == "sqlite") {
    run.url = "sqlite:" + (run.temp_dir / "store.db").string();
  } else {
    const char* pg = std::getenv("GATEHOUSE_TEST_PG");
    if (pg == nullptr || *pg == '\0') {
      std::fprintf(stderr,
                   "store_conformance: FAILED: --backend=postgres needs GATEHOUSE_TEST_PG, the "
                   "URL of a PostgreSQL database to test against\n"
                   "(postgres://gatehouse@127.0.0.1:PORT/gatehouse_test); start a throwaway one "
                   "with: eval \"$(bash scripts/pg.sh)\"\n");
      std::filesystem::remove_all(run.temp_dir);
      return 1;
    }
    run.url = pg;
  }

  int rc = 1;
  try {
    run.store = gh::OpenStore(run.url);
    std::printf("store_conformance: backend %s, %s\n", run.backend.c_str(), run.url.c_str());
    rc = RUN_ALL_TESTS();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_conformance: FAILED: cannot open the %s store at %s: %s\n",
                 run.backend.c_str(), run.url.c_str(), e.what());
  }
  run.store.reset();
  std::error_code ec;
  std::filesystem::remove_all(run.temp_dir, ec);
  return rc;
}
