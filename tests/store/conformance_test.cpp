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

#include "core/audit_chain.h"
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
                  u.created_at, u.updated_at, u.last_login_at, u.deleted_at);
}
auto Fields(const Session& s) {
  return std::tie(s.id, s.user_id, s.token_hash, s.device, s.browser, s.ip, s.user_agent,
                  s.created_at, s.last_active_at, s.idle_expires_at, s.absolute_expires_at,
                  s.revoked_at, s.country);
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
  return std::tie(m.id, m.to, m.subject, m.body_text, m.created_at, m.sent_at, m.status,
                  m.body_html, m.attempts, m.next_attempt_at, m.last_error);
}
auto Fields(const CustomRole& r) {
  return std::tie(r.id, r.workspace_id, r.name, r.description, r.permissions, r.created_at,
                  r.updated_at);
}
auto Fields(const Invitation& i) {
  return std::tie(i.id, i.workspace_id, i.email, i.role, i.projects, i.token_hash, i.invited_by,
                  i.redirect_url, i.status, i.created_at, i.expires_at, i.accepted_at,
                  i.revoked_at);
}
auto Fields(const Member& m) { return std::tuple_cat(Fields(m.membership), Fields(m.user)); }
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

template <typename T>
std::vector<std::string> IdsOf(const std::vector<T>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.id);
  return out;
}

std::vector<std::string> Ids(const std::vector<Member>& members) {
  std::vector<std::string> out;
  for (const auto& m : members) out.push_back(m.user.id);
  return out;
}

// The records among `all` whose ids are in `mine`, in the order `all` lists them: for lists
// the whole run shares (the mail outbox).
std::vector<MailMessage> Only(const std::vector<MailMessage>& all,
                              const std::vector<MailMessage>& mine) {
  std::set<std::string> ids;
  for (const auto& m : mine) ids.insert(m.id);
  std::vector<MailMessage> out;
  for (const auto& m : all) {
    if (ids.count(m.id) != 0) out.push_back(m);
  }
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
    s.country = "RO";
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

  static CustomRole NewRole(const std::string& workspace_id, const std::string& name,
                            std::vector<std::string> permissions, UnixTime created_at = kT0) {
    CustomRole r;
    r.id = NewId("role");
    r.workspace_id = workspace_id;
    r.name = name;
    r.description = "Reads \"everything\", writes nothing – Zürich ✓";
    r.permissions = std::move(permissions);
    r.created_at = created_at;
    r.updated_at = created_at + 1;
    return r;
  }

  static CustomRole AddRole(const std::string& workspace_id, const std::string& name,
                            std::vector<std::string> permissions, UnixTime created_at = kT0) {
    CustomRole r = NewRole(workspace_id, name, std::move(permissions), created_at);
    InTx([&](WriteTx& tx) {
      Status st = tx.InsertCustomRole(r);
      EXPECT_TRUE(st.ok()) << st.error().code;
    });
    return r;
  }

  static Invitation NewInvitation(const std::string& workspace_id, const std::string& email,
                                  UnixTime created_at, UnixTime expires_at,
                                  std::vector<std::string> projects = {"prj_b", "prj_a"}) {
    Invitation i;
    i.id = NewId("inv");
    i.workspace_id = workspace_id;
    i.email = email;
    i.role = "role_" + Lower(NewId("x")).substr(2);
    i.projects = std::move(projects);
    i.token_hash = Lower(NewId("tok"));
    i.invited_by = NewId("usr");
    i.redirect_url = "https://app.example.test/welcome?from=invite&lang=de";
    i.created_at = created_at;
    i.expires_at = expires_at;
    return i;
  }

  static Invitation AddInvitation(const std::string& workspace_id, const std::string& email,
                                  UnixTime created_at, UnixTime expires_at,
                                  const std::string& status = "pending") {
    Invitation i = NewInvitation(workspace_id, email, created_at, expires_at);
    i.status = status;
    if (status == "accepted") i.accepted_at = created_at + 1;
    if (status == "revoked") i.revoked_at = created_at + 1;
    InTx([&](WriteTx& tx) { tx.InsertInvitation(i); });
    return i;
  }

  static std::string NewEmail() { return Lower(NewId("inv")) + "@example.test"; }

  static MailMessage NewMail(UnixTime created_at, const std::string& status,
                             UnixTime next_attempt_at) {
    MailMessage m;
    m.id = NewId("mail");
    m.to = NewEmail();
    m.subject = "You are invited to Acme ✓";
    m.body_text = "Hello,\n\njoin us.";
    m.body_html = "<p>Hello,</p><p>join <a href=\"https://x.test/?a=1&amp;b=2\">us</a>.</p>";
    m.created_at = created_at;
    m.status = status;
    m.next_attempt_at = next_attempt_at;
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

TEST_P(StoreConformance, RecentSessionsIncludeRevokedAndExpiredNewestFirstUpToTheLimit) {
  User u = AddUser();
  User other = AddUser();
  auto add_created = [&](UnixTime created, const std::string& country) {
    Session s = NewSession(u.id, created, kT0 + 1, kT0 + 2);  // expired long ago
    s.created_at = created;
    s.country = country;
    InTx([&](WriteTx& tx) { tx.InsertSession(s); });
    return s;
  };
  Session a = add_created(kT0 + 10, "RO");
  Session b = add_created(kT0 + 30, "");
  Session c = add_created(kT0 + 20, "US");
  AddSession(other.id, kT0 + 40);
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.RevokeSession(u.id, c.id, kT0 + 50)); });

  auto all = store().RecentSessionsOfUser(u.id, 10);
  EXPECT_EQ(Ids(all), (std::vector<std::string>{b.id, c.id, a.id}));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(Fields(all[2]), Fields(a));
  EXPECT_EQ(all[0].country, "");
  EXPECT_EQ(all[1].country, "US");
  EXPECT_EQ(Ids(store().RecentSessionsOfUser(u.id, 2)), (std::vector<std::string>{b.id, c.id}));
  EXPECT_TRUE(store().RecentSessionsOfUser(NewId("usr"), 10).empty());
}

TEST_P(StoreConformance, AnonymiseUserFreesTheEmailAndKeepsTheRow) {
  User u = AddUser();
  User bystander = AddUser();
  InTx([&](WriteTx& tx) { tx.AnonymiseUser(u.id, kT0 + 700); });
  auto got = store().UserById(u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->deleted_at, std::optional<UnixTime>(kT0 + 700));
  EXPECT_EQ(got->name, "Deleted user");
  EXPECT_EQ(got->password_hash, "");
  EXPECT_EQ(got->avatar_url, "");
  EXPECT_EQ(got->email.find('@'), std::string::npos);
  EXPECT_FALSE(store().UserByEmail(u.email).has_value());
  // The email signs up again as a new user.
  User again = NewUser();
  again.email = u.email;
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.InsertUser(again).ok()); });
  EXPECT_EQ(store().UserByEmail(u.email)->id, again.id);
  EXPECT_EQ(Fields(*store().UserById(bystander.id)), Fields(bystander));
  EXPECT_FALSE(store().UserById(again.id)->deleted_at.has_value());
}

TEST_P(StoreConformance, RevokeAllKeysOfOwnerRevokesTheirLiveKeysInEveryWorkspace) {
  Workspace w1 = AddWorkspace();
  Workspace w2 = AddWorkspace();
  User owner = AddUser();
  User other = AddUser();
  auto key = [&](const Workspace& w, const User& by, std::optional<UnixTime> revoked) {
    ApiKey k;
    k.id = NewId("key");
    k.workspace_id = w.id;
    k.owner_id = by.id;
    k.name = "k";
    k.prefix = "sk_live_abc";
    k.hash = NewId("hash");
    k.created_at = k.updated_at = kT0;
    k.revoked_at = revoked;
    InTx([&](WriteTx& tx) { tx.InsertApiKey(k); });
    return k;
  };
  ApiKey a = key(w1, owner, std::nullopt);
  ApiKey b = key(w2, owner, std::nullopt);
  ApiKey old = key(w2, owner, kT0 + 5);
  ApiKey theirs = key(w1, other, std::nullopt);
  std::vector<std::pair<std::string, std::string>> got;
  InTx([&](WriteTx& tx) {
    for (const auto& k : tx.RevokeAllKeysOfOwner(owner.id, kT0 + 90)) {
      EXPECT_EQ(k.revoked_at, std::optional<UnixTime>(kT0 + 90));  // returned as written
      EXPECT_EQ(k.version, 2);
      got.emplace_back(k.workspace_id, k.id);
    }
  });
  std::sort(got.begin(), got.end());
  std::vector<std::pair<std::string, std::string>> want = {{w1.id, a.id}, {w2.id, b.id}};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(store().ApiKeyById(w1.id, a.id)->revoked_at, std::optional<UnixTime>(kT0 + 90));
  EXPECT_EQ(store().ApiKeyById(w2.id, b.id)->revoked_at, std::optional<UnixTime>(kT0 + 90));
  EXPECT_EQ(store().ApiKeyById(w2.id, old.id)->revoked_at, std::optional<UnixTime>(kT0 + 5));
  EXPECT_FALSE(store().ApiKeyById(w1.id, theirs.id)->revoked_at.has_value());
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

TEST_P(StoreConformance, IpAllowlistIsKeptApartFromTheOtherSettings) {
  Workspace w = AddWorkspace();
  Workspace bystander = AddWorkspace();
  EXPECT_FALSE(store().WorkspaceById(w.id)->ip_allowlist_enabled);
  EXPECT_TRUE(store().WorkspaceById(w.id)->ip_allowlist.empty());
  EXPECT_EQ(store().WorkspaceById(w.id)->ip_allowlist_updated_at, 0);

  std::vector<IpAllowEntry> entries = {{"203.0.113.0/24", "Office"},
                                       {"198.51.100.42/32", "VPN (night shift)"},
                                       {"2001:db8::/32", ""},
                                       {"192.0.2.0/24", "Data Center \xc3\xbc"}};
  InTx([&](WriteTx& tx) { tx.UpdateIpAllowlist(w.id, true, entries, kT0 + 500); });
  auto got = store().WorkspaceById(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->ip_allowlist_enabled);
  EXPECT_EQ(got->ip_allowlist, entries);
  EXPECT_EQ(got->ip_allowlist_updated_at, kT0 + 500);
  EXPECT_EQ(got->updated_at, kT0 + 500);  // other processes' refresh finds the change
  auto changed = store().WorkspacesChangedSince(kT0 + 500);
  EXPECT_NE(std::find(changed.begin(), changed.end(), w.id), changed.end());
  EXPECT_FALSE(store().WorkspaceById(bystander.id)->ip_allowlist_enabled);

  // The member's view of their workspaces carries the list (Access::Authorize reads it).
  User u = AddUser();
  AddMember(w.id, u.id, "admin", kT0 + 501);
  auto mine = store().WorkspacesOfUser(u.id);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].workspace.ip_allowlist, entries);
  EXPECT_EQ(mine[0].membership.role, "admin");

  // Updating the other settings leaves the list alone.
  Workspace renamed = *got;
  renamed.name = "Renamed";
  renamed.ip_allowlist_enabled = false;
  renamed.ip_allowlist.clear();
  InTx([&](WriteTx& tx) { tx.UpdateWorkspace(renamed); });
  got = store().WorkspaceById(w.id);
  EXPECT_EQ(got->name, "Renamed");
  EXPECT_TRUE(got->ip_allowlist_enabled);
  EXPECT_EQ(got->ip_allowlist, entries);

  InTx([&](WriteTx& tx) { tx.UpdateIpAllowlist(w.id, false, {}, kT0 + 600); });
  got = store().WorkspaceById(w.id);
  EXPECT_FALSE(got->ip_allowlist_enabled);
  EXPECT_TRUE(got->ip_allowlist.empty());
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

  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(doomed.id, 1700000000); });

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
// Members

