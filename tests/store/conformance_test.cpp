// The store conformance suite: one set of tests that every Store backend must pass unchanged.
//
//   store_conformance --backend=sqlite     a fresh temporary SQLite file, removed afterwards
//   store_conformance --backend=postgres   the database named by GATEHOUSE_TEST_PG
//
// All tests of a run share one database, so each test works on fresh random ids and emails.
// The few checks that must reach around the store (tampering with an audit row, planting a
// schema version from the future) use the backend's own client, sqlite3 or psql.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/model.h"
#include "service/audit.h"
#include "service/context.h"
#include "store/store.h"

namespace gh {
namespace {

// What this run tests against.
struct Run {
  std::string backend;             // "sqlite" or "postgres"
  std::string url;                 // the shared store's URL
  std::filesystem::path temp_dir;  // scratch files of this run; removed at exit
  std::unique_ptr<Store> store;    // the shared store, opened (and migrated) once
};

Run& TheRun() {
  static Run run;
  return run;
}

constexpr UnixTime kT0 = 1'750'000'000;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

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

// Runs `sql` on the database at `url` with the backend's command-line client, behind the
// store's back.
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

// An empty database of the run's backend next to the shared one, dropped on destruction.
class ScratchDatabase {
 public:
  ScratchDatabase() {
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
  ~ScratchDatabase() {
    if (!path_.empty()) {
      std::error_code ec;
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::filesystem::remove(path_.string() + suffix, ec);
      }
    } else if (ready_) {
      EXPECT_TRUE(RawSql(TheRun().url, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"));
    }
  }
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const ::testing::AssertionResult& ready() const { return ready_; }
  const std::string& url() const { return url_; }

 private:
  ::testing::AssertionResult ready_ = ::testing::AssertionSuccess();
  std::filesystem::path path_;  // sqlite
  std::string name_;            // postgres
  std::string url_;
};

// Every field, for whole-record comparisons that print what differs.
auto Fields(const User& u) {
  return std::tie(u.id, u.email, u.name, u.password_hash, u.theme, u.language, u.avatar_url,
                  u.created_at, u.updated_at, u.last_login_at);
}
auto Fields(const Session& s) {
  return std::tie(s.id, s.user_id, s.token_hash, s.device, s.browser, s.ip, s.user_agent,
                  s.created_at, s.last_active_at, s.idle_expires_at, s.absolute_expires_at,
                  s.revoked_at);
}
auto Fields(const Workspace& w) {
  return std::tie(w.id, w.name, w.region, w.timezone, w.language, w.plan, w.subscription_status,
                  w.audit_retention_days, w.logo_content_type, w.logo_updated_at, w.created_at,
                  w.updated_at);
}
auto Fields(const Membership& m) {
  return std::tie(m.id, m.workspace_id, m.user_id, m.role, m.joined_at);
}
auto Fields(const AuditEvent& e) {
  return std::tie(e.id, e.seq, e.workspace_id, e.occurred_at, e.action, e.actor_type, e.actor_id,
                  e.actor_name, e.actor_email, e.target_type, e.target_id, e.target_name,
                  e.project_id, e.ip, e.user_agent, e.details_json, e.prev_hash, e.hash);
}
auto Fields(const MailMessage& m) {
  return std::tie(m.id, m.to, m.subject, m.body_text, m.created_at, m.sent_at, m.status);
}
auto Fields(const IdempotentResponse& r) {
  return std::tie(r.request_hash, r.status, r.content_type, r.body, r.created_at);
}

std::vector<std::string> Ids(const std::vector<AuditEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

std::vector<std::string> Ids(const std::vector<Session>& sessions) {
  std::vector<std::string> out;
  for (const auto& s : sessions) out.push_back(s.id);
  return out;
}

std::vector<std::string> Reversed(std::vector<std::string> v) {
  std::reverse(v.begin(), v.end());
  return v;
}

std::vector<std::string> BackendsToTest() {
  if (TheRun().backend.empty()) return {};
  return {TheRun().backend};
}

class StoreConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_NE(TheRun().store, nullptr);
    ASSERT_EQ(store().Backend(), GetParam());
  }

  static Store& store() { return *TheRun().store; }
  static const std::string& url() { return TheRun().url; }

  // Runs `f` in one write transaction and commits it.
  template <typename F>
  static void InTx(F&& f) {
    auto tx = store().Begin();
    f(*tx);
    tx->Commit();
  }

  static User NewUser() {
    User u;
    u.id = NewId("usr");
    u.email = Lower(NewId("u")) + "@example.test";
    u.name = "Ada Lovelace ✓";
    u.password_hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    u.theme = "dark";
    u.language = "fr";
    u.avatar_url = "https://example.test/avatar.png";
    u.created_at = kT0;
    u.updated_at = kT0 + 1;
    return u;
  }

  static User AddUser() {
    User u = NewUser();
    InTx([&](WriteTx& tx) {
      Status st = tx.InsertUser(u);
      EXPECT_TRUE(st.ok()) << st.error().message;
    });
    return u;
  }

  static Session NewSession(const std::string& user_id, UnixTime last_active,
                            UnixTime idle_expires = kT0 + 86400,
                            UnixTime absolute_expires = kT0 + 30 * 86400) {
    Session s;
    s.id = NewId("ses");
    s.user_id = user_id;
    s.token_hash = Lower(NewId("tok"));
    s.device = "MacBook";
    s.browser = "Firefox 128";
    s.ip = "2001:db8::7";
    s.user_agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Firefox/128.0";
    s.created_at = kT0;
    s.last_active_at = last_active;
    s.idle_expires_at = idle_expires;
    s.absolute_expires_at = absolute_expires;
    return s;
  }

  static Session AddSession(const std::string& user_id, UnixTime last_active,
                            UnixTime idle_expires = kT0 + 86400,
                            UnixTime absolute_expires = kT0 + 30 * 86400) {
    Session s = NewSession(user_id, last_active, idle_expires, absolute_expires);
    InTx([&](WriteTx& tx) { tx.InsertSession(s); });
    return s;
  }

  static Session SessionNow(const Session& s) {
    auto got = store().SessionByTokenHash(s.token_hash);
    EXPECT_TRUE(got.has_value()) << s.id;
    return got.value_or(Session{});
  }

  static Workspace NewWorkspace(UnixTime created_at = kT0) {
    Workspace w;
    w.id = NewId("ws");
    w.name = "Acme Ünïcode GmbH";
    w.region = "eu-central";
    w.timezone = "Europe/Berlin";
    w.language = "de";
    w.plan = "team";
    w.subscription_status = "active";
    w.audit_retention_days = 90;
    w.created_at = created_at;
    w.updated_at = created_at;
    return w;
  }

  static Workspace AddWorkspace(UnixTime created_at = kT0) {
    Workspace w = NewWorkspace(created_at);
    InTx([&](WriteTx& tx) { tx.InsertWorkspace(w); });
    return w;
  }

  static Membership AddMember(const std::string& workspace_id, const std::string& user_id,
                              const std::string& role, UnixTime joined_at = kT0 + 5) {
    Membership m{NewId("mem"), workspace_id, user_id, role, joined_at};
    InTx([&](WriteTx& tx) { tx.InsertMembership(m); });
    return m;
  }

  // The actor of audit events; audit rows keep a copy, so the user need not be stored.
  static Principal Actor() {
    static const User actor = [] {
      User u = NewUser();
      u.name = "Auditor O'Brien";
      return u;
    }();
    return Principal{actor, "ses_conformance", ClientInfo{"203.0.113.7", "conformance/1.0 ✓"}};
  }

  static AuditRecord Record(const std::string& chain, const std::string& action,
                            const std::string& target_id = "") {
    return AuditRecord{chain,
                       action,
                       "workspace",
                       target_id.empty() ? chain : target_id,
                       "Acme \"quoted\"",
                       "prj_1",
                       R"({"changed":["name"],"note":"Zürich"})"};
  }

  // Appends one event to `chain` in its own transaction.
  static AuditEvent AppendOne(const std::string& chain, const std::string& action, UnixTime at) {
    AuditEvent e;
    InTx([&](WriteTx& tx) { e = AppendAudit(tx, Actor(), Record(chain, action), at); });
    return e;
  }

  static std::vector<AuditEvent> AppendMany(const std::string& chain, int n) {
    std::vector<AuditEvent> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(AppendOne(chain, "workspace.updated." + std::to_string(i), kT0 + i));
    }
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// Opening and migrating

TEST_P(StoreConformance, OpenStoreMigratesAFreshDatabase) {
  ScratchDatabase scratch;
  ASSERT_TRUE(scratch.ready());
  auto fresh = OpenStore(scratch.url());
  EXPECT_EQ(fresh->Backend(), GetParam());
  EXPECT_NO_THROW(fresh->Ping());
  EXPECT_GE(fresh->SchemaVersion(), 1);
  EXPECT_EQ(fresh->SchemaVersion(), store().SchemaVersion());

  User u = NewUser();
  {
    auto tx = fresh->Begin();
    ASSERT_TRUE(tx->InsertUser(u).ok());
    tx->Commit();
  }
  EXPECT_TRUE(fresh->UserById(u.id).has_value());
  EXPECT_FALSE(store().UserById(u.id).has_value()) << "the scratch database is not separate";
}

TEST_P(StoreConformance, MigrateStoreBringsAnEmptyDatabaseUpToDateOnce) {
  ScratchDatabase scratch;
  ASSERT_TRUE(scratch.ready());
  int latest = store().SchemaVersion();
  ASSERT_GE(latest, 1);
  EXPECT_EQ(MigrateStore(scratch.url()), std::make_pair(0, latest));
  EXPECT_EQ(MigrateStore(scratch.url()), std::make_pair(latest, latest));
  EXPECT_EQ(OpenStore(scratch.url())->SchemaVersion(), latest);
}

TEST_P(StoreConformance, MigratingAnUpToDateStoreIsANoOp) {
  int v = store().SchemaVersion();
  EXPECT_GE(v, 1);
  EXPECT_EQ(MigrateStore(url()), std::make_pair(v, v));
  EXPECT_EQ(MigrateStore(url()), std::make_pair(v, v));
  EXPECT_EQ(store().SchemaVersion(), v);
  EXPECT_NO_THROW(store().Ping());
}

TEST_P(StoreConformance, StoreWithANewerSchemaIsRefused) {
  ScratchDatabase scratch;
  ASSERT_TRUE(scratch.ready());
  OpenStore(scratch.url()).reset();
  ASSERT_TRUE(RawSql(scratch.url(),
                     "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"));

  auto expect_refused = [](const char* what, auto&& open) {
    SCOPED_TRACE(what);
    try {
      open();
      ADD_FAILURE() << what << " accepted a store at schema version 9999";
    } catch (const StoreError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("newer"), std::string::npos) << msg;
      EXPECT_NE(msg.find("9999"), std::string::npos) << msg;
    }
  };
  expect_refused("OpenStore", [&] { OpenStore(scratch.url()); });
  expect_refused("MigrateStore", [&] { MigrateStore(scratch.url()); });
}

// ---------------------------------------------------------------------------------------------
// Users

TEST_P(StoreConformance, InsertedUserReadsBackByIdAndEmail) {
  User u = AddUser();
  auto by_id = store().UserById(u.id);
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(Fields(*by_id), Fields(u));
  auto by_email = store().UserByEmail(u.email);
  ASSERT_TRUE(by_email.has_value());
  EXPECT_EQ(Fields(*by_email), Fields(u));

  EXPECT_FALSE(store().UserById(NewId("usr")).has_value());
  EXPECT_FALSE(store().UserByEmail(Lower(NewId("nobody")) + "@example.test").has_value());
}

TEST_P(StoreConformance, UserWithLastLoginRoundTrips) {
  User u = NewUser();
  u.last_login_at = kT0 + 42;
  u.avatar_url = "";
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertUser(u).ok()); });
  auto got = store().UserById(u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(u));
}

