// Races between real concurrent requests, run many times, on both stores:
//
//   race_tests --backend=sqlite     a fresh temporary SQLite file, removed afterwards
//   race_tests --backend=postgres   the database named by GATEHOUSE_TEST_PG
//
// Each race runs GATEHOUSE_RACE_ITERATIONS times (default 1000), each time on a new workspace,
// with two threads released together by a latch. The two sides run through the services of
// two "nodes" (each its own Store on the same database, with its own connections, caches and
// key index), as two gatehouse processes behind a load balancer would, or both through one
// node where what races is this process's own after-commit work. After each round the
// invariants are read back from the store and from the key index:
//   exactly one owner; at least one admin (admin-member preset); a revoked key stays revoked
//   in the store and in every index; no lost update; no live key whose owner is not a member;
//   a password reset link sets one password.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <latch>
#include <memory>
#include <string>
#include <thread>

#include "core/crypto.h"
#include "core/ids.h"
#include "service/account_tokens.h"
#include "http/routes.h"
#include "service/presets.h"
#include "store/store.h"

namespace gh {
namespace {

struct Run {
  std::string backend;
  std::string url;
  int iterations = 1000;
  std::filesystem::path dir;  // SQLite's temporary directory
};

Run& TheRun() {
  static Run run;
  return run;
}

// One gatehouse process as far as the database can tell: a store with its own connections,
// and every service on top of it.
struct Node {
  Node(const std::string& url, const Config& config, const Catalogue& catalogue)
      : store(OpenStore(url)),
        app(std::make_unique<http::App>(*store, config, catalogue, nullptr, "race")) {
    app->key_index.Load(*store);
  }
  std::unique_ptr<Store> store;
  std::unique_ptr<http::App> app;
};

Principal As(const User& u) { return Principal{u, "ses_race", ClientInfo{"127.0.0.1", "race"}}; }

// Runs `a` and `b` at the same moment on two threads.
template <typename A, typename B>
void Race(A&& a, B&& b) {
  std::latch start(2);
  std::thread t1([&] {
    start.arrive_and_wait();
    a();
  });
  std::thread t2([&] {
    start.arrive_and_wait();
    b();
  });
  t1.join();
  t2.join();
}

class Races : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    four_role_ = std::make_unique<Catalogue>(LoadCatalogue("four-role").value());
    admin_member_ = std::make_unique<Catalogue>(LoadCatalogue("admin-member").value());
    config_ = std::make_unique<Config>();
    const std::string& url = TheRun().url;
    four_[0] = std::make_unique<Node>(url, *config_, *four_role_);
    four_[1] = std::make_unique<Node>(url, *config_, *four_role_);
    admin_[0] = std::make_unique<Node>(url, *config_, *admin_member_);
    admin_[1] = std::make_unique<Node>(url, *config_, *admin_member_);
  }
  static void TearDownTestSuite() {
    for (auto* nodes : {&four_, &admin_}) {
      for (auto& n : *nodes) n.reset();
    }
  }

  static int Iterations() { return TheRun().iterations; }
  static Store& store() { return *four_[0]->store; }

  // A workspace with one member per role given, in one transaction. Returns the users in the
  // order of `roles`.
  static std::vector<User> Seed(Workspace& w, const std::vector<std::string>& roles) {
    UnixTime now = Clock::System().Now();
    w.id = NewId("ws");
    w.name = "Race";
    w.region = "us-east-1";
    w.plan = "pro";
    w.created_at = w.updated_at = now;
    std::vector<User> users;
    for (size_t i = 0; i < roles.size(); ++i) {
      User u;
      u.id = NewId("usr");
      u.email = "race-" + u.id.substr(4) + "@example.test";
      u.name = "Racer " + roles[i];
      u.password_hash = "!";
      u.created_at = u.updated_at = now;
      users.push_back(u);
    }
    store().Write([&](WriteTx& tx) {
      tx.InsertWorkspace(w);
      for (size_t i = 0; i < roles.size(); ++i) {
        EXPECT_TRUE(tx.InsertUser(users[i]).ok());
        tx.InsertMembership({NewId("mem"), w.id, users[i].id, roles[i], now + int64_t(i)});
      }
    });
    return users;
  }

  static Membership MembershipIn(const Workspace& w, const User& u) {
    auto m = store().MembershipOf(w.id, u.id);
    EXPECT_TRUE(m.has_value());
    return m.value_or(Membership{});
  }