TEST_P(StoreConformance, MembersListsOldestJoinedFirstWithTheirUserFields) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User late = AddUser();
  User early = AddUser();
  User middle = AddUser();
  User elsewhere = AddUser();
  InTx([&](WriteTx& tx) { tx.SetUserLastLogin(middle.id, kT0 + 99); });
  middle.last_login_at = kT0 + 99;
  // Inserted out of joining order, so that insertion order cannot pass for it.
  Membership ml = AddMember(w.id, late.id, "viewer", kT0 + 30);
  Membership me = AddMember(w.id, early.id, "owner", kT0 + 10);
  Membership mm = AddMember(w.id, middle.id, "role_custom9", kT0 + 20);
  AddMember(other.id, elsewhere.id, "owner", kT0 + 1);
  AddMember(other.id, late.id, "admin", kT0 + 2);

  auto members = store().Members(w.id);
  ASSERT_EQ(Ids(members), (std::vector<std::string>{early.id, middle.id, late.id}));
  EXPECT_EQ(Fields(members[0]), Fields(Member{me, early}));
  EXPECT_EQ(Fields(members[1]), Fields(Member{mm, middle}));
  EXPECT_EQ(Fields(members[2]), Fields(Member{ml, late}));

  EXPECT_EQ(Ids(store().Members(other.id)), (std::vector<std::string>{elsewhere.id, late.id}));
  EXPECT_TRUE(store().Members(AddWorkspace().id).empty());
  EXPECT_TRUE(store().Members(NewId("ws")).empty());
}

TEST_P(StoreConformance, MemberOfFindsTheMemberOfThatWorkspaceOnly) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User u = AddUser();
  User outsider = AddUser();
  Membership m = AddMember(w.id, u.id, "admin", kT0 + 7);
  AddMember(other.id, outsider.id, "owner");

  auto got = store().MemberOf(w.id, u.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(Member{m, u}));
  EXPECT_FALSE(store().MemberOf(other.id, u.id).has_value());
  EXPECT_FALSE(store().MemberOf(w.id, outsider.id).has_value());
  EXPECT_FALSE(store().MemberOf(w.id, NewId("usr")).has_value());
  EXPECT_FALSE(store().MemberOf(NewId("ws"), u.id).has_value());
}

TEST_P(StoreConformance, UpdateMemberRoleChangesThatMembershipOnly) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User u = AddUser();
  User colleague = AddUser();
  User outsider = AddUser();
  Membership mine = AddMember(w.id, u.id, "member", kT0 + 3);
  Membership mine_elsewhere = AddMember(other.id, u.id, "member", kT0 + 4);
  Membership theirs = AddMember(w.id, colleague.id, "member", kT0 + 5);

  bool updated = false;
  InTx([&](WriteTx& tx) { updated = tx.UpdateMemberRole(w.id, u.id, "role_abc123"); });
  EXPECT_TRUE(updated);
  Membership expected = mine;
  expected.role = "role_abc123";
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, u.id)), Fields(expected));
  EXPECT_EQ(Fields(store().MemberOf(w.id, u.id)->membership), Fields(expected));
  EXPECT_EQ(Fields(*store().MembershipOf(other.id, u.id)), Fields(mine_elsewhere));
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, colleague.id)), Fields(theirs));

  // Not a member: nothing to update, and no membership appears.
  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.UpdateMemberRole(w.id, outsider.id, "admin"));
    EXPECT_FALSE(tx.UpdateMemberRole(NewId("ws"), u.id, "admin"));
  });
  EXPECT_FALSE(store().MembershipOf(w.id, outsider.id).has_value());
  EXPECT_EQ(store().MemberCount(w.id), 2);
}

TEST_P(StoreConformance, CountMembersWithRoleCountsWithinTheWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  User a = AddUser(), b = AddUser(), c = AddUser(), d = AddUser();
  AddMember(w.id, a.id, "owner");
  AddMember(w.id, b.id, "admin");
  AddMember(w.id, c.id, "admin");
  AddMember(w.id, d.id, "role_x1");
  AddMember(other.id, a.id, "admin");
  AddMember(other.id, b.id, "owner");

  EXPECT_EQ(store().CountMembersWithRole(w.id, "owner"), 1);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "admin"), 2);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "role_x1"), 1);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "viewer"), 0);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "Admin"), 0);
  EXPECT_EQ(store().CountMembersWithRole(other.id, "admin"), 1);
  EXPECT_EQ(store().CountMembersWithRole(other.id, "owner"), 1);
  EXPECT_EQ(store().CountMembersWithRole(NewId("ws"), "owner"), 0);

  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.UpdateMemberRole(w.id, b.id, "owner"));
    EXPECT_TRUE(tx.DeleteMembership(w.id, c.id));
  });
  EXPECT_EQ(store().CountMembersWithRole(w.id, "owner"), 2);
  EXPECT_EQ(store().CountMembersWithRole(w.id, "admin"), 0);
  EXPECT_EQ(store().CountMembersWithRole(other.id, "admin"), 1);
}

TEST_P(StoreConformance, DeleteMembershipRemovesThatMembershipButLeavesTheUser) {
  Workspace w = AddWorkspace(kT0 + 1);
  Workspace other = AddWorkspace(kT0 + 2);
  User u = AddUser();
  User colleague = AddUser();
  Session s = AddSession(u.id, kT0 + 1);
  AddMember(w.id, u.id, "admin");
  Membership kept = AddMember(other.id, u.id, "viewer");
  Membership theirs = AddMember(w.id, colleague.id, "owner");

  bool deleted = false;
  InTx([&](WriteTx& tx) { deleted = tx.DeleteMembership(w.id, u.id); });
  EXPECT_TRUE(deleted);
  EXPECT_FALSE(store().MembershipOf(w.id, u.id).has_value());
  EXPECT_FALSE(store().MemberOf(w.id, u.id).has_value());
  EXPECT_EQ(Ids(store().Members(w.id)), std::vector<std::string>{colleague.id});
  EXPECT_EQ(store().MemberCount(w.id), 1);

  // The user, their sessions and their other memberships stay; so does the colleague.
  auto user = store().UserById(u.id);
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(Fields(*user), Fields(u));
  EXPECT_TRUE(store().SessionByTokenHash(s.token_hash).has_value());
  EXPECT_EQ(Fields(*store().MembershipOf(other.id, u.id)), Fields(kept));
  auto of_u = store().WorkspacesOfUser(u.id);
  ASSERT_EQ(of_u.size(), 1u);
  EXPECT_EQ(of_u[0].workspace.id, other.id);
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, colleague.id)), Fields(theirs));
  EXPECT_TRUE(store().WorkspaceById(w.id).has_value());

  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.DeleteMembership(w.id, u.id)) << "deleted twice";
    EXPECT_FALSE(tx.DeleteMembership(NewId("ws"), colleague.id));
  });
  EXPECT_EQ(store().MemberCount(w.id), 1);

  // The user can join again.
  Membership again = AddMember(w.id, u.id, "viewer", kT0 + 50);
  EXPECT_EQ(Fields(*store().MembershipOf(w.id, u.id)), Fields(again));
}

// ---------------------------------------------------------------------------------------------
// Custom roles

TEST_P(StoreConformance, CustomRoleRoundTripsWithItsPermissionsInOrder) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole many = AddRole(w.id, "Support", {"members.read", "audit.read", "keys.write"});
  CustomRole one = AddRole(w.id, "Single", {"projects.read"});
  CustomRole none = AddRole(w.id, "Nothing", {});

  for (const CustomRole* r : {&many, &one, &none}) {
    auto got = store().CustomRoleById(w.id, r->id);
    ASSERT_TRUE(got.has_value()) << r->name;
    EXPECT_EQ(Fields(*got), Fields(*r));
  }
  EXPECT_TRUE(store().CustomRoleById(w.id, none.id)->permissions.empty());

  // Scoped to the workspace: another workspace's id is not found through this one.
  EXPECT_FALSE(store().CustomRoleById(other.id, many.id).has_value());
  EXPECT_FALSE(store().CustomRoleById(NewId("ws"), many.id).has_value());
  EXPECT_FALSE(store().CustomRoleById(w.id, NewId("role")).has_value());
}

TEST_P(StoreConformance, CustomRolesAreListedByNameWithinTheWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  // Inserted (and created) in an order that is neither by name nor reversed.
  CustomRole m = AddRole(w.id, "marketing", {"projects.read"}, kT0 + 1);
  CustomRole z = AddRole(w.id, "zeta-ops", {}, kT0 + 2);
  CustomRole a = AddRole(w.id, "auditor", {"audit.read", "members.read"}, kT0 + 3);
  CustomRole b = AddRole(w.id, "billing", {"billing.read"}, kT0 + 0);
  AddRole(other.id, "aaa-first", {"audit.read"});

  auto roles = store().CustomRoles(w.id);
  ASSERT_EQ(IdsOf(roles), (std::vector<std::string>{a.id, b.id, m.id, z.id}));
  EXPECT_EQ(Fields(roles[0]), Fields(a));
  EXPECT_EQ(Fields(roles[1]), Fields(b));
  EXPECT_EQ(Fields(roles[2]), Fields(m));
  EXPECT_EQ(Fields(roles[3]), Fields(z));

  EXPECT_EQ(store().CustomRoles(other.id).size(), 1u);
  EXPECT_TRUE(store().CustomRoles(AddWorkspace().id).empty());
  EXPECT_TRUE(store().CustomRoles(NewId("ws")).empty());
}