TEST_P(StoreConformance, DuplicateEmailIsRefused) {
  User first = AddUser();
  User second = NewUser();
  second.email = first.email;
  second.name = "Someone Else";
  {
    auto tx = store().Begin();
    Status st = tx->InsertUser(second);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "email_taken");
    EXPECT_TRUE(st.error().kind == ErrorKind::kConflict);
    EXPECT_EQ(st.error().field, "email");
    tx->Commit();
  }
  EXPECT_FALSE(store().UserById(second.id).has_value());
  auto owner = store().UserByEmail(first.email);
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(Fields(*owner), Fields(first));
}

TEST_P(StoreConformance, TransactionStaysUsableAfterADuplicateEmail) {
  User first = AddUser();
  User duplicate = NewUser();
  duplicate.email = first.email;
  User other = NewUser();
  Workspace ws = NewWorkspace();
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertUser(other).ok());
    ASSERT_FALSE(tx->InsertUser(duplicate).ok());
    // The refusal is an expected outcome, not a failure of the transaction.
    tx->InsertWorkspace(ws);
    tx->Commit();
  }
  EXPECT_TRUE(store().UserById(other.id).has_value());
  EXPECT_TRUE(store().WorkspaceById(ws.id).has_value());
  EXPECT_FALSE(store().UserById(duplicate.id).has_value());
}

