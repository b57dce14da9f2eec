// The store conformance suite (see conformance.h). Single sign-on: connections and the email
// domains that route to them (each domain to one connection only, whoever claims it), logins
// on their way (used once, also from two stores at once), the SAML assertion replay cache,
// how a session was made, and the workspace's enforcement switch.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>

#include "conformance.h"

namespace gh::conformance {
namespace {

// Domains unique to this run, so that the suite passes on a database it ran on before (a
// domain routes to one connection, store-wide).
std::string D(const std::string& name) {
  static const std::string run = Lower(NewId("r")).substr(2, 8);
  return name + "-" + run + ".test";
}

SsoConnection NewConnection(const std::string& ws, std::vector<std::string> domains) {
  SsoConnection c;
  c.id = NewId("sso");
  c.workspace_id = ws;
  c.type = "saml";
  c.provider = "okta";
  c.name = "Okta – Zürich";
  c.domains = std::move(domains);
  c.settings = R"({"saml":{"idp_entity_id":"http://idp.test/metadata"}})";
  c.created_at = kT0;
  c.updated_at = kT0;
  return c;
}

auto Fields(const SsoConnection& c) {
  return std::tie(c.id, c.workspace_id, c.type, c.provider, c.name, c.status, c.domains, c.settings,
                  c.client_secret, c.settings_version, c.last_test, c.created_at, c.updated_at);
}

TEST_P(StoreConformance, SsoConnectionsReadBackWithTheirDomains) {
  Workspace w = AddWorkspace();
  Workspace other = AddWorkspace();
  SsoConnection a = NewConnection(w.id, {D("acme"), D("acme-eu")});
  a.client_secret = "s3cret";
  SsoConnection b = NewConnection(w.id, {});
  b.created_at = kT0 + 1;
  b.type = "oidc";
  InTx([&](WriteTx& tx) {
    ASSERT_TRUE(tx.InsertSsoConnection(a).ok());
    ASSERT_TRUE(tx.InsertSsoConnection(b).ok());
  });
  std::sort(a.domains.begin(), a.domains.end());
  auto list = store().SsoConnections(w.id);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(Fields(list[0]), Fields(a));
  EXPECT_EQ(Fields(list[1]), Fields(b));
  EXPECT_TRUE(store().SsoConnections(other.id).empty());
  EXPECT_EQ(Fields(*store().SsoConnectionById(a.id)), Fields(a));
  EXPECT_EQ(store().SsoConnectionByDomain(D("acme-eu"))->id, a.id);
  EXPECT_FALSE(store().SsoConnectionByDomain(D("other")).has_value());
  EXPECT_FALSE(store().SsoConnectionById(NewId("sso")).has_value());
  InTx([&](WriteTx& tx) { EXPECT_EQ(Fields(*tx.LockSsoConnection(a.id)), Fields(a)); });
}

TEST_P(StoreConformance, ADomainRoutesToOneConnectionAcrossWorkspaces) {
  Workspace w = AddWorkspace();
  Workspace squatter = AddWorkspace();
  SsoConnection a = NewConnection(w.id, {D("one")});
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertSsoConnection(a).ok()); });
  SsoConnection b = NewConnection(squatter.id, {D("two"), D("one")});
  Status st = store().Write([&](WriteTx& tx) { return tx.InsertSsoConnection(b); });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "sso_domain_taken");
  EXPECT_EQ(st.error().field, "domains");
  // Nothing of the refused connection stayed.
  EXPECT_FALSE(store().SsoConnectionById(b.id).has_value());
  EXPECT_FALSE(store().SsoConnectionByDomain(D("two")).has_value());
  // Changing the domains moves the routes; a connection may keep its own.
  a.domains = {D("one"), D("three")};
  a.settings_version = 2;
  a.status = "active";
  a.updated_at = kT0 + 9;
  Status up = store().Write([&](WriteTx& tx) { return tx.UpdateSsoConnection(a); });
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(Fields(*store().SsoConnectionById(a.id)), Fields(a));
  EXPECT_EQ(store().SsoConnectionByDomain(D("three"))->id, a.id);
  // Deleting frees the domain, only from the connection's own workspace.
  InTx([&](WriteTx& tx) { EXPECT_FALSE(tx.DeleteSsoConnection(squatter.id, a.id)); });
  InTx([&](WriteTx& tx) { EXPECT_TRUE(tx.DeleteSsoConnection(w.id, a.id)); });
  EXPECT_FALSE(store().SsoConnectionByDomain(D("one")).has_value());
  Status again = store().Write([&](WriteTx& tx) { return tx.InsertSsoConnection(b); });
  EXPECT_TRUE(again.ok());
}