TEST_P(StoreConformance, DuplicateRoleNameIsRefusedWithinAWorkspaceOnly) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole first = AddRole(w.id, "Support", {"members.read"});
  CustomRole same_name = NewRole(w.id, "Support", {"audit.read"}, kT0 + 9);
  {
    auto tx = store().Begin();
    Status st = tx->InsertCustomRole(same_name);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "role_name_taken");
    EXPECT_TRUE(st.error().kind == ErrorKind::kConflict);
    tx->Commit();
  }
  EXPECT_FALSE(store().CustomRoleById(w.id, same_name.id).has_value());
  auto roles = store().CustomRoles(w.id);
  ASSERT_EQ(roles.size(), 1u);
  EXPECT_EQ(Fields(roles[0]), Fields(first));

  // The same name in another workspace is a different role.
  CustomRole elsewhere = NewRole(other.id, "Support", {"audit.read"});
  InTx([&](WriteTx& tx) {
    Status st = tx.InsertCustomRole(elsewhere);
    EXPECT_TRUE(st.ok()) << st.error().code;
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(other.id, elsewhere.id)), Fields(elsewhere));
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, first.id)), Fields(first));
}

TEST_P(StoreConformance, TransactionStaysUsableAfterARefusedRoleName) {
  Workspace w = AddWorkspace();
  CustomRole taken = AddRole(w.id, "Taken", {"audit.read"});
  CustomRole before = NewRole(w.id, "Before", {"members.read"});
  CustomRole duplicate = NewRole(w.id, "Taken", {});
  CustomRole renamed = before;
  renamed.name = "Taken";
  CustomRole after = NewRole(w.id, "After", {"projects.read", "projects.write"});
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertCustomRole(before).ok());
    Status st = tx->InsertCustomRole(duplicate);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "role_name_taken");
    st = tx->UpdateCustomRole(renamed);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "role_name_taken");
    // The refusals are expected outcomes, not failures of the transaction.
    ASSERT_TRUE(tx->InsertCustomRole(after).ok());
    tx->Commit();
  }
  EXPECT_EQ(IdsOf(store().CustomRoles(w.id)),
            (std::vector<std::string>{after.id, before.id, taken.id}));
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, before.id)), Fields(before));
  EXPECT_FALSE(store().CustomRoleById(w.id, duplicate.id).has_value());
}

// Projects refuse duplicate names the same way, through the same mechanism.
TEST_P(StoreConformance, TransactionStaysUsableAfterARefusedProjectName) {
  Workspace w = AddWorkspace();
  Project taken{NewId("prj"), w.id, "Taken", "production", 60, std::nullopt, kT0, kT0};
  Project before{NewId("prj"), w.id, "Before", "development", std::nullopt, 1000, kT0, kT0};
  Project duplicate{NewId("prj"), w.id, "Taken", "staging", std::nullopt, std::nullopt, kT0, kT0};
  Project after{NewId("prj"), w.id, "After", "staging", std::nullopt, std::nullopt, kT0, kT0};
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertProject(taken).ok()); });
  Project renamed = before;
  renamed.name = "Taken";
  {
    auto tx = store().Begin();
    ASSERT_TRUE(tx->InsertProject(before).ok());
    Status st = tx->InsertProject(duplicate);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "project_name_taken");
    st = tx->UpdateProject(renamed);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "project_name_taken");
    ASSERT_TRUE(tx->InsertProject(after).ok());
    tx->Commit();
  }
  std::vector<std::string> names;
  for (const auto& p : store().Projects(w.id)) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"After", "Before", "Taken"}));
  EXPECT_FALSE(store().ProjectById(w.id, duplicate.id).has_value());
}

TEST_P(StoreConformance, UpdateCustomRoleRewritesNameDescriptionAndPermissions) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole r = AddRole(w.id, "Support", {"members.read", "audit.read"}, kT0);
  CustomRole neighbour = AddRole(w.id, "Neighbour", {"keys.read"}, kT0);
  CustomRole abroad = AddRole(other.id, "Abroad", {"keys.read"}, kT0);

  CustomRole changed = r;
  changed.name = "Support Tier 2";
  changed.description = "";
  changed.permissions = {};
  changed.updated_at = kT0 + 60;
  InTx([&](WriteTx& tx) {
    Status st = tx.UpdateCustomRole(changed);
    EXPECT_TRUE(st.ok()) << st.error().code;
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(changed));

  // From no permissions back to several, order kept; the name may stay as it is.
  changed.permissions = {"projects.write", "billing.read", "audit.read"};
  changed.description = "back again";
  changed.updated_at = kT0 + 70;
  InTx([&](WriteTx& tx) {
    Status st = tx.UpdateCustomRole(changed);
    EXPECT_TRUE(st.ok()) << st.error().code;
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(changed));

  // A name another role of the workspace has is refused, and nothing changes.
  CustomRole clash = changed;
  clash.name = neighbour.name;
  clash.permissions = {"members.write"};
  clash.updated_at = kT0 + 80;
  {
    auto tx = store().Begin();
    Status st = tx->UpdateCustomRole(clash);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "role_name_taken");
    EXPECT_TRUE(st.error().kind == ErrorKind::kConflict);
    tx->Commit();
  }
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(changed));
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, neighbour.id)), Fields(neighbour));

  // A name only another workspace has is free.
  changed.name = abroad.name;
  changed.updated_at = kT0 + 90;
  InTx([&](WriteTx& tx) {
    Status st = tx.UpdateCustomRole(changed);
    EXPECT_TRUE(st.ok()) << st.error().code;
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(changed));
  EXPECT_EQ(Fields(*store().CustomRoleById(other.id, abroad.id)), Fields(abroad));

  // The old name is free again.
  AddRole(w.id, "Support", {});
  EXPECT_EQ(store().CustomRoles(w.id).size(), 3u);
}

TEST_P(StoreConformance, UpdateCustomRoleThroughAnotherWorkspaceChangesNothing) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole r = AddRole(w.id, "Support", {"members.read"});
  CustomRole hijack = r;
  hijack.workspace_id = other.id;
  hijack.name = "Hijacked";
  hijack.permissions = {"members.write", "billing.write"};
  hijack.updated_at = kT0 + 500;
  InTx([&](WriteTx& tx) { (void)tx.UpdateCustomRole(hijack); });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(r));
  EXPECT_FALSE(store().CustomRoleById(other.id, r.id).has_value());
  EXPECT_TRUE(store().CustomRoles(other.id).empty());
}

TEST_P(StoreConformance, DeleteCustomRoleIsScopedToTheWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  CustomRole r = AddRole(w.id, "Support", {"members.read"});
  CustomRole kept = AddRole(w.id, "Kept", {"audit.read"});

  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.DeleteCustomRole(other.id, r.id)) << "deleted through another workspace";
    EXPECT_FALSE(tx.DeleteCustomRole(w.id, NewId("role")));
  });
  EXPECT_EQ(Fields(*store().CustomRoleById(w.id, r.id)), Fields(r));

  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.DeleteCustomRole(w.id, r.id)); });
  EXPECT_FALSE(store().CustomRoleById(w.id, r.id).has_value());
  EXPECT_EQ(IdsOf(store().CustomRoles(w.id)), std::vector<std::string>{kept.id});
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.DeleteCustomRole(w.id, r.id)) << "deleted twice"; });

  // Its name is free again.
  CustomRole reborn = AddRole(w.id, "Support", {});
  EXPECT_EQ(IdsOf(store().CustomRoles(w.id)), (std::vector<std::string>{kept.id, reborn.id}));
}

// ---------------------------------------------------------------------------------------------
// Invitations

TEST_P(StoreConformance, InvitationRoundTripsAndIsFoundByIdAndTokenHash) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  Invitation several = NewInvitation(w.id, NewEmail(), kT0 + 1, kT0 + 7 * 86400,
                                     {"prj_zeta", "prj_alpha", "prj_mid"});
  Invitation no_projects = NewInvitation(w.id, NewEmail(), kT0 + 2, kT0 + 86400, {});
  no_projects.role = "viewer";
  no_projects.redirect_url = "";
  Invitation accepted = NewInvitation(w.id, NewEmail(), kT0 + 3, kT0 + 86400, {"prj_1"});
  accepted.status = "accepted";
  accepted.accepted_at = kT0 + 40;
  Invitation revoked = NewInvitation(w.id, NewEmail(), kT0 + 4, kT0 + 86400);
  revoked.status = "revoked";
  revoked.revoked_at = kT0 + 41;
  InTx([&](WriteTx& tx) {
    for (const Invitation* i : {&several, &no_projects, &accepted, &revoked}) {
      tx.InsertInvitation(*i);
    }
  });

  for (const Invitation* i : {&several, &no_projects, &accepted, &revoked}) {
    auto by_id = store().InvitationById(w.id, i->id);
    ASSERT_TRUE(by_id.has_value()) << i->email;
    EXPECT_EQ(Fields(*by_id), Fields(*i));
    auto by_token = store().InvitationByTokenHash(i->token_hash);
    ASSERT_TRUE(by_token.has_value()) << i->email;
    EXPECT_EQ(Fields(*by_token), Fields(*i));
  }
  EXPECT_TRUE(store().InvitationById(w.id, no_projects.id)->projects.empty());

  EXPECT_FALSE(store().InvitationById(other.id, several.id).has_value());
  EXPECT_FALSE(store().InvitationById(NewId("ws"), several.id).has_value());
  EXPECT_FALSE(store().InvitationById(w.id, NewId("inv")).has_value());
  EXPECT_FALSE(store().InvitationByTokenHash(Lower(NewId("tok"))).has_value());
  EXPECT_FALSE(store().InvitationByTokenHash("").has_value());
}