TEST_P(StoreConformance, UpdateUserChangesTheProfileOfThatUserOnly) {
  User u = AddUser();
  User bystander = AddUser();
  User changed = u;
  changed.name = "Ada King";
  changed.theme = "light";
  changed.language = "en";
  changed.avatar_url = "";
  changed.password_hash = "$argon2id$v=19$m=65536,t=3,p=1$bmV3c2FsdA$bmV3aGFzaA";
  changed.updated_at = kT0 + 600;
  InTx([&](WriteTx& tx) { tx.UpdateUser(changed); });

  auto got = store().UserById(u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(changed));
  auto other = store().UserById(bystander.id);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(Fields(*other), Fields(bystander));
}

TEST_P(StoreConformance, SetUserLastLoginRecordsTheTime) {
  User u = AddUser();
  ASSERT_FALSE(store().UserById(u.id)->last_login_at.has_value());
  InTx([&](WriteTx& tx) { tx.SetUserLastLogin(u.id, kT0 + 120); });
  EXPECT_EQ(store().UserById(u.id)->last_login_at, std::optional<UnixTime>(kT0 + 120));
  InTx([&](WriteTx& tx) { tx.SetUserLastLogin(u.id, kT0 + 900); });
  auto got = store().UserById(u.id);
  ASSERT_TRUE(got.has_value());
  User expected = u;
  expected.last_login_at = kT0 + 900;
  EXPECT_EQ(Fields(*got), Fields(expected));
}

// ---------------------------------------------------------------------------------------------
// Sessions

TEST_P(StoreConformance, InsertedSessionIsFoundByTokenHash) {
  User u = AddUser();
  Session s = AddSession(u.id, kT0 + 10);
  auto got = store().SessionByTokenHash(s.token_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(s));
  EXPECT_FALSE(store().SessionByTokenHash(Lower(NewId("tok"))).has_value());
  EXPECT_FALSE(store().SessionByTokenHash(s.id).has_value());
}

TEST_P(StoreConformance, RevokeSessionWorksOnlyForTheOwnerAndOnlyOnce) {
  User owner = AddUser();
  User other = AddUser();
  Session s = AddSession(owner.id, kT0 + 10);

  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.RevokeSession(other.id, s.id, kT0 + 20)); });
  EXPECT_FALSE(SessionNow(s).revoked_at.has_value());

  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.RevokeSession(owner.id, s.id, kT0 + 30)); });
  EXPECT_EQ(SessionNow(s).revoked_at, std::optional<UnixTime>(kT0 + 30));

  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.RevokeSession(owner.id, s.id, kT0 + 40)); });
  EXPECT_EQ(SessionNow(s).revoked_at, std::optional<UnixTime>(kT0 + 30));

  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.RevokeSession(owner.id, NewId("ses"), kT0 + 50)); });
}

TEST_P(StoreConformance, RevokeOtherSessionsRevokesEveryLiveSessionButTheKeptOne) {
  User u = AddUser();
  User other = AddUser();
  Session keep = AddSession(u.id, kT0 + 1);
  Session a = AddSession(u.id, kT0 + 2);
  Session b = AddSession(u.id, kT0 + 3);
  Session already = AddSession(u.id, kT0 + 4);
  Session foreign = AddSession(other.id, kT0 + 5);
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.RevokeSession(u.id, already.id, kT0 + 10)); });

  int revoked = -1;
  InTx([&](WriteTx& tx) { revoked = tx.RevokeOtherSessions(u.id, keep.id, kT0 + 20); });
  EXPECT_EQ(revoked, 2);
  EXPECT_FALSE(SessionNow(keep).revoked_at.has_value());
  EXPECT_EQ(SessionNow(a).revoked_at, std::optional<UnixTime>(kT0 + 20));
  EXPECT_EQ(SessionNow(b).revoked_at, std::optional<UnixTime>(kT0 + 20));
  EXPECT_EQ(SessionNow(already).revoked_at, std::optional<UnixTime>(kT0 + 10));
  EXPECT_FALSE(SessionNow(foreign).revoked_at.has_value());

  InTx([&](WriteTx& tx) { revoked = tx.RevokeOtherSessions(u.id, keep.id, kT0 + 30); });
  EXPECT_EQ(revoked, 0);
}

