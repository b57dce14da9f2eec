// The store conformance suite's shared part: the run (backend, URL, shared store), the fixture
// every test derives from, and helpers to build and compare records.
//
//   store_conformance --backend=sqlite     a fresh temporary SQLite file, removed afterwards
//   store_conformance --backend=postgres   the database named by GATEHOUSE_TEST_PG
//
// One executable, one test file per area of the Store (migrations, users and sessions,
// workspaces, memberships and roles, projects, API keys, invitations, transactions, the audit
// log, mail, idempotency keys, two-factor state), in the manner of SpiceDB's
// pkg/datastore/test. conformance_main.cpp holds main() and instantiates the suite for the
// backend named on the command line.
//
// All tests of a run share one database, so each test works on fresh random ids and emails.
// The few checks that must reach around the store (tampering with an audit row, planting a
// schema version from the future) use the backend's own client, sqlite3 or psql (RawSql).
//
// The fixture and helpers live in a named namespace and are inline: GoogleTest requires every
// TEST_P of a suite to name one and the same fixture type, whichever file it is in.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/model.h"
#include "service/audit.h"
#include "service/context.h"
#include "store/store.h"

namespace gh::conformance {

// What this run tests against.
struct Run {
  std::string backend;             // "sqlite" or "postgres"
  std::string url;                 // the shared store's URL
  std::filesystem::path temp_dir;  // scratch files of this run; removed at exit
  std::unique_ptr<Store> store;    // the shared store, opened (and migrated) once
};

// The one Run of the process (conformance_main.cpp).
Run& TheRun();

inline constexpr UnixTime kT0 = 1'750'000'000;

inline std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Runs `sql` on the database at `url` with the backend's command-line client, behind the
// store's back.
::testing::AssertionResult RawSql(const std::string& url, const std::string& sql);

// An empty database of the run's backend next to the shared one, dropped on destruction.
class ScratchDatabase {
 public:
  ScratchDatabase();
  ~ScratchDatabase();
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
inline auto Fields(const User& u) {
  return std::tie(u.id, u.email, u.name, u.password_hash, u.theme, u.language, u.avatar_url,
                  u.created_at, u.updated_at, u.last_login_at, u.deleted_at,
                  u.email_verified_at);
}
inline auto Fields(const Session& s) {
  return std::tie(s.id, s.user_id, s.token_hash, s.device, s.browser, s.ip, s.user_agent,
                  s.created_at, s.last_active_at, s.idle_expires_at, s.absolute_expires_at,
                  s.revoked_at, s.country);
}
inline auto Fields(const Workspace& w) {
  return std::tie(w.id, w.name, w.region, w.timezone, w.language, w.plan, w.subscription_status,
                  w.audit_retention_days, w.logo_content_type, w.logo_updated_at, w.created_at,
                  w.updated_at);
}
inline auto Fields(const Membership& m) {
  return std::tie(m.id, m.workspace_id, m.user_id, m.role, m.joined_at, m.deactivated_at,
                  m.directory_managed);
}
inline auto Fields(const AuditEvent& e) {
  return std::tie(e.id, e.seq, e.workspace_id, e.occurred_at, e.action, e.actor_type, e.actor_id,
                  e.actor_name, e.actor_email, e.target_type, e.target_id, e.target_name,
                  e.project_id, e.ip, e.user_agent, e.details_json, e.prev_hash, e.hash);
}
inline auto Fields(const MailMessage& m) {
  return std::tie(m.id, m.to, m.subject, m.body_text, m.created_at, m.sent_at, m.status,
                  m.body_html, m.attempts, m.next_attempt_at, m.last_error);
}
inline auto Fields(const CustomRole& r) {
  return std::tie(r.id, r.workspace_id, r.name, r.description, r.permissions, r.created_at,
                  r.updated_at);
}
inline auto Fields(const Invitation& i) {
  return std::tie(i.id, i.workspace_id, i.email, i.role, i.projects, i.token_hash, i.invited_by,
                  i.redirect_url, i.status, i.created_at, i.expires_at, i.accepted_at,
                  i.revoked_at);
}
inline auto Fields(const Member& m) { return std::tuple_cat(Fields(m.membership), Fields(m.user)); }
inline auto Fields(const IdempotentResponse& r) {
  return std::tie(r.request_hash, r.status, r.content_type, r.body, r.created_at);
}

inline std::vector<std::string> Ids(const std::vector<AuditEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

inline std::vector<std::string> Ids(const std::vector<Session>& sessions) {
  std::vector<std::string> out;
  for (const auto& s : sessions) out.push_back(s.id);
  return out;
}

template <typename T>
inline std::vector<std::string> IdsOf(const std::vector<T>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.id);
  return out;
}

inline std::vector<std::string> Ids(const std::vector<Member>& members) {
  std::vector<std::string> out;
  for (const auto& m : members) out.push_back(m.user.id);
  return out;
}

// The records among `all` whose ids are in `mine`, in the order `all` lists them: for lists
// the whole run shares (the mail outbox).
inline std::vector<MailMessage> Only(const std::vector<MailMessage>& all,
                                     const std::vector<MailMessage>& mine) {
  std::set<std::string> ids;
  for (const auto& m : mine) ids.insert(m.id);
  std::vector<MailMessage> out;
  for (const auto& m : all) {
    if (ids.count(m.id) != 0) out.push_back(m);
  }
  return out;
}

inline std::vector<std::string> Reversed(std::vector<std::string> v) {
  std::reverse(v.begin(), v.end());
  return v;
}

inline auto Fields(const Project& p) {
  return std::tie(p.id, p.workspace_id, p.name, p.environment, p.rate_limit_per_minute,
                  p.rate_limit_per_month, p.created_at, p.updated_at);
}
inline auto Fields(const ProjectMember& m) {
  return std::tie(m.project_id, m.workspace_id, m.user_id, m.role, m.added_at);
}
inline auto Fields(const ApiKey& k) {
  return std::tie(k.id, k.workspace_id, k.project_id, k.type, k.environment, k.name, k.service,
                  k.owner_id, k.prefix, k.hash, k.publishable_key, k.allow, k.deny, k.methods,
                  k.rate_per_minute, k.rate_per_month, k.ip_allowlist, k.expires_at,
                  k.previous_hash, k.previous_expires_at, k.created_at, k.updated_at, k.revoked_at,
                  k.last_used_at, k.owner_hold);
}
inline auto Fields(const TotpState& t) {
  return std::tie(t.user_id, t.secret, t.confirmed, t.last_step, t.created_at);
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

  static MailMessage NewMail(UnixTime created_at, MailStatus status, UnixTime next_attempt_at) {
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

  static Project NewProject(const std::string& workspace_id, const std::string& name,
                            UnixTime created_at = kT0) {
    Project p;
    p.id = NewId("prj");
    p.workspace_id = workspace_id;
    p.name = name;
    p.environment = "production";
    p.rate_limit_per_minute = 600;
    p.created_at = created_at;
    p.updated_at = created_at + 1;
    return p;
  }

  static Project AddProject(const std::string& workspace_id, const std::string& name,
                            UnixTime created_at = kT0) {
    Project p = NewProject(workspace_id, name, created_at);
    InTx([&](WriteTx& tx) {
      Status st = tx.InsertProject(p);
      EXPECT_TRUE(st.ok()) << st.error().code;
    });
    return p;
  }

  static ProjectMember AddProjectMember(const Project& p, const std::string& user_id,
                                        const std::string& role, UnixTime added_at = kT0 + 10) {
    ProjectMember m{p.id, p.workspace_id, user_id, role, added_at};
    InTx([&](WriteTx& tx) { tx.PutProjectMember(m); });
    return m;
  }

  // A live secret key of the workspace, workspace-wide, with every optional field empty.
  static ApiKey NewKey(const std::string& workspace_id, const std::string& owner_id,
                       UnixTime created_at = kT0) {
    ApiKey k;
    k.id = NewId("key");
    k.workspace_id = workspace_id;
    k.owner_id = owner_id;
    k.name = "CI deploy ✓";
    k.prefix = "sk_live_abc";
    k.hash = NewId("hash");  // unique; its shape does not matter to the store
    k.created_at = k.updated_at = created_at;
    return k;
  }

  static ApiKey AddKey(const ApiKey& k) {
    InTx([&](WriteTx& tx) { tx.InsertApiKey(k); });
    return k;
  }
};

// An audit event to append, in few words (AppendSpecs).
struct Spec {
  std::string actor, action, project, target;
  UnixTime at;
};

// Appends events described by `specs` to `chain`, one transaction each.
inline std::vector<AuditEvent> AppendSpecs(const std::string& chain,
                                           const std::vector<Spec>& specs) {
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

inline std::vector<std::string> FilteredIds(const AuditFilter& f, int limit = 100) {
  return Ids(TheRun().store->FilteredAuditEvents(f, std::nullopt, limit).events);
}

}  // namespace gh::conformance