TEST_P(StoreConformance, UpdateInvitationWritesStatusTokenExpiryAndTimes) {
  Workspace w = AddWorkspace();
  Invitation resent = AddInvitation(w.id, NewEmail(), kT0, kT0 + 100);
  Invitation accepted = AddInvitation(w.id, NewEmail(), kT0 + 1, kT0 + 100);
  Invitation revoked = AddInvitation(w.id, NewEmail(), kT0 + 2, kT0 + 100);
  Invitation bystander = AddInvitation(w.id, NewEmail(), kT0 + 3, kT0 + 100);

  // Resending replaces the token and moves the expiry: the old token no longer finds it.
  std::string old_token = resent.token_hash;
  resent.token_hash = Lower(NewId("tok"));
  resent.expires_at = kT0 + 9000;
  accepted.status = "accepted";
  accepted.accepted_at = kT0 + 50;
  revoked.status = "revoked";
  revoked.revoked_at = kT0 + 51;
  InTx([&](WriteTx& tx) {
    tx.UpdateInvitation(resent);
    tx.UpdateInvitation(accepted);
    tx.UpdateInvitation(revoked);
  });

  EXPECT_FALSE(store().InvitationByTokenHash(old_token).has_value());
  auto by_token = store().InvitationByTokenHash(resent.token_hash);
  ASSERT_TRUE(by_token.has_value());
  EXPECT_EQ(Fields(*by_token), Fields(resent));
  EXPECT_EQ(Fields(*store().InvitationById(w.id, resent.id)), Fields(resent));
  EXPECT_EQ(Fields(*store().InvitationById(w.id, accepted.id)), Fields(accepted));
  EXPECT_EQ(Fields(*store().InvitationById(w.id, revoked.id)), Fields(revoked));
  EXPECT_EQ(Fields(*store().InvitationById(w.id, bystander.id)), Fields(bystander));

  // Times can be cleared again.
  revoked.status = "pending";
  revoked.revoked_at = std::nullopt;
  InTx([&](WriteTx& tx) { tx.UpdateInvitation(revoked); });
  EXPECT_EQ(Fields(*store().InvitationById(w.id, revoked.id)), Fields(revoked));
}

TEST_P(StoreConformance, InvitationsListNewestFirstAndPendingOnlyThoseLiveAtNow) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  const UnixTime now = kT0 + 10'000;
  Invitation live = AddInvitation(w.id, NewEmail(), kT0 + 10, now + 100);
  Invitation ends_now = AddInvitation(w.id, NewEmail(), kT0 + 20, now);
  Invitation ended = AddInvitation(w.id, NewEmail(), kT0 + 30, now - 1);
  Invitation accepted = AddInvitation(w.id, NewEmail(), kT0 + 60, now + 100, "accepted");
  Invitation revoked = AddInvitation(w.id, NewEmail(), kT0 + 40, now + 100, "revoked");
  Invitation live_too = AddInvitation(w.id, NewEmail(), kT0 + 50, now + 1);
  Invitation abroad = AddInvitation(other.id, NewEmail(), kT0 + 70, now + 100);

  auto all = store().Invitations(w.id, false, now);
  ASSERT_EQ(IdsOf(all), (std::vector<std::string>{accepted.id, live_too.id, revoked.id, ended.id,
                                                  ends_now.id, live.id}));
  EXPECT_EQ(Fields(all[0]), Fields(accepted));
  EXPECT_EQ(Fields(all[5]), Fields(live));

  // Expired means expires_at <= now.
  auto pending = store().Invitations(w.id, true, now);
  ASSERT_EQ(IdsOf(pending), (std::vector<std::string>{live_too.id, live.id}));
  EXPECT_EQ(Fields(pending[0]), Fields(live_too));
  EXPECT_EQ(Fields(pending[1]), Fields(live));
  EXPECT_EQ(store().CountPendingInvitations(w.id, now), 2);

  // A second earlier, the one that ends at `now` is still pending.
  EXPECT_EQ(IdsOf(store().Invitations(w.id, true, now - 1)),
            (std::vector<std::string>{live_too.id, ends_now.id, live.id}));
  EXPECT_EQ(store().CountPendingInvitations(w.id, now - 1), 3);
  // And a second later, the one that ends at now + 1 is not.
  EXPECT_EQ(IdsOf(store().Invitations(w.id, true, now + 1)), std::vector<std::string>{live.id});
  EXPECT_EQ(store().CountPendingInvitations(w.id, now + 1), 1);
  EXPECT_EQ(store().CountPendingInvitations(w.id, now + 100), 0);
  // `now` does not filter the full list.
  EXPECT_EQ(store().Invitations(w.id, false, now + 1'000'000).size(), 6u);

  EXPECT_EQ(IdsOf(store().Invitations(other.id, false, now)), std::vector<std::string>{abroad.id});
  EXPECT_EQ(IdsOf(store().Invitations(other.id, true, now)), std::vector<std::string>{abroad.id});
  EXPECT_EQ(store().CountPendingInvitations(other.id, now), 1);
  EXPECT_TRUE(store().Invitations(NewId("ws"), false, now).empty());
  EXPECT_TRUE(store().Invitations(NewId("ws"), true, now).empty());
  EXPECT_EQ(store().CountPendingInvitations(NewId("ws"), now), 0);
}

TEST_P(StoreConformance, PendingInvitationForFindsOnlyALiveOneForThatEmailAndWorkspace) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  const UnixTime now = kT0 + 10'000;
  std::string email = NewEmail();
  AddInvitation(w.id, email, kT0 + 1, now + 500, "revoked");
  AddInvitation(w.id, email, kT0 + 2, now + 500, "accepted");
  AddInvitation(w.id, email, kT0 + 3, now);  // expired at now
  Invitation live = AddInvitation(w.id, email, kT0 + 4, now + 60);
  AddInvitation(w.id, NewEmail(), kT0 + 5, now + 500);
  Invitation abroad = AddInvitation(other.id, NewEmail(), kT0 + 6, now + 500);

  auto got = store().PendingInvitationFor(w.id, email, now);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(live));

  EXPECT_FALSE(store().PendingInvitationFor(other.id, email, now).has_value());
  EXPECT_FALSE(store().PendingInvitationFor(w.id, abroad.email, now).has_value());
  EXPECT_FALSE(store().PendingInvitationFor(w.id, NewEmail(), now).has_value());
  EXPECT_FALSE(store().PendingInvitationFor(w.id, email, now + 60).has_value());

  live.status = "accepted";
  live.accepted_at = now + 1;
  InTx([&](WriteTx& tx) { tx.UpdateInvitation(live); });
  EXPECT_FALSE(store().PendingInvitationFor(w.id, email, now).has_value());
}

TEST_P(StoreConformance, DeleteWorkspaceRemovesItsCustomRolesAndInvitations) {
  Workspace doomed = AddWorkspace();
  Workspace kept = AddWorkspace();
  User u = AddUser();
  AddMember(doomed.id, u.id, "owner");
  CustomRole doomed_role = AddRole(doomed.id, "Support", {"members.read"});
  CustomRole kept_role = AddRole(kept.id, "Support", {"members.read"});
  Invitation doomed_inv = AddInvitation(doomed.id, NewEmail(), kT0, kT0 + 86400);
  Invitation kept_inv = AddInvitation(kept.id, doomed_inv.email, kT0, kT0 + 86400);

  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(doomed.id, 1700000000); });

  EXPECT_TRUE(store().CustomRoles(doomed.id).empty());
  EXPECT_FALSE(store().CustomRoleById(doomed.id, doomed_role.id).has_value());
  EXPECT_FALSE(store().InvitationById(doomed.id, doomed_inv.id).has_value());
  EXPECT_FALSE(store().InvitationByTokenHash(doomed_inv.token_hash).has_value());
  EXPECT_TRUE(store().Invitations(doomed.id, false, kT0).empty());
  EXPECT_EQ(store().CountPendingInvitations(doomed.id, kT0), 0);
  EXPECT_FALSE(store().PendingInvitationFor(doomed.id, doomed_inv.email, kT0).has_value());
  EXPECT_TRUE(store().Members(doomed.id).empty());
  EXPECT_TRUE(store().UserById(u.id).has_value());

  EXPECT_EQ(Fields(*store().CustomRoleById(kept.id, kept_role.id)), Fields(kept_role));
  EXPECT_EQ(Fields(*store().InvitationByTokenHash(kept_inv.token_hash)), Fields(kept_inv));
  EXPECT_EQ(store().CountPendingInvitations(kept.id, kT0), 1);

  // The ids are free again: a new workspace's role and invitation can take them.
  Workspace fresh = AddWorkspace();
  CustomRole same_id = NewRole(fresh.id, "Support", {});
  same_id.id = doomed_role.id;
  Invitation same_token = NewInvitation(fresh.id, NewEmail(), kT0, kT0 + 5);
  same_token.id = doomed_inv.id;
  same_token.token_hash = doomed_inv.token_hash;
  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.InsertCustomRole(same_id).ok());
    tx.InsertInvitation(same_token);
  });
  EXPECT_EQ(Fields(*store().InvitationByTokenHash(same_token.token_hash)), Fields(same_token));
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
  std::atomic<bool> reading{false};
  std::atomic<int> reads{0};

  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      // Start once the reader runs: the writes can be over before it is first scheduled.
      while (!reading.load()) std::this_thread::yield();
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
    reading.store(true);
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
// Audit log at scale: filters, keyset pages, retention, daily counters, batch append

namespace {

struct Spec {
  std::string actor, action, project, target;
  UnixTime at;
};

}  // namespace

// Appends events described by `specs` to `chain`, one transaction each.
std::vector<AuditEvent> AppendSpecs(const std::string& chain, const std::vector<Spec>& specs) {
  std::vector<AuditEvent> out;
  for (const auto& s : specs) {
    Principal p{User{}, "", ClientInfo{"198.51.100.1", "conformance"}};
    p.user.id = s.actor;
    p.user.name = "Actor " + s.actor;
    p.user.email = s.actor + "@example.com";
    AuditRecord r{chain, s.action, "thing", s.target, "Thing", s.project, "{}"};
    auto tx = TheRun().store->Begin();
    out.push_back(AppendAudit(*tx, p, r, s.at));
    tx->Commit();
  }
  return out;
}

std::vector<std::string> FilteredIds(const AuditFilter& f, int limit = 100) {
  return Ids(TheRun().store->FilteredAuditEvents(f, std::nullopt, limit).events);
}