TEST_P(StoreConformance, RecordSessionActivityOnlyMovesForward) {
  User u = AddUser();
  Session s = AddSession(u.id, kT0 + 100, kT0 + 1000);
  Session t = AddSession(u.id, kT0 + 100, kT0 + 1000);

  InTx([&](WriteTx& tx) { tx.RecordSessionActivity({{s.id, kT0 + 200, kT0 + 2000}}); });
  EXPECT_EQ(SessionNow(s).last_active_at, kT0 + 200);
  EXPECT_EQ(SessionNow(s).idle_expires_at, kT0 + 2000);

  // Late-arriving older activity is ignored, including its expiry.
  InTx([&](WriteTx& tx) { tx.RecordSessionActivity({{s.id, kT0 + 150, kT0 + 1500}}); });
  EXPECT_EQ(SessionNow(s).last_active_at, kT0 + 200);
  EXPECT_EQ(SessionNow(s).idle_expires_at, kT0 + 2000);

  // One batch: a newer then an older entry for s, an entry for t, one for an unknown session.
  InTx([&](WriteTx& tx) {
    tx.RecordSessionActivity({{s.id, kT0 + 400, kT0 + 4000},
                              {s.id, kT0 + 300, kT0 + 3000},
                              {t.id, kT0 + 250, kT0 + 2500},
                              {NewId("ses"), kT0 + 999, kT0 + 9999}});
  });
  Session s_now = SessionNow(s);
  EXPECT_EQ(s_now.last_active_at, kT0 + 400);
  EXPECT_EQ(s_now.idle_expires_at, kT0 + 4000);
  EXPECT_EQ(SessionNow(t).last_active_at, kT0 + 250);
  EXPECT_EQ(SessionNow(t).idle_expires_at, kT0 + 2500);
  // Nothing else about the session moves.
  Session expected = s;
  expected.last_active_at = kT0 + 400;
  expected.idle_expires_at = kT0 + 4000;
  EXPECT_EQ(Fields(s_now), Fields(expected));
}

TEST_P(StoreConformance, LiveSessionsExcludeRevokedAndExpiredAndListMostRecentFirst) {
  User u = AddUser();
  User other = AddUser();
  UnixTime now = kT0 + 10'000;
  Session a = AddSession(u.id, kT0 + 100, now + 100, now + 1000);
  Session b = AddSession(u.id, kT0 + 300, now + 100, now + 1000);
  Session c = AddSession(u.id, kT0 + 200, now + 100, now + 1000);
  Session revoked = AddSession(u.id, kT0 + 400, now + 100, now + 1000);
  Session idle_expired = AddSession(u.id, kT0 + 500, now - 1, now + 1000);
  Session absolute_expired = AddSession(u.id, kT0 + 600, now + 100, now - 1);
  AddSession(other.id, kT0 + 700, now + 100, now + 1000);
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.RevokeSession(u.id, revoked.id, kT0 + 450)); });

  auto live = store().LiveSessionsOfUser(u.id, now);
  EXPECT_EQ(Ids(live), (std::vector<std::string>{b.id, c.id, a.id}));
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(Fields(live[0]), Fields(b));

  // Activity reorders them.
  InTx([&](WriteTx& tx) { tx.RecordSessionActivity({{a.id, kT0 + 900, now + 500}}); });
  EXPECT_EQ(Ids(store().LiveSessionsOfUser(u.id, now)),
            (std::vector<std::string>{a.id, b.id, c.id}));

  // Later on, only a (whose idle expiry moved) is left.
  EXPECT_EQ(Ids(store().LiveSessionsOfUser(u.id, now + 200)), (std::vector<std::string>{a.id}));
  EXPECT_TRUE(store().LiveSessionsOfUser(u.id, now + 2000).empty());
  EXPECT_TRUE(store().LiveSessionsOfUser(NewId("usr"), now).empty());
  (void)idle_expired;
  (void)absolute_expired;
}

// ---------------------------------------------------------------------------------------------
// Workspaces, memberships and logos

TEST_P(StoreConformance, InsertedWorkspaceReadsBack) {
  Workspace w = AddWorkspace();
  auto got = store().WorkspaceById(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(w));
  EXPECT_FALSE(store().WorkspaceById(NewId("ws")).has_value());
}

TEST_P(StoreConformance, UpdateWorkspaceChangesItsSettings) {
  Workspace w = AddWorkspace();
  Workspace bystander = AddWorkspace();
  Workspace changed = w;
  changed.name = "Acme Renamed";
  changed.timezone = "America/New_York";
  changed.language = "en";
  changed.plan = "enterprise";
  changed.subscription_status = "past_due";
  changed.audit_retention_days = 730;
  changed.logo_content_type = "image/png";
  changed.logo_updated_at = kT0 + 70;
  changed.updated_at = kT0 + 80;
  InTx([&](WriteTx& tx) { tx.UpdateWorkspace(changed); });

  auto got = store().WorkspaceById(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(changed));
  EXPECT_EQ(Fields(*store().WorkspaceById(bystander.id)), Fields(bystander));
}

TEST_P(StoreConformance, MembershipsAreCountedAndFoundPerWorkspace) {
  Workspace w = AddWorkspace();
  Workspace empty = AddWorkspace();
  User owner = AddUser();
  User member = AddUser();
  User outsider = AddUser();
  Membership mo = AddMember(w.id, owner.id, "owner", kT0 + 1);
  Membership mm = AddMember(w.id, member.id, "role_custom123", kT0 + 2);

  EXPECT_EQ(store().MemberCount(w.id), 2);
  EXPECT_EQ(store().MemberCount(empty.id), 0);
  EXPECT_EQ(store().MemberCount(NewId("ws")), 0);

  auto got = store().MembershipOf(w.id, owner.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(mo));
  got = store().MembershipOf(w.id, member.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(mm));
  EXPECT_FALSE(store().MembershipOf(w.id, outsider.id).has_value());
  EXPECT_FALSE(store().MembershipOf(empty.id, owner.id).has_value());
}