  static std::string CodeOf(Node& n, const std::string& secret) {
    return std::string(
        ToString(n.app->api_keys.Verify({secret, "/v1/anything", "GET", "127.0.0.1"}).code));
  }

  static std::unique_ptr<Catalogue> four_role_, admin_member_;
  static std::unique_ptr<Config> config_;
  static std::array<std::unique_ptr<Node>, 2> four_, admin_;
};

std::unique_ptr<Catalogue> Races::four_role_, Races::admin_member_;
std::unique_ptr<Config> Races::config_;
std::array<std::unique_ptr<Node>, 2> Races::four_, Races::admin_;

TEST_F(Races, TwoTransfersOfOwnershipLeaveExactlyOneOwner) {
  for (int i = 0; i < Iterations(); ++i) {
    Workspace w;
    auto u = Seed(w, {"owner", "admin", "admin"});
    Membership owner = MembershipIn(w, u[0]);
    Status to_a, to_b;
    Race([&] { to_a = four_[0]->app->team.TransferOwnership(As(u[0]), owner, u[1].id); },
         [&] { to_b = four_[1]->app->team.TransferOwnership(As(u[0]), owner, u[2].id); });
    ASSERT_EQ(to_a.ok() + to_b.ok(), 1) << "round " << i;
    ASSERT_EQ(store().CountMembersWithRole(w.id, "owner"), 1) << "round " << i;
    const User& heir = to_a.ok() ? u[1] : u[2];
    ASSERT_EQ(MembershipIn(w, heir).role, "owner") << "round " << i;
    ASSERT_EQ(MembershipIn(w, u[0]).role, "admin") << "round " << i;
  }
}

TEST_F(Races, TransferRacingTheHeirsRemovalLeavesOneOwnerWhoIsAMember) {
  for (int i = 0; i < Iterations(); ++i) {
    Workspace w;
    auto u = Seed(w, {"owner", "admin", "admin"});
    Membership owner = MembershipIn(w, u[0]), remover = MembershipIn(w, u[2]);
    Status transferred;
    Result<Removal> removed = Error::NotFound();
    Race([&] { transferred = four_[0]->app->team.TransferOwnership(As(u[0]), owner, u[1].id); },
         [&] { removed = four_[1]->app->team.Remove(As(u[2]), remover, u[1].id, {}); });
    ASSERT_EQ(transferred.ok() + removed.ok(), 1) << "round " << i;
    ASSERT_EQ(store().CountMembersWithRole(w.id, "owner"), 1) << "round " << i;
    auto members = store().Members(w.id);
    int owners = 0;
    for (const auto& m : members) owners += m.membership.role == "owner";
    ASSERT_EQ(owners, 1) << "round " << i;  // the owner is among the members
  }
}

TEST_F(Races, TwoAdminsDemotingOrRemovingEachOtherLeaveAnAdmin) {
  for (int i = 0; i < Iterations(); ++i) {
    Workspace w;
    auto u = Seed(w, {"admin", "admin", "member"});
    Membership x = MembershipIn(w, u[0]), y = MembershipIn(w, u[1]);
    int done = 0;
    if (i % 2 == 0) {
      Result<gh::Member> a = Error::NotFound(), b = Error::NotFound();
      Race([&] { a = admin_[0]->app->team.ChangeRole(As(u[0]), x, u[1].id, "member"); },
           [&] { b = admin_[1]->app->team.ChangeRole(As(u[1]), y, u[0].id, "member"); });
      done = a.ok() + b.ok();
    } else {
      Result<Removal> a = Error::NotFound(), b = Error::NotFound();
      Race([&] { a = admin_[0]->app->team.Remove(As(u[0]), x, u[1].id, {}); },
           [&] { b = admin_[1]->app->team.Remove(As(u[1]), y, u[0].id, {}); });
      done = a.ok() + b.ok();
    }
    ASSERT_EQ(done, 1) << "round " << i;
    ASSERT_EQ(store().CountMembersWithRole(w.id, "admin"), 1) << "round " << i;
    ASSERT_EQ(store().MemberCount(w.id), i % 2 == 0 ? 3 : 2) << "round " << i;
  }
}