TEST_P(StoreConformance, FilteredAuditEventsApplyEachFilterAndTheirCombination) {
  Workspace w = AddWorkspace();
  auto e = AppendSpecs(w.id, {{"usr_a", "member.invited", "", "usr_x", kT0},
                              {"usr_b", "member.removed", "prj_1", "usr_y", kT0 + 10},
                              {"usr_a", "api_key.created", "prj_1", "key_1", kT0 + 20},
                              {"usr_a", "member.role_changed", "prj_2", "usr_x", kT0 + 30},
                              {"usr_b", "memberx.odd", "", "usr_x", kT0 + 40},
                              {"usr_a", "report.exported", "", "rep_1", kT0 + 50}});
  AuditFilter f{.workspace_id = w.id};
  EXPECT_EQ(FilteredIds(f), Reversed(Ids(e)));

  AuditFilter actor = f;
  actor.actor_id = "usr_a";
  EXPECT_EQ(FilteredIds(actor), (std::vector<std::string>{e[5].id, e[3].id, e[2].id, e[0].id}));

  AuditFilter exact = f;
  exact.action = "member.removed";
  EXPECT_EQ(FilteredIds(exact), (std::vector<std::string>{e[1].id}));

  AuditFilter prefix = f;
  prefix.action_prefix = "member.";  // not memberx.odd
  EXPECT_EQ(FilteredIds(prefix), (std::vector<std::string>{e[3].id, e[1].id, e[0].id}));

  AuditFilter project = f;
  project.project_id = "prj_1";
  EXPECT_EQ(FilteredIds(project), (std::vector<std::string>{e[2].id, e[1].id}));

  AuditFilter target = f;
  target.target_id = "usr_x";
  EXPECT_EQ(FilteredIds(target), (std::vector<std::string>{e[4].id, e[3].id, e[0].id}));

  AuditFilter range = f;
  range.from = kT0 + 10;  // inclusive
  range.to = kT0 + 40;    // exclusive
  EXPECT_EQ(FilteredIds(range), (std::vector<std::string>{e[3].id, e[2].id, e[1].id}));

  AuditFilter combined = f;
  combined.actor_id = "usr_a";
  combined.action_prefix = "member.";
  combined.from = kT0 + 1;
  EXPECT_EQ(FilteredIds(combined), (std::vector<std::string>{e[3].id}));

  AuditFilter visible = f;
  visible.visible_projects = std::vector<std::string>{"prj_2"};
  EXPECT_EQ(FilteredIds(visible), (std::vector<std::string>{e[5].id, e[4].id, e[3].id, e[0].id}));
  visible.visible_projects = std::vector<std::string>{};
  EXPECT_EQ(FilteredIds(visible), (std::vector<std::string>{e[5].id, e[4].id, e[0].id}));

  AuditFilter other{.workspace_id = AddWorkspace().id};
  EXPECT_TRUE(FilteredIds(other).empty());
}

TEST_P(StoreConformance, FilteredAuditPagesFollowTimeThenSeqAndStayStableUnderAppends) {
  Workspace w = AddWorkspace();
  // Out-of-order times (a clock step back) and ties: the order is (occurred_at, seq) desc.
  auto e = AppendSpecs(w.id, {{"usr_a", "x.one", "", "t", kT0 + 5},
                              {"usr_a", "x.two", "", "t", kT0 + 5},
                              {"usr_a", "x.three", "", "t", kT0 + 1},
                              {"usr_a", "x.four", "", "t", kT0 + 9},
                              {"usr_a", "x.five", "", "t", kT0 + 5}});
  AuditFilter f{.workspace_id = w.id};
  EXPECT_EQ(FilteredIds(f), (std::vector<std::string>{e[3].id, e[4].id, e[1].id, e[0].id, e[2].id}));
  for (int limit : {1, 2, 3, 5, 6}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::string> expected = FilteredIds(f);
    std::vector<std::string> seen;
    std::optional<AuditKey> after;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = store().FilteredAuditEvents(f, after, limit);
      for (const auto& ev : page.events) seen.push_back(ev.id);
      if (!page.next) break;
      EXPECT_EQ(page.next->seq, page.events.back().seq);
      after = page.next;
      if (pages == 0) AppendSpecs(w.id, {{"usr_a", "x.later", "", "t", kT0 + 100}});
    }
    EXPECT_EQ(seen, expected) << "events appended meanwhile do not shift the pages";
  }
}

TEST_P(StoreConformance, NounPrefixPagesInKeysetOrderOverSingleAndBatchAppends) {
  Workspace w = AddWorkspace();
  // Ties and a clock step back; nouns that share the prefix's letters must not match.
  auto e = AppendSpecs(w.id, {{"usr_a", "member.invited", "", "t", kT0 + 5},
                              {"usr_a", "members.listed", "", "t", kT0 + 5},
                              {"usr_a", "member.removed", "prj_1", "t", kT0 + 5},
                              {"usr_a", "member_x.odd", "", "t", kT0 + 6},
                              {"usr_a", "member.joined", "prj_2", "t", kT0 + 1}});
  std::vector<AuditEvent> batch;
  InTx([&](WriteTx& tx) {
    std::string prev = tx.LockAuditChain(w.id);
    for (int i = 0; i < 60; ++i) {  // the batch path stores the noun as well
      AuditEvent ev;
      ev.id = NewId("evt");
      ev.workspace_id = w.id;
      ev.occurred_at = kT0 + 5 + i % 3;
      ev.action = i % 2 ? "member.batched" : "memberx.batched";
      ev.actor_type = "user";
      ev.actor_id = "usr_b";
      ev.details_json = "{}";
      ev.prev_hash = prev;
      ev.hash = AuditEventHash(ev);
      prev = ev.hash;
      batch.push_back(ev);
    }
    tx.AppendAuditEvents(batch);
  });
  std::vector<AuditEvent> all = store().AuditChainSegment(w.id, 0, 1000);
  std::vector<AuditEvent> members;
  for (const auto& ev : all) {
    if (ev.action.rfind("member.", 0) == 0) members.push_back(ev);
  }
  std::sort(members.begin(), members.end(), [](const AuditEvent& x, const AuditEvent& y) {
    return std::tie(x.occurred_at, x.seq) > std::tie(y.occurred_at, y.seq);
  });
  ASSERT_EQ(members.size(), 33u);
  AuditFilter f{.workspace_id = w.id, .action_prefix = "member."};
  EXPECT_EQ(FilteredIds(f), Ids(members));
  for (int limit : {1, 7, 33, 34}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    std::vector<std::string> seen;
    std::optional<AuditKey> after;
    for (int pages = 0; pages < 50; ++pages) {
      auto page = store().FilteredAuditEvents(f, after, limit);
      for (const auto& ev : page.events) seen.push_back(ev.id);
      if (!page.next) break;
      after = page.next;
    }
    EXPECT_EQ(seen, Ids(members));
  }
  AuditFilter visible = f;
  visible.visible_projects = std::vector<std::string>{"prj_2"};
  std::vector<std::string> want;
  for (const auto& ev : members) {
    if (ev.project_id != "prj_1") want.push_back(ev.id);
  }
  EXPECT_EQ(FilteredIds(visible), want);
  EXPECT_EQ(std::find(want.begin(), want.end(), e[2].id), want.end());
}

// Every event left in `stream`, read `max` at a time (copies: the stream reuses its event).
std::vector<AuditEvent> ReadAll(AuditEventStream& stream, int max) {
  std::vector<AuditEvent> out;
  while (stream.Read(max, [&](AuditEvent& e) { out.push_back(e); }) == max) {
  }
  return out;
}

TEST_P(StoreConformance, AuditStreamsReadWhatThePagesReadForEveryFilter) {
  Workspace w = AddWorkspace();
  auto e = AppendSpecs(w.id, {{"usr_a", "member.invited", "", "usr_x", kT0},
                              {"usr_b", "member.removed", "prj_1", "usr_y", kT0 + 10},
                              {"usr_a", "api_key.created", "prj_1", "key_1", kT0 + 20},
                              {"usr_a", "member.role_changed", "prj_2", "usr_x", kT0 + 20},
                              {"usr_b", "memberx.odd", "", "usr_x", kT0 + 40}});
  {  // details with quotes and commas, a name with a comma and no user agent
    Principal p{User{}, "", ClientInfo{"2001:db8::7", ""}};
    p.user.id = "usr_c";
    p.user.name = "Carol, \"C\"";
    p.user.email = "carol@example.com";
    AuditRecord r{
        w.id, "report.exported", "report", "rep_1", "=Report", "", R"({"a":"b,\"c\"","n":[1,2]})"};
    auto tx = store().Begin();
    e.push_back(AppendAudit(*tx, p, r, kT0 + 50));
    tx->Commit();
  }
  AuditFilter all{.workspace_id = w.id};
  std::vector<AuditFilter> filters{all};
  auto with = [&](auto change) {
    AuditFilter f = all;
    change(f);
    filters.push_back(f);
  };
  with([](AuditFilter& f) { f.actor_id = "usr_a"; });
  with([](AuditFilter& f) { f.action = "member.removed"; });
  with([](AuditFilter& f) { f.action_prefix = "member."; });
  with([](AuditFilter& f) { f.project_id = "prj_1"; });
  with([](AuditFilter& f) { f.target_id = "usr_x"; });
  with([](AuditFilter& f) {
    f.from = kT0 + 10;
    f.to = kT0 + 40;
  });
  with([](AuditFilter& f) { f.visible_projects = std::vector<std::string>{"prj_2"}; });
  with([](AuditFilter& f) { f.visible_projects = std::vector<std::string>{}; });
  with([](AuditFilter& f) {
    f.actor_id = "usr_a";
    f.action_prefix = "member.";
    f.from = kT0 + 1;
  });
  with([](AuditFilter& f) { f.actor_id = "usr_nobody"; });
  for (size_t i = 0; i < filters.size(); ++i) {
    const AuditFilter& f = filters[i];
    std::vector<AuditEvent> paged = store().FilteredAuditEvents(f, std::nullopt, 100).events;
    for (int max : {1, 2, 1000}) {
      SCOPED_TRACE("filter " + std::to_string(i) + ", batches of " + std::to_string(max));
      auto stream = store().StreamAuditEvents(f);
      std::vector<AuditEvent> got = ReadAll(*stream, max);
      ASSERT_EQ(Ids(got), Ids(paged));
      for (size_t k = 0; k < got.size(); ++k) {
        AuditEvent want = paged[k];
        want.prev_hash.clear();  // streams leave the chain hashes out
        want.hash.clear();
        EXPECT_EQ(std::tie(got[k].seq, got[k].id, got[k].workspace_id, got[k].occurred_at,
                           got[k].action, got[k].actor_type, got[k].actor_id, got[k].actor_name,
                           got[k].actor_email, got[k].target_type, got[k].target_id,
                           got[k].target_name, got[k].project_id, got[k].ip, got[k].user_agent,
                           got[k].details_json, got[k].prev_hash, got[k].hash),
                  std::tie(want.seq, want.id, want.workspace_id, want.occurred_at, want.action,
                           want.actor_type, want.actor_id, want.actor_name, want.actor_email,
                           want.target_type, want.target_id, want.target_name, want.project_id,
                           want.ip, want.user_agent, want.details_json, want.prev_hash, want.hash));
      }
      EXPECT_EQ(stream->Read(max, [](AuditEvent&) {}), 0) << "an exhausted stream stays so";
    }
  }
  EXPECT_EQ(FilteredIds(all).size(), 6u);
}