TEST_P(StoreConformance, WorkspacesOfUserListsEachWorkspaceWithTheUsersMembership) {
  User u = AddUser();
  User other = AddUser();
  Workspace first = AddWorkspace(kT0 + 10);
  Workspace second = AddWorkspace(kT0 + 20);
  Workspace not_mine = AddWorkspace(kT0 + 30);
  Membership m1 = AddMember(first.id, u.id, "owner", kT0 + 11);
  Membership m2 = AddMember(second.id, u.id, "viewer", kT0 + 21);
  AddMember(second.id, other.id, "owner", kT0 + 22);
  AddMember(not_mine.id, other.id, "owner", kT0 + 31);

  auto list = store().WorkspacesOfUser(u.id);
  ASSERT_EQ(list.size(), 2u);
  std::map<std::string, WorkspaceWithRole> by_id;
  for (const auto& wr : list) by_id[wr.workspace.id] = wr;
  ASSERT_EQ(by_id.count(first.id), 1u);
  ASSERT_EQ(by_id.count(second.id), 1u);
  EXPECT_EQ(Fields(by_id[first.id].workspace), Fields(first));
  EXPECT_EQ(Fields(by_id[first.id].membership), Fields(m1));
  EXPECT_EQ(Fields(by_id[second.id].workspace), Fields(second));
  EXPECT_EQ(Fields(by_id[second.id].membership), Fields(m2));

  EXPECT_TRUE(store().WorkspacesOfUser(NewId("usr")).empty());
}

TEST_P(StoreConformance, PutLogoRoundTripsBinaryBytesExactlyAndReplacesTheOldOne) {
  Workspace w = AddWorkspace();
  Workspace bystander = AddWorkspace();
  EXPECT_FALSE(store().LogoOf(w.id).has_value());

  std::string every_byte(std::string_view("\0\xFF\0", 3));
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  every_byte += std::string_view("\xFF\0\\x00'\"", 8);
  Logo first{"image/png", every_byte, kT0 + 5};
  Logo other{"image/gif", std::string("GIF89a\0\0\xFF", 9), kT0 + 6};
  InTx([&](WriteTx& tx) {
    tx.PutLogo(w.id, first);
    tx.PutLogo(bystander.id, other);
  });
  auto got = store().LogoOf(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->content_type, first.content_type);
  EXPECT_EQ(got->bytes.size(), first.bytes.size());
  EXPECT_EQ(got->bytes, first.bytes);
  EXPECT_EQ(got->updated_at, first.updated_at);

  // A second put replaces the first: a larger random image, NULs and 0xFFs included.
  std::mt19937 rng(12345);
  std::string big(300'000, '\0');
  for (char& c : big) c = static_cast<char>(rng() & 0xFF);
  big[0] = '\0';
  big[big.size() - 1] = '\xFF';
  Logo second{"image/webp", big, kT0 + 9};
  InTx([&](WriteTx& tx) { tx.PutLogo(w.id, second); });
  got = store().LogoOf(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->content_type, "image/webp");
  EXPECT_EQ(got->bytes.size(), big.size());
  EXPECT_TRUE(got->bytes == big) << "the replaced logo's bytes differ";
  EXPECT_EQ(got->updated_at, kT0 + 9);

  auto untouched = store().LogoOf(bystander.id);
  ASSERT_TRUE(untouched.has_value());
  EXPECT_EQ(untouched->bytes, other.bytes);
  EXPECT_EQ(untouched->content_type, other.content_type);
}

TEST_P(StoreConformance, DeleteWorkspaceRemovesItsMembershipsAndLogoButNotItsAuditLog) {
  Workspace doomed = AddWorkspace();
  Workspace kept = AddWorkspace();
  User a = AddUser();
  User b = AddUser();
  AddMember(doomed.id, a.id, "owner");
  AddMember(doomed.id, b.id, "member");
  Membership kept_membership = AddMember(kept.id, a.id, "owner");
  InTx([&](WriteTx& tx) {
    tx.PutLogo(doomed.id, Logo{"image/png", "png", kT0});
    tx.PutLogo(kept.id, Logo{"image/png", "other", kT0});
  });
  std::vector<AuditEvent> events = AppendMany(doomed.id, 3);

  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(doomed.id); });

  EXPECT_FALSE(store().WorkspaceById(doomed.id).has_value());
  EXPECT_EQ(store().MemberCount(doomed.id), 0);
  EXPECT_FALSE(store().MembershipOf(doomed.id, a.id).has_value());
  EXPECT_FALSE(store().MembershipOf(doomed.id, b.id).has_value());
  EXPECT_FALSE(store().LogoOf(doomed.id).has_value());
  auto of_a = store().WorkspacesOfUser(a.id);
  ASSERT_EQ(of_a.size(), 1u);
  EXPECT_EQ(of_a[0].workspace.id, kept.id);
  EXPECT_TRUE(store().WorkspacesOfUser(b.id).empty());

  // Everything else stays.
  EXPECT_TRUE(store().UserById(a.id).has_value());
  EXPECT_TRUE(store().UserById(b.id).has_value());
  EXPECT_TRUE(store().WorkspaceById(kept.id).has_value());
  EXPECT_EQ(Fields(*store().MembershipOf(kept.id, a.id)), Fields(kept_membership));
  EXPECT_TRUE(store().LogoOf(kept.id).has_value());

  // The audit log outlives the workspace it describes.
  EXPECT_EQ(Ids(store().AuditEvents(doomed.id, std::nullopt, 10).events), Reversed(Ids(events)));
  AuditVerification v = AuditLog(store()).Verify(doomed.id);
  EXPECT_TRUE(v.valid);
  EXPECT_EQ(v.checked, 3);
}

// ---------------------------------------------------------------------------------------------
// Transactions