TEST_F(Races, AnEditRacingARevocationNeverBringsTheKeyBack) {
  std::vector<std::string> revoked_elsewhere;
  for (int i = 0; i < Iterations(); ++i) {
    Workspace w;
    auto u = Seed(w, {"owner"});
    Membership owner = MembershipIn(w, u[0]);
    Node& editor = *four_[0];
    // Even rounds: both on one node (what races is its own after-commit index updates);
    // odd rounds: the revocation on the other node.
    Node& revoker = i % 2 == 0 ? *four_[0] : *four_[1];
    KeyInput in;
    in.name = "Race key";
    auto key = editor.app->api_keys.Create(As(u[0]), owner, in);
    ASSERT_TRUE(key.ok());
    KeyInput rename;
    rename.name = "Renamed " + std::to_string(i);
    Result<KeyView> edited = Error::NotFound(), revoked = Error::NotFound();
    Race([&] { edited = editor.app->api_keys.Update(As(u[0]), owner, key->key.id, rename); },
         [&] { revoked = revoker.app->api_keys.Revoke(As(u[0]), owner, key->key.id); });
    ASSERT_TRUE(revoked.ok()) << "round " << i;
    auto stored = store().ApiKeyById(w.id, key->key.id);
    ASSERT_TRUE(stored && stored->revoked_at) << "round " << i;
    // No lost update: the edit either committed first and stands, or found the key revoked.
    ASSERT_EQ(edited.ok(), stored->name == *rename.name) << "round " << i;
    if (!edited.ok()) {
      ASSERT_EQ(edited.error().code, "key_revoked") << "round " << i;
    }
    ASSERT_EQ(CodeOf(revoker, key->secret), "REVOKED") << "round " << i;
    if (&revoker == &editor) {
      ASSERT_EQ(CodeOf(editor, key->secret), "REVOKED") << "round " << i;
    } else {
      revoked_elsewhere.push_back(key->secret);
    }
  }
  // The editing node learns of revocations made elsewhere by its refresh.
  four_[0]->app->key_sync.Refresh();
  for (const auto& secret : revoked_elsewhere) ASSERT_EQ(CodeOf(*four_[0], secret), "REVOKED");
}

TEST_F(Races, ARotationRacingARevocationLeavesNoSecretValid) {
  for (int i = 0; i < Iterations(); ++i) {
    Workspace w;
    auto u = Seed(w, {"owner"});
    Membership owner = MembershipIn(w, u[0]);
    Node& n = *four_[0];
    KeyInput in;
    in.name = "Rotating key";
    auto key = n.app->api_keys.Create(As(u[0]), owner, in);
    ASSERT_TRUE(key.ok());
    Result<KeyView> rotated = Error::NotFound(), revoked = Error::NotFound();
    Race([&] { rotated = n.app->api_keys.Rotate(As(u[0]), owner, key->key.id, 3600); },
         [&] { revoked = n.app->api_keys.Revoke(As(u[0]), owner, key->key.id); });
    ASSERT_TRUE(revoked.ok()) << "round " << i;
    ASSERT_TRUE(store().ApiKeyById(w.id, key->key.id)->revoked_at) << "round " << i;
    ASSERT_EQ(CodeOf(n, key->secret), "REVOKED") << "round " << i;
    if (rotated.ok()) {
      ASSERT_EQ(CodeOf(n, rotated->secret), "REVOKED") << "round " << i;
    } else {
      ASSERT_EQ(rotated.error().code, "key_revoked") << "round " << i;
    }
  }
}

TEST_F(Races, AKeyCreatedWhileItsOwnerIsRemovedDoesNotOutliveTheMembership) {
  std::vector<std::string> created_secrets;
  for (int i = 0; i < Iterations(); ++i) {
    Workspace w;
    auto u = Seed(w, {"owner", "developer"});
    Membership owner = MembershipIn(w, u[0]), dev = MembershipIn(w, u[1]);
    KeyInput in;
    in.name = "Leaver's key";
    Result<KeyView> created = Error::NotFound();
    Result<Removal> removed = Error::NotFound();
    Race([&] { created = four_[0]->app->api_keys.Create(As(u[1]), dev, in); },
         [&] { removed = four_[1]->app->team.Remove(As(u[0]), owner, u[1].id, {}); });
    ASSERT_TRUE(removed.ok()) << "round " << i;
    ASSERT_FALSE(store().MembershipOf(w.id, u[1].id)) << "round " << i;
    for (const auto& k : store().ApiKeys(w.id)) {
      ASSERT_TRUE(k.owner_id != u[1].id || k.revoked_at) << "round " << i << ": " << k.id;
    }
    if (created.ok()) {
      // Created first, then revoked by the removal: the removing node knows at once.
      ASSERT_EQ(removed->revoked_keys, 1) << "round " << i;
      ASSERT_EQ(CodeOf(*four_[1], created->secret), "REVOKED") << "round " << i;
      created_secrets.push_back(created->secret);
    } else {
      ASSERT_EQ(created.error().kind, ErrorKind::kNotFound) << "round " << i;
    }
  }
  // The creating node learns of the revocations by its refresh.
  four_[0]->app->key_sync.Refresh();
  for (const auto& secret : created_secrets) ASSERT_EQ(CodeOf(*four_[0], secret), "REVOKED");
}