TEST_P(StoreConformance, AuditStreamReadsOneSnapshotWhileEventsArePurgedAndAppended) {
  Workspace w = AddWorkspace();
  std::vector<Spec> specs;
  for (int i = 0; i < 12; ++i) specs.push_back({"usr_a", "x.event", "", "t", kT0 + i * 100});
  auto e = AppendSpecs(w.id, specs);
  AuditFilter f{.workspace_id = w.id};
  auto stream = store().StreamAuditEvents(f);
  std::vector<std::string> seen;
  auto take = [&](AuditEvent& ev) { seen.push_back(ev.id); };
  ASSERT_EQ(stream->Read(3, take), 3);
  // Meanwhile retention deletes the four oldest, and an event older than every other one
  // (a host clock behind) is appended: pages would end without the first and with the second.
  EXPECT_EQ(AuditLog(store()).PurgeChain(w.id, kT0 + 400, 100), 4);
  auto late = AppendSpecs(w.id, {{"usr_a", "x.late", "", "t", kT0 - 50}});
  while (stream->Read(4, take) == 4) {
  }
  EXPECT_EQ(seen, Reversed(Ids(e)));
  // A new stream reads the log as it is now.
  std::vector<std::string> now = Ids(ReadAll(*store().StreamAuditEvents(f), 5));
  std::vector<std::string> want(seen.begin(), seen.begin() + 8);
  want.push_back(late[0].id);
  EXPECT_EQ(now, want);
}

TEST_P(StoreConformance, AuditStreamsBeyondTheSnapshotLimitPageAndSlotsComeBack) {
  Workspace w = AddWorkspace();
  std::vector<Spec> specs;
  for (int i = 0; i < 12; ++i) specs.push_back({"usr_a", "x.event", "", "t", kT0 + i * 100});
  auto e = AppendSpecs(w.id, specs);
  AuditFilter f{.workspace_id = w.id};
  constexpr int kSnapshots = Store::kAuditSnapshotStreams;
  std::vector<std::unique_ptr<AuditEventStream>> streams;
  std::vector<std::vector<std::string>> seen(kSnapshots + 2);
  for (int i = 0; i < kSnapshots + 2; ++i) {
    streams.push_back(store().StreamAuditEvents(f));
    ASSERT_EQ(streams[i]->Read(1, [&](AuditEvent& ev) { seen[i].push_back(ev.id); }), 1);
  }
  EXPECT_EQ(AuditLog(store()).PurgeChain(w.id, kT0 + 400, 100), 4);
  std::vector<std::string> before = Reversed(Ids(e));
  std::vector<std::string> after(before.begin(), before.begin() + 8);
  for (int i = 0; i < kSnapshots + 2; ++i) {
    SCOPED_TRACE("stream " + std::to_string(i));
    for (const auto& id : Ids(ReadAll(*streams[i], 5))) seen[i].push_back(id);
    // The first ones read their snapshot; the others paged and miss what was purged.
    EXPECT_EQ(seen[i], i < kSnapshots ? before : after);
  }
  // Exhausted streams (still alive here) and an abandoned one have given their slots back.
  auto abandoned = store().StreamAuditEvents(f);
  ASSERT_EQ(abandoned->Read(2, [](AuditEvent&) {}), 2);
  abandoned.reset();
  std::vector<std::unique_ptr<AuditEventStream>> again;
  std::vector<std::vector<std::string>> read(kSnapshots);
  for (int i = 0; i < kSnapshots; ++i) {
    again.push_back(store().StreamAuditEvents(f));
    ASSERT_EQ(again[i]->Read(1, [&](AuditEvent& ev) { read[i].push_back(ev.id); }), 1);
  }
  AppendSpecs(w.id, {{"usr_a", "x.late", "", "t", kT0 - 50}});
  for (int i = 0; i < kSnapshots; ++i) {
    for (const auto& id : Ids(ReadAll(*again[i], 3))) read[i].push_back(id);
    EXPECT_EQ(read[i], after) << "stream " << i << " reads a snapshot";
  }
}

TEST_P(StoreConformance, AnAbandonedAuditStreamLeavesItsConnectionUsable) {
  Workspace w = AddWorkspace();
  constexpr int kEvents = 5000;
  InTx([&](WriteTx& tx) {
    std::string prev = tx.LockAuditChain(w.id);
    std::vector<AuditEvent> batch;
    for (int i = 0; i < kEvents; ++i) {
      AuditEvent ev;
      ev.id = NewId("evt");
      ev.workspace_id = w.id;
      ev.occurred_at = kT0 + i;
      ev.action = "x.many";
      ev.actor_type = "user";
      ev.actor_id = "usr_a";
      ev.details_json = R"({"padding":")" + std::string(200, 'p') + R"("})";
      ev.prev_hash = prev;
      ev.hash = AuditEventHash(ev);
      prev = ev.hash;
      batch.push_back(ev);
    }
    tx.AppendAuditEvents(batch);
  });
  AuditFilter f{.workspace_id = w.id};
  for (int round = 0; round < 3; ++round) {
    auto stream = store().StreamAuditEvents(f);
    ASSERT_EQ(stream->Read(5, [](AuditEvent&) {}), 5);
    stream.reset();  // the rest of the rows were still coming
    // The connections it used serve reads and writes as before.
    EXPECT_EQ(FilteredIds(f, 3).size(), 3u);
    AppendSpecs(w.id, {{"usr_a", "x.after", "", "t", kT0 - 1 - round}});
  }
  auto stream = store().StreamAuditEvents(f);
  EXPECT_EQ(ReadAll(*stream, 1000).size(), static_cast<size_t>(kEvents + 3));
}

TEST_P(StoreConformance, PurgeKeepsTheChainVerifiableFromItsAnchor) {
  Workspace w = AddWorkspace();
  std::vector<Spec> specs;
  for (int i = 0; i < 12; ++i) specs.push_back({"usr_a", "x.event", "", "t", kT0 + i * 100});
  auto e = AppendSpecs(w.id, specs);
  AuditLog log(store());

  // Batches of 5: events before kT0+700 are e[0..6], deleted in two transactions.
  EXPECT_EQ(log.PurgeChain(w.id, kT0 + 700, 5), 7);
  auto left = store().AuditChainSegment(w.id, 0, 100);
  ASSERT_EQ(left.size(), 5u);
  EXPECT_EQ(left.front().id, e[7].id);
  AuditChainBounds b = store().AuditBounds(w.id);
  EXPECT_EQ(b.anchor_hash, e[6].hash);
  EXPECT_EQ(b.purged_through_seq, e[6].seq);
  AuditVerification v = log.Verify(w.id);
  EXPECT_TRUE(v.valid) << v.reason << " " << v.first_invalid_id;
  EXPECT_EQ(v.checked, 5);
  EXPECT_EQ(log.PurgeChain(w.id, kT0 + 700, 5), 0) << "nothing more is due";

  // New events keep linking to the head; the chain still verifies.
  AppendSpecs(w.id, {{"usr_a", "x.after_purge", "", "t", kT0 + 5000}});
  EXPECT_TRUE(log.Verify(w.id).valid);

  // Removing the oldest retained event by hand is not retention: the anchor shows it.
  ASSERT_TRUE(RawSql(url(), "DELETE FROM audit_events WHERE id='" + e[7].id + "'"));
  v = log.Verify(w.id);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.first_invalid_id, e[8].id);
  EXPECT_EQ(v.reason, "anchor");
}

TEST_P(StoreConformance, VerifyNoticesTheNewestEventsRemoved) {
  Workspace w = AddWorkspace();
  std::vector<AuditEvent> events = AppendMany(w.id, 4);
  ASSERT_TRUE(RawSql(url(), "DELETE FROM audit_events WHERE id='" + events[3].id + "'"));
  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.reason, "head");
  EXPECT_EQ(v.first_invalid_id, events[2].id);
}

TEST_P(StoreConformance, PurgeStopsAtTheFirstYoungerEventInSeqOrder) {
  Workspace w = AddWorkspace();
  // A clock step back: e[2] is old but follows a young event, so only e[0] may go.
  auto e = AppendSpecs(w.id, {{"usr_a", "x.a", "", "t", kT0},
                              {"usr_a", "x.b", "", "t", kT0 + 1000},
                              {"usr_a", "x.c", "", "t", kT0 + 1}});
  AuditLog log(store());
  EXPECT_EQ(log.PurgeChain(w.id, kT0 + 500), 1);
  EXPECT_EQ(Ids(store().AuditChainSegment(w.id, 0, 10)), (std::vector<std::string>{e[1].id, e[2].id}));
  EXPECT_TRUE(log.Verify(w.id).valid);
}

TEST_P(StoreConformance, RetentionsNameEachChainWithItsWorkspaceDays) {
  Workspace w = AddWorkspace();
  w.audit_retention_days = 30;
  InTx([&](WriteTx& tx) { tx.UpdateWorkspace(w); });
  AppendMany(w.id, 1);
  std::string gone = NewId("ws");  // a deleted workspace's log keeps the default
  AppendMany(gone, 1);
  std::map<std::string, int> days;
  for (const auto& [chain, d] : store().AuditRetentions()) days[chain] = d;
  EXPECT_EQ(days.at(w.id), 30);
  EXPECT_EQ(days.at(gone), 365);
}