TEST_P(StoreConformance, TransactionDestroyedWithoutCommitLeavesNoTrace) {
  Workspace existing = AddWorkspace();
  User u = NewUser();
  Session s = NewSession(u.id, kT0 + 1);
  Workspace w = NewWorkspace();
  Membership m{NewId("mem"), w.id, u.id, "owner", kT0};
  MailMessage mail{NewId("mail"),     u.email,      "Welcome", "Hello",
                   9'000'000'000'000, std::nullopt, "stored"};
  std::string scope = NewId("scope"), key = NewId("key");
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertUser(u).ok());
    tx->InsertSession(s);
    tx->InsertWorkspace(w);
    tx->InsertMembership(m);
    tx->PutLogo(existing.id, Logo{"image/png", "png", kT0});
    AppendAudit(*tx, Actor(), Record(existing.id, "workspace.updated"), kT0);
    tx->InsertMail(mail);
    tx->SaveIdempotentResponse(scope, key, IdempotentResponse{"h", 201, "text/plain", "b", kT0});

    // Not visible to readers before commit either.
    EXPECT_FALSE(store().UserById(u.id).has_value());
    EXPECT_FALSE(store().WorkspaceById(w.id).has_value());
    EXPECT_TRUE(store().AuditEvents(existing.id, std::nullopt, 10).events.empty());
  }
  EXPECT_FALSE(store().UserById(u.id).has_value());
  EXPECT_FALSE(store().UserByEmail(u.email).has_value());
  EXPECT_FALSE(store().SessionByTokenHash(s.token_hash).has_value());
  EXPECT_FALSE(store().WorkspaceById(w.id).has_value());
  EXPECT_FALSE(store().MembershipOf(w.id, u.id).has_value());
  EXPECT_FALSE(store().LogoOf(existing.id).has_value());
  EXPECT_TRUE(store().AuditEvents(existing.id, std::nullopt, 10).events.empty());
  EXPECT_FALSE(store().FindIdempotentResponse(scope, key).has_value());
  for (const auto& m2 : store().Mail(50)) EXPECT_NE(m2.id, mail.id);

  // The chain head did not move: the next event starts the chain afresh.
  AuditEvent first = AppendOne(existing.id, "workspace.updated", kT0 + 1);
  EXPECT_EQ(first.prev_hash, "");
  // And the email is still free.
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.InsertUser(u).ok()); });
}

TEST_P(StoreConformance, CommittedTransactionIsVisibleToReads) {
  User u = NewUser();
  Workspace w = NewWorkspace();
  Membership m{NewId("mem"), w.id, u.id, "owner", kT0};
  AuditEvent e;
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertUser(u).ok());
    tx->InsertWorkspace(w);
    tx->InsertMembership(m);
    e = AppendAudit(*tx, Actor(), Record(w.id, "workspace.created"), kT0);
    tx->Commit();
    // Visible as soon as Commit returns, while the transaction object still lives.
    EXPECT_TRUE(store().UserById(u.id).has_value());
  }
  EXPECT_EQ(Fields(*store().UserById(u.id)), Fields(u));
  EXPECT_EQ(Fields(*store().WorkspaceById(w.id)), Fields(w));
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, u.id)), Fields(m));
  auto page = store().AuditEvents(w.id, std::nullopt, 10);
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(Fields(page.events[0]), Fields(e));
}

TEST_P(StoreConformance, FailedStatementThrowsStoreErrorAndItsTransactionRollsBack) {
  User u = NewUser();
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertUser(u).ok());
    Membership orphan{NewId("mem"), NewId("ws"), u.id, "owner", kT0};  // no such workspace
    EXPECT_THROW(tx->InsertMembership(orphan), StoreError);
  }
  EXPECT_FALSE(store().UserById(u.id).has_value());
  // The store takes writes afterwards.
  User v = AddUser();
  EXPECT_TRUE(store().UserById(v.id).has_value());
}

// ---------------------------------------------------------------------------------------------
// The audit log

TEST_P(StoreConformance, AppendedAuditEventReadsBackExactly) {
  Workspace w = AddWorkspace();
  AuditEvent e;
  InTx([&](WriteTx& tx) {
    e = AppendAudit(tx, Actor(), Record(w.id, "member.role_changed", NewId("usr")), kT0 + 3);
  });
  EXPECT_GT(e.seq, 0);
  EXPECT_EQ(e.prev_hash, "");
  EXPECT_FALSE(e.hash.empty());

  auto page = store().AuditEvents(w.id, std::nullopt, 10);
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_EQ(Fields(page.events[0]), Fields(e));
  EXPECT_FALSE(page.next_seq.has_value());
  auto segment = store().AuditChainSegment(w.id, 0, 10);
  ASSERT_EQ(segment.size(), 1u);
  EXPECT_EQ(Fields(segment[0]), Fields(e));
}

TEST_P(StoreConformance, AuditEventsOfAChainAreLinkedInSeqOrder) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 3);
  // Two more in one transaction.
  InTx([&](WriteTx& tx) {
    events.push_back(AppendAudit(tx, Actor(), Record(w.id, "a.first_of_two"), kT0 + 10));
    events.push_back(AppendAudit(tx, Actor(), Record(w.id, "a.second_of_two"), kT0 + 10));
  });
  EXPECT_EQ(events[0].prev_hash, "");
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].prev_hash, events[i - 1].hash) << i;
    EXPECT_GT(events[i].seq, events[i - 1].seq) << i;
  }
  auto stored = store().AuditChainSegment(w.id, 0, 100);
  ASSERT_EQ(stored.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(Fields(stored[i]), Fields(events[i]));
}