// Two nodes confirm the same reset link at once with different passwords: one wins, the other
// is told the link was used, and the stored password, the sessions and the audit log agree
// with the winner. Each side hashes its password first (argon2, cheapest cost here).
TEST_F(Races, TwoConfirmationsOfOneResetLinkSetOnePassword) {
  Config cheap;
  cheap.argon2_ops = 1;
  cheap.argon2_mem_kib = 8;
  Node a(TheRun().url, cheap, *four_role_), b(TheRun().url, cheap, *four_role_);
  ClientInfo client{"127.0.0.1", "race"};
  for (int i = 0; i < Iterations(); ++i) {
    Workspace w;
    User u = Seed(w, {"owner"})[0];
    IssuedToken link = IssueAccountToken(u, AccountTokenPurpose::kPasswordReset, 3600,
                                         Clock::System().Now());
    store().Write([&](WriteTx& tx) { tx.InsertAccountToken(link.record); });
    Result<PasswordResetDone> first = Error::NotFound(), second = Error::NotFound();
    auto& ra = a.app->password_reset;
    auto& rb = b.app->password_reset;
    Race([&] { first = ra.Confirm(link.token, "first password here", client); },
         [&] { second = rb.Confirm(link.token, "second password here", client); });
    ASSERT_NE(first.ok(), second.ok()) << "round " << i;
    const auto& lost = first.ok() ? second : first;
    ASSERT_EQ(lost.error().code, "token_used") << "round " << i;
    auto stored = store().UserById(u.id);
    ASSERT_TRUE(crypto::VerifyPassword(first.ok() ? "first password here" : "second password here",
                                       stored->password_hash))
        << "round " << i;
    AuditFilter resets;
    resets.action = "user.password_reset";
    resets.target_id = u.id;
    ASSERT_EQ(store().FilteredAuditEvents(resets, std::nullopt, 10).events.size(), 1u)
        << "round " << i;
  }
}

}  // namespace
}  // namespace gh

namespace {

bool Psql(const std::string& url, const std::string& sql) {
  std::string cmd = "psql -X -q -v ON_ERROR_STOP=1 -d '" + url + "' -c '" + sql + "' >/dev/null";
  if (std::system(cmd.c_str()) == 0) return true;
  std::fprintf(stderr, "race_tests: FAILED: %s\n", cmd.c_str());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string admin_url, scratch;
  gh::Run& run = gh::TheRun();
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--backend=", 0) == 0) run.backend = arg.substr(10);
  }
  if (const char* n = std::getenv("GATEHOUSE_RACE_ITERATIONS"); n && *n) run.iterations = std::atoi(n);
  if (run.backend == "sqlite") {
    run.dir = std::filesystem::temp_directory_path() / ("gatehouse-race-" + gh::NewId("r"));
    std::filesystem::create_directories(run.dir);
    run.url = "sqlite:" + (run.dir / "race.db").string();
  } else if (run.backend == "postgres") {
    const char* pg = std::getenv("GATEHOUSE_TEST_PG");
    if (!pg || !*pg) {
      std::fprintf(stderr, "race_tests: FAILED: --backend=postgres needs GATEHOUSE_TEST_PG\n");
      return 1;
    }
    // A database of its own on that server, so that the rounds' rows (dated now) never meet
    // the conformance suite's.
    admin_url = pg;
    scratch = "gh_race_" + gh::NewId("r").substr(2);
    for (auto& c : scratch) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!Psql(admin_url, "CREATE DATABASE " + scratch)) return 1;
    run.url = admin_url.substr(0, admin_url.rfind('/') + 1) + scratch;
  } else {
    std::fprintf(stderr, "usage: race_tests --backend=sqlite|postgres [gtest flags]\n");
    return 2;
  }
  int rc = RUN_ALL_TESTS();
  if (!run.dir.empty()) std::filesystem::remove_all(run.dir);
  if (!scratch.empty() && !Psql(admin_url, "DROP DATABASE IF EXISTS " + scratch + " WITH (FORCE)")) {
    rc = 1;
  }
  return rc;
}