TEST_P(StoreConformance, DailyCountersCountEventsByActorDayAndAction) {
  Workspace w = AddWorkspace();
  constexpr UnixTime kDay = 1'767'225'600;  // 2026-01-01T00:00:00Z
  AppendSpecs(w.id, {{"usr_a", "logs.viewed", "", "t", kDay + 10},
                     {"usr_a", "logs.viewed", "", "t", kDay + 86399},
                     {"usr_a", "report.exported", "", "t", kDay + 20},
                     {"usr_b", "logs.viewed", "", "t", kDay + 30},
                     {"usr_a", "logs.viewed", "", "t", kDay + 86400}});
  auto counts = store().AuditDailyCounts(w.id, "2026-01-01", "2026-01-02");
  std::map<std::string, int64_t> got;
  for (const auto& c : counts) got[c.day + " " + c.actor_id + " " + c.action] = c.count;
  EXPECT_EQ(got, (std::map<std::string, int64_t>{{"2026-01-01 usr_a logs.viewed", 2},
                                                 {"2026-01-01 usr_a report.exported", 1},
                                                 {"2026-01-01 usr_b logs.viewed", 1},
                                                 {"2026-01-02 usr_a logs.viewed", 1}}));
  EXPECT_EQ(store().AuditDailyCounts(w.id, "2026-01-02", "2026-01-02").size(), 1u);

  // Retention takes whole days before the given one, of this workspace only.
  Workspace other = AddWorkspace();
  AppendSpecs(other.id, {{"usr_a", "logs.viewed", "", "t", kDay + 10}});
  int64_t purged = 0;
  InTx([&](WriteTx& tx) { purged = tx.PurgeAuditDailyCounts(w.id, "2026-01-02"); });
  EXPECT_EQ(purged, 3);
  counts = store().AuditDailyCounts(w.id, "2000-01-01", "2100-01-01");
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].day, "2026-01-02");
  EXPECT_EQ(store().AuditDailyCounts(other.id, "2026-01-01", "2026-01-01").size(), 1u);
}