TEST_P(StoreConformance, AuditEventsPageNewestFirstWithoutGapsOrDuplicates) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 7);
  std::vector<std::string> newest_first = Reversed(Ids(events));

  for (int limit : {1, 2, 3, 7, 8, 100}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::string> seen;
    std::optional<int64_t> before;
    int pages = 0;
    int64_t last_seq = INT64_MAX;
    while (true) {
      AuditPage page = store().AuditEvents(w.id, before, limit);
      ++pages;
      ASSERT_LE(pages, 10);
      ASSERT_LE(page.events.size(), static_cast<size_t>(limit));
      for (const auto& e : page.events) {
        EXPECT_LT(e.seq, last_seq);
        last_seq = e.seq;
        seen.push_back(e.id);
      }
      if (!page.next_seq) break;
      EXPECT_EQ(page.events.size(), static_cast<size_t>(limit)) << "a short page has a next page";
      EXPECT_EQ(*page.next_seq, page.events.back().seq);
      before = page.next_seq;
    }
    EXPECT_EQ(seen, newest_first);
    EXPECT_EQ(pages, (7 + limit - 1) / limit) << "no empty trailing page";
  }

  // before_seq excludes that event and everything newer.
  auto older = store().AuditEvents(w.id, events[3].seq, 10);
  EXPECT_EQ(Ids(older.events),
            (std::vector<std::string>{events[2].id, events[1].id, events[0].id}));
  EXPECT_FALSE(older.next_seq.has_value());
  EXPECT_TRUE(store().AuditEvents(w.id, events[0].seq, 10).events.empty());
  auto empty = store().AuditEvents(NewId("ws"), std::nullopt, 10);
  EXPECT_TRUE(empty.events.empty());
  EXPECT_FALSE(empty.next_seq.has_value());
}

TEST_P(StoreConformance, AuditChainSegmentIsOldestFirstAfterTheGivenSeq) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 6);
  std::vector<std::string> ids = Ids(events);

  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, 0, 100)), ids);
  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, 0, 2)), (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, events[2].seq, 100)),
            (std::vector<std::string>(ids.begin() + 3, ids.end())));
  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, events[2].seq, 2)),
            (std::vector<std::string>{ids[3], ids[4]}));
  EXPECT_TRUE(store().AuditChainSegment(w.id, events.back().seq, 100).empty());
}

TEST_P(StoreConformance, IntactAuditChainVerifies) {
  Workspace w = AddWorkspace();
  AppendMany(w.id, 5);
  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_TRUE(v.valid);
  EXPECT_EQ(v.checked, 5);
  EXPECT_EQ(v.first_invalid_id, "");
}

TEST_P(StoreConformance, VerifyReportsTheFirstTamperedEvent) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 5);
  ASSERT_TRUE(RawSql(
      url(), "UPDATE audit_events SET action='workspace.deleted' WHERE id='" + events[2].id + "'"));
  ASSERT_EQ(store().AuditChainSegment(w.id, events[1].seq, 1).at(0).action, "workspace.deleted");

  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.first_invalid_id, events[2].id);
  EXPECT_EQ(v.checked, 3);
}

TEST_P(StoreConformance, VerifyReportsTheEventAfterARemovedOne) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 5);
  ASSERT_TRUE(RawSql(url(), "DELETE FROM audit_events WHERE id='" + events[2].id + "'"));

  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.first_invalid_id, events[3].id);
}

TEST_P(StoreConformance, ChainsOfTwoWorkspacesAreIndependent) {
  Workspace a = AddWorkspace();
  Workspace b = AddWorkspace();
  std::vector<AuditEvent> ea, eb;
  for (int i = 0; i < 4; ++i) {
    ea.push_back(AppendOne(a.id, "a.event", kT0 + i));
    eb.push_back(AppendOne(b.id, "b.event", kT0 + i));
  }
  EXPECT_EQ(ea[0].prev_hash, "");
  EXPECT_EQ(eb[0].prev_hash, "");
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(ea[i].prev_hash, ea[i - 1].hash);
    EXPECT_EQ(eb[i].prev_hash, eb[i - 1].hash);
  }
  EXPECT_EQ(Ids(store().AuditEvents(a.id, std::nullopt, 100).events), Reversed(Ids(ea)));
  EXPECT_EQ(Ids(store().AuditChainSegment(b.id, 0, 100)), Ids(eb));

  ASSERT_TRUE(
      RawSql(url(), "UPDATE audit_events SET action='b.forged' WHERE id='" + eb[1].id + "'"));
  AuditVerification vb = AuditLog(store()).Verify(b.id);
  EXPECT_FALSE(vb.valid);
  EXPECT_EQ(vb.first_invalid_id, eb[1].id);
  AuditVerification va = AuditLog(store()).Verify(a.id);
  EXPECT_TRUE(va.valid);
  EXPECT_EQ(va.checked, 4);
}

TEST_P(StoreConformance, AccountEventsFormTheirOwnChain) {
  Workspace w = AddWorkspace();
  AuditEvent ws_event = AppendOne(w.id, "workspace.updated", kT0);
  AuditEvent first = AppendOne("", "user.signed_in", kT0 + 1);
  AuditEvent second = AppendOne("", "user.signed_out", kT0 + 2);
  EXPECT_EQ(first.workspace_id, "");
  EXPECT_NE(first.prev_hash, ws_event.hash);
  EXPECT_EQ(second.prev_hash, first.hash);

  auto page = store().AuditEvents("", std::nullopt, 2);
  EXPECT_EQ(Ids(page.events), (std::vector<std::string>{second.id, first.id}));
  EXPECT_EQ(Ids(store().AuditEvents(w.id, std::nullopt, 10).events),
            (std::vector<std::string>{ws_event.id}));
}

TEST_P(StoreConformance, ConcurrentAppendsToOneChainKeepItLinked) {
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  Workspace w = AddWorkspace();

  std::mutex mu;
  std::vector<std::string> failures;
  auto fail = [&](std::string what) {
    std::lock_guard lock(mu);
    failures.push_back(std::move(what));
  };
  std::atomic<bool> writing{true};
  std::atomic<int> reads{0};

  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        try {
          auto tx = store().Begin();
          AppendAudit(*tx, Actor(), Record(w.id, "thread.append", "thread" + std::to_string(t)),
                      kT0 + i);
          tx->Commit();
        } catch (const std::exception& e) {
          fail("writer " + std::to_string(t) + ": " + e.what());
        }
      }
    });
  }
  // A reader meanwhile never sees a broken chain.
  std::thread reader([&] {
    while (writing.load()) {
      try {
        auto page = store().AuditEvents(w.id, std::nullopt, 20);
        for (size_t i = 0; i + 1 < page.events.size(); ++i) {
          if (page.events[i].prev_hash != page.events[i + 1].hash ||
              page.events[i].seq <= page.events[i + 1].seq) {
            fail("reader saw an unlinked page at seq " + std::to_string(page.events[i].seq));
          }
        }
        reads.fetch_add(1);
      } catch (const std::exception& e) {
        fail(std::string("reader: ") + e.what());
      }
    }
  });
  for (auto& th : writers) th.join();
  writing.store(false);
  reader.join();

  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures.at(0);
  EXPECT_GT(reads.load(), 0);

  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_TRUE(v.valid) << "first invalid: " << v.first_invalid_id;
  EXPECT_EQ(v.checked, kThreads * kEach);

  auto all = store().AuditChainSegment(w.id, 0, 1000);
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  std::set<std::string> ids;
  std::map<std::string, int> per_thread;
  for (size_t i = 0; i < all.size(); ++i) {
    ids.insert(all[i].id);
    ++per_thread[all[i].target_id];
    if (i > 0) {
      EXPECT_GT(all[i].seq, all[i - 1].seq);
    }
  }
  EXPECT_EQ(ids.size(), all.size());
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(per_thread["thread" + std::to_string(t)], kEach);
}