// Two workspaces claim the same domain at once, through two stores: exactly one gets it.
TEST_P(StoreConformance, ADomainClaimedFromTwoStoresAtOnceGoesToOne) {
  auto second = OpenStore(url());
  for (int round = 0; round < 20; ++round) {
    std::string domain = Lower(NewId("d")) + ".test";
    Workspace w1 = AddWorkspace();
    Workspace w2 = AddWorkspace();
    std::latch start(2);
    std::atomic<int> won{0};
    auto claim = [&](Store& s, const std::string& ws) {
      SsoConnection c = NewConnection(ws, {domain});
      start.arrive_and_wait();
      if (s.Write([&](WriteTx& tx) { return tx.InsertSsoConnection(c); }).ok()) ++won;
    };
    std::thread t1(claim, std::ref(store()), w1.id);
    std::thread t2(claim, std::ref(*second), w2.id);
    t1.join();
    t2.join();
    ASSERT_EQ(won.load(), 1) << "round " << round;
  }
}

TEST_P(StoreConformance, SsoRequestsAreUsedOnceAndExpiredOnesGo) {
  Workspace w = AddWorkspace();
  SsoConnection c = NewConnection(w.id, {});
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertSsoConnection(c).ok()); });
  SsoRequest old{"_old", c.id, "", "", "", "", false, 1, kT0, kT0 + 600, std::nullopt};
  SsoRequest r{"_" + Lower(NewId("r")),
               c.id,
               "bh",
               "nonce-1",
               "verifier-1",
               "https://app.test/after",
               true,
               3,
               kT0 + 1000,
               kT0 + 1600,
               std::nullopt};
  InTx([&](WriteTx& tx) { tx.InsertSsoRequest(old); });
  EXPECT_EQ(store().CountSsoRequests(c.id, kT0 + 1), 1);
  EXPECT_EQ(store().CountSsoRequests(c.id, kT0 + 600), 0);
  InTx([&](WriteTx& tx) { tx.InsertSsoRequest(r); });  // drops `old`, expired by now
  EXPECT_EQ(store().SsoRequestById(r.id)->nonce, "nonce-1");
  EXPECT_FALSE(store().SsoRequestById("_old").has_value());
  InTx([&](WriteTx& tx) {
    EXPECT_FALSE(tx.LockSsoRequest("_old").has_value());
    auto got = tx.LockSsoRequest(r.id);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(
        std::tie(got->id, got->connection_id, got->browser_hash, got->nonce, got->code_verifier,
                 got->redirect_url, got->test, got->settings_version, got->created_at,
                 got->expires_at, got->used_at),
        std::tie(r.id, r.connection_id, r.browser_hash, r.nonce, r.code_verifier, r.redirect_url,
                 r.test, r.settings_version, r.created_at, r.expires_at, r.used_at));
    EXPECT_TRUE(tx.UseSsoRequest(r.id, kT0 + 1001));
    EXPECT_FALSE(tx.UseSsoRequest(r.id, kT0 + 1002));
  });
  InTx([&](WriteTx& tx) {
    EXPECT_EQ(tx.LockSsoRequest(r.id)->used_at, std::optional<UnixTime>(kT0 + 1001));
  });
  EXPECT_EQ(store().CountSsoRequests(c.id, kT0 + 1001), 0);
}