TEST_P(StoreConformance, BatchAppendLinksSeqsHeadAndCounters) {
  Workspace w = AddWorkspace();
  AppendMany(w.id, 1);  // an existing head to link to
  // 450 events over 450 distinct (actor, action) counters: more than one multi-row INSERT of
  // events and of counters. The second batch repeats the counters, which then count 2.
  std::vector<AuditEvent> batch;
  for (int round = 0; round < 2; ++round) {
    InTx([&](WriteTx& tx) {
      std::string prev = tx.LockAuditChain(w.id);
      std::vector<AuditEvent> events;
      for (int i = 0; i < 450; ++i) {
        AuditEvent e;
        e.id = NewId("evt");
        e.workspace_id = w.id;
        e.occurred_at = kT0 + 1000 + i;
        e.action = i % 2 ? "x.odd" : "x.even";
        e.actor_type = "user";
        e.actor_id = "usr_batch" + std::to_string(i % 225);
        e.details_json = "{}";
        e.prev_hash = prev;
        e.hash = AuditEventHash(e);
        prev = e.hash;
        events.push_back(e);
      }
      tx.AppendAuditEvents(events);
      batch.insert(batch.end(), events.begin(), events.end());
    });
  }
  for (size_t i = 1; i < batch.size(); ++i) EXPECT_GT(batch[i].seq, batch[i - 1].seq);
  EXPECT_EQ(store().AuditBounds(w.id).last_seq, batch.back().seq);
  AuditVerification v = AuditLog(store()).Verify(w.id);
  EXPECT_TRUE(v.valid) << v.reason;
  EXPECT_EQ(v.checked, 901);
  std::map<std::string, int64_t> counters;
  for (const auto& c : store().AuditDailyCounts(w.id, "2000-01-01", "2100-01-01")) {
    if (c.actor_id.rfind("usr_batch", 0) == 0) counters[c.actor_id + " " + c.action] = c.count;
  }
  EXPECT_EQ(counters.size(), 450u);
  for (const auto& [k, n] : counters) EXPECT_EQ(n, 2) << k;
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

TEST_P(StoreConformance, MailDeliveryFieldsRoundTrip) {
  auto newest = store().Mail(1);
  UnixTime base = std::max(kT0, newest.empty() ? kT0 : newest[0].created_at) + 10;
  MailMessage fresh = NewMail(base + 1, "queued", base + 1);
  MailMessage retried = NewMail(base + 2, "queued", base + 600);
  retried.attempts = 3;
  retried.last_error = "451 4.7.1 Greylisted, try again in 5 minutes – “later”";
  MailMessage plain = NewMail(base + 3, "stored", 0);
  plain.body_html = "";
  InTx([&](WriteTx& tx) {
    tx.InsertMail(retried);
    tx.InsertMail(plain);
    tx.InsertMail(fresh);
  });
  auto got = store().Mail(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(Fields(got[0]), Fields(plain));
  EXPECT_EQ(Fields(got[1]), Fields(retried));
  EXPECT_EQ(Fields(got[2]), Fields(fresh));

  // Leave nothing due behind for later tests.
  InTx([&](WriteTx& tx) {
    for (MailMessage m : {fresh, retried, plain}) {
      m.status = "sent";
      tx.RecordMailAttempt(m);
    }
  });
}

TEST_P(StoreConformance, DueMailListsMailOfTheStatusDueAtNowOldestFirst) {
  // The outbox is shared by the whole run: put these before anything already there.
  auto oldest = store().DueMail(INT64_MAX, 1);
  auto oldest_stored = store().DueMail(INT64_MAX, 1, "stored");
  UnixTime base = kT0;
  if (!oldest.empty()) base = std::min(base, oldest[0].created_at);
  if (!oldest_stored.empty()) base = std::min(base, oldest_stored[0].created_at);
  base -= 1000;
  const UnixTime now = kT0 + 5000;

  MailMessage q1 = NewMail(base + 1, "queued", now - 10);
  MailMessage q2 = NewMail(base + 2, "queued", now);  // due exactly at now
  MailMessage q3 = NewMail(base + 3, "queued", now + 1);
  MailMessage q4 = NewMail(base + 4, "queued", 0);
  MailMessage sent = NewMail(base + 0, "sent", 0);
  sent.sent_at = base + 5;
  MailMessage failed = NewMail(base + 0, "failed", 0);
  MailMessage stored = NewMail(base + 0, "stored", 0);
  std::vector<MailMessage> mine = {q1, q2, q3, q4, sent, failed, stored};
  InTx([&](WriteTx& tx) {
    for (const MailMessage* m : {&q4, &sent, &q2, &stored, &q3, &failed, &q1}) tx.InsertMail(*m);
  });

  auto due = Only(store().DueMail(now, 10'000), mine);
  ASSERT_EQ(IdsOf(due), (std::vector<std::string>{q1.id, q2.id, q4.id}));
  EXPECT_EQ(Fields(due[0]), Fields(q1));
  EXPECT_EQ(Fields(due[1]), Fields(q2));
  EXPECT_EQ(Fields(due[2]), Fields(q4));
  // These are the oldest due mail of the store, so the limit keeps exactly them.
  EXPECT_EQ(IdsOf(store().DueMail(now, 1)), std::vector<std::string>{q1.id});
  EXPECT_EQ(IdsOf(store().DueMail(now, 2)), (std::vector<std::string>{q1.id, q2.id}));
  EXPECT_EQ(IdsOf(Only(store().DueMail(now - 11, 10'000), mine)), std::vector<std::string>{q4.id});
  EXPECT_EQ(IdsOf(Only(store().DueMail(now + 1, 10'000), mine)),
            (std::vector<std::string>{q1.id, q2.id, q3.id, q4.id}));
  // The mailbox log is read with status "stored".
  EXPECT_EQ(IdsOf(Only(store().DueMail(now, 10'000, "stored"), mine)),
            std::vector<std::string>{stored.id});
  EXPECT_EQ(IdsOf(store().DueMail(now, 1, "stored")), std::vector<std::string>{stored.id});

  // Leave nothing due behind for later runs against the same database.
  InTx([&](WriteTx& tx) {
    for (MailMessage m : {q1, q2, q3, q4, stored}) {
      m.status = "sent";
      m.sent_at = now;
      tx.RecordMailAttempt(m);
    }
  });
  EXPECT_TRUE(Only(store().DueMail(INT64_MAX, 10'000), mine).empty());
  EXPECT_TRUE(Only(store().DueMail(INT64_MAX, 10'000, "stored"), mine).empty());
}

TEST_P(StoreConformance, RecordMailAttemptWritesTheDeliveryStateOfThatMessage) {
  auto newest = store().Mail(1);
  UnixTime base = std::max(kT0, newest.empty() ? kT0 : newest[0].created_at) + 10;
  MailMessage m = NewMail(base + 1, "queued", base + 1);
  MailMessage bystander = NewMail(base + 2, "queued", base + 1);
  InTx([&](WriteTx& tx) {
    tx.InsertMail(m);
    tx.InsertMail(bystander);
  });

  // A temporary failure: try again later.
  MailMessage retry = m;
  retry.attempts = 1;
  retry.next_attempt_at = base + 300;
  retry.last_error = "421 4.3.0 Temporary System Problem ✗";
  InTx([&](WriteTx& tx) { tx.RecordMailAttempt(retry); });
  auto got = store().Mail(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Fields(got[1]), Fields(retry));
  EXPECT_EQ(Fields(got[0]), Fields(bystander));
  EXPECT_TRUE(Only(store().DueMail(base + 299, 10'000), {m}).empty());
  EXPECT_EQ(Only(store().DueMail(base + 300, 10'000), {m}).size(), 1u);

  // Then delivered: the error is cleared and the message is no longer due.
  MailMessage delivered = retry;
  delivered.status = "sent";
  delivered.attempts = 2;
  delivered.last_error = "";
  delivered.sent_at = base + 301;
  InTx([&](WriteTx& tx) { tx.RecordMailAttempt(delivered); });
  got = store().Mail(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Fields(got[1]), Fields(delivered));
  EXPECT_EQ(Fields(got[0]), Fields(bystander));
  EXPECT_TRUE(Only(store().DueMail(INT64_MAX, 10'000), {m}).empty());

  // A permanent failure keeps its error.
  MailMessage bounced = bystander;
  bounced.status = "failed";
  bounced.attempts = 5;
  bounced.last_error = "550 5.1.1 No such user";
  InTx([&](WriteTx& tx) { tx.RecordMailAttempt(bounced); });
  EXPECT_EQ(Fields(store().Mail(1)[0]), Fields(bounced));
  EXPECT_TRUE(Only(store().DueMail(INT64_MAX, 10'000), {bystander}).empty());
}

TEST_P(StoreConformance, ClaimMailLeasesADueMessageToOneClaimant) {
  auto newest = store().Mail(1);
  UnixTime base = std::max(kT0, newest.empty() ? kT0 : newest[0].created_at) + 10;
  const UnixTime now = base + 100;
  MailMessage due = NewMail(base + 1, "queued", now);
  MailMessage later = NewMail(base + 2, "queued", now + 1);
  InTx([&](WriteTx& tx) {
    tx.InsertMail(due);
    tx.InsertMail(later);
  });

  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.ClaimMail(due.id, now, now + 60));
    EXPECT_FALSE(tx.ClaimMail(later.id, now, now + 60)) << "claimed before it was due";
    EXPECT_FALSE(tx.ClaimMail(NewId("mail"), now, now + 60));
  });
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.ClaimMail(due.id, now, now + 60)) << "claimed twice"; });
  auto got = store().Mail(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].id, due.id);
  EXPECT_EQ(got[1].next_attempt_at, now + 60);
  EXPECT_EQ(got[1].status, "queued");
  EXPECT_EQ(IdsOf(Only(store().DueMail(now + 59, 10'000), {due, later})),
            std::vector<std::string>{later.id});
  // When the lease runs out, it is due (and claimable) again.
  EXPECT_EQ(IdsOf(Only(store().DueMail(now + 60, 10'000), {due, later})),
            (std::vector<std::string>{due.id, later.id}));
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.ClaimMail(due.id, now + 60, now + 120)); });

  InTx([&](WriteTx& tx) {
    for (MailMessage m : {due, later}) {
      m.status = "sent";
      m.sent_at = now;
      tx.RecordMailAttempt(m);
    }
  });
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

TEST_P(StoreConformance, IdempotentResponsesArePurgedOldestFirstInBatches) {
  // Far older than any other test's rows (kT0), so that only these are before the cutoffs.
  std::string scope = NewId("usr");
  for (UnixTime at : {UnixTime{1000}, UnixTime{1001}, UnixTime{1002}}) {
    InTx([&](WriteTx& tx) {
      tx.SaveIdempotentResponse(scope, "k" + std::to_string(at),
                                IdempotentResponse{"h", at == 1002 ? 0 : 201, "text/plain", "b", at});
    });
  }
  int64_t n = 0;
  InTx([&](WriteTx& tx) { n = tx.PurgeIdempotentResponses(1002, 1); });
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(store().FindIdempotentResponse(scope, "k1000").has_value());  // oldest first
  EXPECT_TRUE(store().FindIdempotentResponse(scope, "k1001").has_value());
  InTx([&](WriteTx& tx) { n = tx.PurgeIdempotentResponses(1002, 10); });
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(store().FindIdempotentResponse(scope, "k1001").has_value());
  // Created at the cutoff: kept (a reservation, status 0, like any other).
  EXPECT_TRUE(store().FindIdempotentResponse(scope, "k1002").has_value());
  InTx([&](WriteTx& tx) { n = tx.PurgeIdempotentResponses(1003, 10); });
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(store().FindIdempotentResponse(scope, "k1002").has_value());
}

// What other processes poll to keep their key index current.
TEST_P(StoreConformance, ChangesSinceFindKeysProjectsAndDeletedWorkspaces) {
  constexpr UnixTime kLater = kT0 + 5'000'000;  // after every other test's rows
  Workspace w = AddWorkspace();
  Workspace quiet = AddWorkspace();
  User owner = AddUser();
  auto ids_of = [](const std::vector<ApiKey>& keys) {
    std::set<std::string> ids;
    for (const auto& k : keys) ids.insert(k.id);
    return ids;
  };
  ApiKey old_key, new_key;
  for (ApiKey* k : {&old_key, &new_key}) {
    k->id = NewId("key");
    k->workspace_id = w.id;
    k->owner_id = owner.id;
    k->name = "k";
    k->prefix = "sk_live_abc";
    k->hash = NewId("hash");  // unique; its shape does not matter to the store
    k->created_at = k->updated_at = k == &old_key ? kLater : kLater + 100;
  }
  InTx([&](WriteTx& tx) {
    tx.InsertApiKey(old_key);
    tx.InsertApiKey(new_key);
  });
  auto since = ids_of(store().ApiKeysUpdatedSince(kLater + 50));
  EXPECT_FALSE(since.contains(old_key.id));
  EXPECT_TRUE(since.contains(new_key.id));

  // An edit moves updated_at; so does revocation of an owner's keys.
  old_key.name = "renamed";
  old_key.updated_at = kLater + 200;
  InTx([&](WriteTx& tx) { tx.UpdateApiKey(old_key); });
  auto edited = store().ApiKeysUpdatedSince(kLater + 150);
  ASSERT_TRUE(ids_of(edited).contains(old_key.id));
  EXPECT_FALSE(ids_of(edited).contains(new_key.id));
  InTx([&](WriteTx& tx) { tx.RevokeKeysOfOwner(w.id, owner.id, kLater + 300); });
  auto revoked = store().ApiKeysUpdatedSince(kLater + 250);
  EXPECT_EQ(ids_of(revoked), (std::set<std::string>{old_key.id, new_key.id}));
  for (const auto& k : revoked) EXPECT_EQ(k.revoked_at, kLater + 300);

  // A project's change names its workspace; a workspace without changes is not named.
  Project p;
  p.id = NewId("prj");
  p.workspace_id = w.id;
  p.name = "Changes";
  p.created_at = p.updated_at = kLater + 400;
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertProject(p).ok()); });
  auto changed = store().WorkspacesChangedSince(kLater + 350);
  EXPECT_NE(std::find(changed.begin(), changed.end(), w.id), changed.end());
  EXPECT_EQ(std::find(changed.begin(), changed.end(), quiet.id), changed.end());

  // A deleted workspace leaves a tombstone dated by the deletion.
  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(w.id, kLater + 500); });
  auto deleted = store().WorkspacesDeletedSince(kLater + 450);
  EXPECT_NE(std::find(deleted.begin(), deleted.end(), w.id), deleted.end());
  EXPECT_EQ(std::find(deleted.begin(), deleted.end(), quiet.id), deleted.end());
  auto before = store().WorkspacesDeletedSince(kLater + 501);
  EXPECT_EQ(std::find(before.begin(), before.end(), w.id), before.end());
  // The workspace's keys went with it.
  EXPECT_TRUE(ids_of(store().ApiKeysUpdatedSince(kLater + 250)).empty());
}

// Usage is written in batches by the verification flusher: counts add up per key and month,
// last_used_at only moves forward, and a key deleted meanwhile is skipped, not an error.
TEST_P(StoreConformance, RecordKeyUsageAddsCountsInBatchesAndSkipsVanishedKeys) {
  Workspace w = AddWorkspace();
  User owner = AddUser();
  std::vector<ApiKey> keys(250);
  for (auto& k : keys) {
    k.id = NewId("key");
    k.workspace_id = w.id;
    k.owner_id = owner.id;
    k.name = "usage";
    k.prefix = "sk_live_abc";
    k.hash = NewId("hash");
    k.created_at = k.updated_at = kT0;
  }
  InTx([&](WriteTx& tx) {
    for (const auto& k : keys) tx.InsertApiKey(k);
  });
  const std::string period = "2031-" + NewId("p").substr(4, 6);  // this test's own month
  std::vector<KeyUsage> batch;
  for (size_t i = 0; i < keys.size(); ++i) {
    batch.push_back({keys[i].id, kT0 + 100, period, static_cast<int64_t>(i + 1)});
  }
  batch.push_back({NewId("key"), kT0 + 100, period, 5});  // no such key
  batch.push_back({keys[0].id, 0, period, 10});           // count only
  InTx([&](WriteTx& tx) { tx.RecordKeyUsage(batch); });
  InTx([&](WriteTx& tx) { tx.RecordKeyUsage({{keys[1].id, kT0 + 50, period, 1}}); });

  std::map<std::string, int64_t> counts;
  for (const auto& [id, n] : store().KeyUsageIn(period)) counts[id] = n;
  EXPECT_EQ(counts.size(), keys.size());
  EXPECT_EQ(counts[keys[0].id], 1 + 10);
  EXPECT_EQ(counts[keys[1].id], 2 + 1);
  EXPECT_EQ(counts[keys[249].id], 250);
  EXPECT_EQ(store().ApiKeyById(w.id, keys[249].id)->last_used_at, kT0 + 100);
  // An older last use does not move it back.
  EXPECT_EQ(store().ApiKeyById(w.id, keys[1].id)->last_used_at, kT0 + 100);
}

// First uses from new addresses are written in batches: a pair recorded already (by this
// process or another) and a key deleted meanwhile are skipped, and the answer says which of
// the batch's positions were new, across the store's multi-row chunks.
TEST_P(StoreConformance, InsertKeyIpsReportsOnlyNewPairs) {
  Workspace w = AddWorkspace();
  User owner = AddUser();
  std::vector<ApiKey> keys(3);
  for (auto& k : keys) {
    k.id = NewId("key");
    k.workspace_id = w.id;
    k.owner_id = owner.id;
    k.name = "ips";
    k.prefix = "sk_live_abc";
    k.hash = NewId("hash");
    k.created_at = k.updated_at = kT0;
  }
  InTx([&](WriteTx& tx) {
    for (const auto& k : keys) tx.InsertApiKey(k);
  });
  std::vector<size_t> first;
  InTx([&](WriteTx& tx) { first = tx.InsertKeyIps({{keys[0].id, "203.0.113.1", kT0}}); });
  EXPECT_EQ(first, std::vector<size_t>{0});

  std::vector<KeyIpUse> uses;
  uses.push_back({keys[0].id, "203.0.113.1", kT0 + 1});  // 0: known already
  uses.push_back({NewId("key"), "203.0.113.2", kT0 + 1});  // 1: no such key
  for (int i = 0; i < 300; ++i) {                          // 2..301: new, over two chunks
    uses.push_back({keys[1 + i % 2].id, "2001:db8::" + std::to_string(i), kT0 + 2});
  }
  uses.push_back({keys[0].id, "203.0.113.1", kT0 + 3});  // 302: known already
  std::vector<size_t> fresh;
  InTx([&](WriteTx& tx) { fresh = tx.InsertKeyIps(uses); });
  ASSERT_EQ(fresh.size(), 300u);
  EXPECT_EQ(fresh.front(), 2u);
  EXPECT_EQ(fresh.back(), 301u);
  EXPECT_TRUE(std::is_sorted(fresh.begin(), fresh.end()));

  size_t stored = 0;
  for (const auto& [key, ip] : store().AllKeyIps("", "", 100000)) {
    if (key == keys[0].id || key == keys[1].id || key == keys[2].id) ++stored;
  }
  EXPECT_EQ(stored, 301u);
  std::vector<size_t> again;
  InTx([&](WriteTx& tx) { again = tx.InsertKeyIps(uses); });
  EXPECT_TRUE(again.empty());
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