// ---------------------------------------------------------------------------------------------
// Mail

TEST_P(StoreConformance, MailIsListedNewestFirstAndCanBeMarked) {
  // The mailbox is shared by the whole run: put these three after anything already there.
  auto newest = store().Mail(1);
  UnixTime base = std::max(kT0, newest.empty() ? kT0 : newest[0].created_at) + 10;
  MailMessage m1{NewId("mail"), "ada@example.test", "Welcome", "Hello Ada,\n\nwelcome ✓",
                 base + 1,      std::nullopt,       "stored"};
  MailMessage m2{NewId("mail"), "bob@example.test", "Reset", "Your code: 123456",
                 base + 2,      base + 2,           "sent"};
  MailMessage m3{NewId("mail"), "eve@example.test", "Invite", "Join Acme",
                 base + 3,      std::nullopt,       "queued"};
  InTx([&](WriteTx& tx) {
    tx.InsertMail(m2);
    tx.InsertMail(m3);
    tx.InsertMail(m1);
  });

  auto got = store().Mail(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(Fields(got[0]), Fields(m3));
  EXPECT_EQ(Fields(got[1]), Fields(m2));
  EXPECT_EQ(Fields(got[2]), Fields(m1));
  ASSERT_EQ(store().Mail(2).size(), 2u);
  EXPECT_EQ(store().Mail(2)[1].id, m2.id);

  InTx([&](WriteTx& tx) {
    tx.MarkMail(m3.id, "sent", base + 50);
    tx.MarkMail(m2.id, "failed", std::nullopt);
  });
  got = store().Mail(3);
  ASSERT_EQ(got.size(), 3u);
  MailMessage m3_sent = m3, m2_failed = m2;
  m3_sent.status = "sent";
  m3_sent.sent_at = base + 50;
  m2_failed.status = "failed";
  m2_failed.sent_at = std::nullopt;
  EXPECT_EQ(Fields(got[0]), Fields(m3_sent));
  EXPECT_EQ(Fields(got[1]), Fields(m2_failed));
  EXPECT_EQ(Fields(got[2]), Fields(m1));
}

// ---------------------------------------------------------------------------------------------
// Idempotency keys

TEST_P(StoreConformance, IdempotentResponseIsSavedOnceAndFound) {
  std::string scope = NewId("usr");
  std::string key = NewId("idem");
  EXPECT_FALSE(store().FindIdempotentResponse(scope, key).has_value());

  IdempotentResponse first{"POST /v1/workspaces sha256:abc", 201, "application/json",
                           R"({"id":"ws_1","name":"Zürich \"HQ\""})", kT0};
  InTx([&](WriteTx& tx) { tx.SaveIdempotentResponse(scope, key, first); });
  auto got = store().FindIdempotentResponse(scope, key);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(first));

  IdempotentResponse second{"POST /v1/workspaces sha256:def", 409, "application/problem+json", "{}",
                            kT0 + 5};
  EXPECT_NO_THROW(InTx([&](WriteTx& tx) { tx.SaveIdempotentResponse(scope, key, second); }));
  got = store().FindIdempotentResponse(scope, key);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(first)) << "the second save overwrote the first response";

  // Keys are per scope.
  std::string other_scope = NewId("usr");
  EXPECT_FALSE(store().FindIdempotentResponse(other_scope, key).has_value());
  InTx([&](WriteTx& tx) { tx.SaveIdempotentResponse(other_scope, key, second); });
  EXPECT_EQ(Fields(*store().FindIdempotentResponse(other_scope, key)), Fields(second));
  EXPECT_EQ(Fields(*store().FindIdempotentResponse(scope, key)), Fields(first));
}

INSTANTIATE_TEST_SUITE_P(Backend, StoreConformance, ::testing::ValuesIn(BackendsToTest()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

constexpr const char* kUsage =
    "usage: store_conformance --backend=sqlite|postgres [gtest flags]\n"
    "  sqlite:   runs against a fresh temporary SQLite file\n"
    "  postgres: runs against the database in GATEHOUSE_TEST_PG, e.g.\n"
    "            eval \"$(bash scripts/pg.sh)\" && store_conformance --backend=postgres\n";

}  // namespace
}  // namespace gh

int main(int argc, char** argv) {
  gh::Run& run = gh::TheRun();
  // The backend must be known before InitGoogleTest, which instantiates the parameterised tests.
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--backend=", 0) == 0) run.backend = std::string(arg.substr(10));
  }
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--backend=", 0) != 0) {
      std::fprintf(stderr, "store_conformance: unknown argument '%s'\n%s", argv[i], gh::kUsage);
      return 2;
    }
  }
  if (run.backend != "sqlite" && run.backend != "postgres") {
    std::fprintf(stderr, "store_conformance: %s\n%s",
                 run.backend.empty() ? "--backend is required"
                                     : ("unknown backend '" + run.backend + "'").c_str(),
                 gh::kUsage);
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