TEST_P(StoreConformance, AnSsoRequestUsedFromTwoStoresAtOnceWorksOnce) {
  auto second = OpenStore(url());
  Workspace w = AddWorkspace();
  SsoConnection c = NewConnection(w.id, {});
  InTx([&](WriteTx& tx) { ASSERT_TRUE(tx.InsertSsoConnection(c).ok()); });
  for (int round = 0; round < 30; ++round) {
    SsoRequest r{
        "_" + Lower(NewId("r")), c.id, "", "", "", "", false, 1, kT0, kT0 + 600, std::nullopt};
    InTx([&](WriteTx& tx) { tx.InsertSsoRequest(r); });
    std::latch start(2);
    std::atomic<int> used{0};
    auto use = [&](Store& s, UnixTime at) {
      start.arrive_and_wait();
      bool done = s.Write([&](WriteTx& tx) {
        auto locked = tx.LockSsoRequest(r.id);
        if (!locked || locked->used_at) return false;
        return tx.UseSsoRequest(r.id, at);
      });
      if (done) ++used;
    };
    std::thread t1(use, std::ref(store()), kT0 + 1);
    std::thread t2(use, std::ref(*second), kT0 + 2);
    t1.join();
    t2.join();
    ASSERT_EQ(used.load(), 1) << "round " << round;
  }
}

TEST_P(StoreConformance, AnAssertionIdIsAcceptedOncePerConnectionUntilItExpires) {
  const std::string a = NewId("sso"), b = NewId("sso");  // connections of this run only
  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.RememberSsoAssertion(a, "_as1", kT0 + 300, kT0));
    EXPECT_FALSE(tx.RememberSsoAssertion(a, "_as1", kT0 + 300, kT0 + 10));
    EXPECT_TRUE(tx.RememberSsoAssertion(b, "_as1", kT0 + 300, kT0 + 10));
  });
  // Still refused from another store (another node) while it lives.
  auto second = OpenStore(url());
  EXPECT_FALSE(second->Write(
      [&](WriteTx& tx) { return tx.RememberSsoAssertion(a, "_as1", kT0 + 300, kT0 + 20); }));
  // Forgotten once expired (its window is over, so the verifier refuses it anyway).
  InTx([&](WriteTx& tx) {
    EXPECT_TRUE(tx.RememberSsoAssertion(a, "_as1", kT0 + 900, kT0 + 301));
  });
}

TEST_P(StoreConformance, SessionsKeepHowTheyWereMadeAndWorkspacesTheirEnforcement) {
  User u = AddUser();
  Workspace w = AddWorkspace();
  Session password = AddSession(u.id, kT0);
  EXPECT_EQ(SessionNow(password).method, "password");
  EXPECT_EQ(SessionNow(password).scope_workspace_id, "");
  Session sso = NewSession(u.id, kT0);
  sso.method = "sso";
  sso.sso_connection_id = "sso_x";
  sso.scope_workspace_id = w.id;
  InTx([&](WriteTx& tx) { tx.InsertSession(sso); });
  Session got = SessionNow(sso);
  EXPECT_EQ(std::tie(got.method, got.sso_connection_id, got.scope_workspace_id),
            std::tie(sso.method, sso.sso_connection_id, sso.scope_workspace_id));
  EXPECT_FALSE(store().WorkspaceById(w.id)->sso_enforced);
  w.sso_enforced = true;
  InTx([&](WriteTx& tx) { tx.UpdateWorkspace(w); });
  EXPECT_TRUE(store().WorkspaceById(w.id)->sso_enforced);
  AddMember(w.id, u.id, "owner");
  EXPECT_TRUE(store().WorkspacesOfUser(u.id).at(0).workspace.sso_enforced);
}

TEST_P(StoreConformance, DeletingAWorkspaceDeletesItsSsoConnectionsAndFreesTheirDomains) {
  Workspace w = AddWorkspace();
  SsoConnection c = NewConnection(w.id, {D("gone")});
  InTx([&](WriteTx& tx) {
    ASSERT_TRUE(tx.InsertSsoConnection(c).ok());
    tx.InsertSsoRequest(
        {"_r" + Lower(NewId("x")), c.id, "", "", "", "", false, 1, kT0, kT0 + 600, std::nullopt});
  });
  InTx([&](WriteTx& tx) { tx.DeleteWorkspace(w.id, kT0 + 5); });
  EXPECT_FALSE(store().SsoConnectionById(c.id).has_value());
  EXPECT_FALSE(store().SsoConnectionByDomain(D("gone")).has_value());
}

}  // namespace
}  // namespace gh::conformance
