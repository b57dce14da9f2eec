// Google Benchmark: the per-request building blocks and the cost of a signup (argon2id).
#include <benchmark/benchmark.h>

#include "core/crypto.h"
#include "core/endpoint.h"
#include "core/ids.h"
#include "core/user_agent.h"
#include "http/router.h"
#include "service/access.h"
#include "service/presets.h"
#include "store/store.h"

#include <filesystem>
#include <fstream>

#include "core/key_format.h"
#include "service/key_index.h"

namespace {

void BM_Sha256SessionToken(benchmark::State& state) {
  std::string token = gh::crypto::NewToken();
  for (auto _ : state) benchmark::DoNotOptimize(gh::crypto::Sha256Hex(token));
}
BENCHMARK(BM_Sha256SessionToken);

void BM_NewId(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(gh::NewId("ws"));
}
BENCHMARK(BM_NewId);

void BM_ParseUserAgent(benchmark::State& state) {
  std::string ua =
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36";
  for (auto _ : state) benchmark::DoNotOptimize(gh::ParseUserAgent(ua));
}
BENCHMARK(BM_ParseUserAgent);

// What a verify pays for a key with endpoint rules: the endpoint as a gateway sends it
// (query string, an escape, a dot segment) made canonical before any rule is matched.
void BM_CanonicalEndpoint(benchmark::State& state) {
  std::string endpoint = "/v1/metrics/%7Eteam/./reports//daily/../weekly?from=2026-12-01#top";
  for (auto _ : state) benchmark::DoNotOptimize(gh::CanonicalEndpoint(endpoint));
}
BENCHMARK(BM_CanonicalEndpoint);

void BM_RouterFind(benchmark::State& state) {
  gh::http::Router router;
  for (const char* p : {"/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/auth/signup",
                        "/v1/auth/login", "/v1/auth/logout", "/v1/me", "/v1/me/sessions",
                        "/v1/me/sessions/{ses}", "/v1/workspaces", "/v1/workspaces/{ws}",
                        "/v1/workspaces/{ws}/logo", "/v1/workspaces/{ws}/audit-logs"}) {
    gh::http::Route r;
    r.method = "GET";
    r.path = p;
    r.handler = [](gh::http::Request&) { return gh::http::Response{}; };
    router.Add(std::move(r));
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(router.Find("GET", "/v1/workspaces/ws_3GxQ2b9S0aY1c8ZqPq4r7T/audit-logs"));
  }
}
BENCHMARK(BM_RouterFind);

// argon2id at the parameters a deployment may choose; the default is OWASP's minimum
// (19 MiB, t=2). Signup and login each pay this once.
void BM_Argon2id(benchmark::State& state) {
  gh::crypto::PasswordParams p{static_cast<uint64_t>(state.range(0)),
                               static_cast<size_t>(state.range(1)) * 1024 * 1024};
  for (auto _ : state) benchmark::DoNotOptimize(gh::crypto::HashPassword("correct horse battery", p));
}
BENCHMARK(BM_Argon2id)->Args({2, 19})->Args({3, 12})->Args({2, 64})->Unit(benchmark::kMillisecond);

// The raw decision: one bit of a compiled role.
void BM_CanBitset(benchmark::State& state) {
  auto catalogue = gh::LoadCatalogue("four-role");
  const auto& set = catalogue->FindRole("developer")->permissions;
  auto bit = catalogue->Resolve("api_keys.create");
  for (auto _ : state) benchmark::DoNotOptimize(gh::Can(set, bit));
}
BENCHMARK(BM_CanBitset);

// The whole decision a request makes: the caller's membership of the workspace from the
// in-memory cache, their role's bitset, the permission's bit. No store access once warm.
void BM_AuthorizeMember(benchmark::State& state) {
  std::string dir = std::filesystem::temp_directory_path() / "gatehouse-bench-authz";
  std::filesystem::remove_all(dir);
  auto store = gh::OpenStore("sqlite:" + dir + "/g.db");
  auto catalogue = gh::LoadCatalogue("four-role");
  gh::IdentityCache cache(3600);
  gh::Access access(*store, *catalogue, cache);
  gh::Principal p;
  p.user.id = gh::NewId("usr");
  p.user.email = "bench@example.com";
  gh::Workspace w;
  w.id = gh::NewId("ws");
  w.name = "Bench";
  w.region = "us-east-1";
  w.plan = "pro";
  {
    auto tx = store->Begin();
    (void)tx->InsertUser(p.user);
    tx->InsertWorkspace(w);
    // A user in several workspaces: the lookup scans their memberships.
    for (int i = 0; i < 5; ++i) {
      gh::Workspace other = w;
      other.id = gh::NewId("ws");
      tx->InsertWorkspace(other);
      tx->InsertMembership({gh::NewId("mem"), other.id, p.user.id, "viewer", 0});
    }
    tx->InsertMembership({gh::NewId("mem"), w.id, p.user.id, "developer", 0});
    tx->Commit();
  }
  if (state.range(0) == 0) {
    for (auto _ : state) benchmark::DoNotOptimize(access.Authorize(p, w.id, "api_keys.create"));
  } else {
    // can(member, permission) once the membership is known: role -> bitset, name -> bit.
    auto granted = access.Authorize(p, w.id, "");
    gh::Membership m = granted.value();
    for (auto _ : state) benchmark::DoNotOptimize(access.Can(m, "api_keys.create"));
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AuthorizeMember)->Arg(0)->Arg(1)->ArgName("can_only");

// Resident memory of this process in KiB (VmRSS).
long RssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// The verify decision in-process: SHA-256 of the presented key, the index lookup among
// 1,000,000 keys, endpoint patterns, IP allowlist, rate limiter and quota. With
// workspace_allowlist:1 the measured keys' workspace also has its IP allowlist on (three
// ranges, the address inside the last one).
void BM_VerifyAmongMillion(benchmark::State& state) {
  static gh::Catalogue* catalogue = new gh::Catalogue(gh::LoadCatalogue("four-role").value());
  static gh::KeyIndex* index = nullptr;
  static std::vector<std::string> secrets;
  static std::vector<gh::ApiKey> sampled;
  gh::KeyWorkspace plain{"Europe/Berlin", nullptr};
  if (!index) {
    long before = RssKib();
    index = new gh::KeyIndex(*catalogue);
    for (int i = 0; i < 1'000'000; ++i) {
      gh::ApiKey k;
      k.id = gh::NewId("key");
      k.workspace_id = "ws_bench";
      k.owner_id = "usr_bench";
      k.name = "Key " + std::to_string(i);
      std::string secret = gh::NewApiKey(gh::KeyType::kSecret, gh::KeyEnvironment::kLive);
      k.hash = gh::crypto::Sha256Hex(secret);
      k.allow = {"/v1/chat", "/v1/metrics/*"};
      k.deny = {"/v1/metrics/secret"};
      k.ip_allowlist = {"203.0.113.0/24", "2001:db8::/32"};
      k.rate_per_minute = 1'000'000;
      k.rate_per_month = 1'000'000'000;
      index->Put(k, std::nullopt, plain);
      if (i % 1000 == 0) {
        secrets.push_back(secret);
        sampled.push_back(k);
      }
    }
    long after = RssKib();
    std::fprintf(stderr, "index of 1,000,000 keys: %ld MiB resident, %ld bytes per key\n",
                 (after - before) / 1024, (after - before) * 1024 / 1'000'000);
  }
  gh::KeyWorkspace ws = plain;
  if (state.range(0) == 1) {
    gh::Workspace w;
    w.timezone = "Europe/Berlin";
    w.ip_allowlist_enabled = true;
    w.ip_allowlist = {{"198.51.100.0/24", "VPN"}, {"2001:db8::/32", "v6"},
                      {"203.0.113.0/24", "Office"}};
    ws = gh::KeyWorkspace::Of(w);
  }
  for (const auto& k : sampled) index->Put(k, std::nullopt, ws);
  size_t i = 0;
  int64_t now_us = 1'790'000'000'000'000;
  for (auto _ : state) {
    gh::VerifyRequest req{secrets[i++ % secrets.size()], "/v1/chat", "POST", "203.0.113.7"};
    auto r = index->Verify(req, now_us);
    if (!r.valid()) state.SkipWithError(std::string(gh::ToString(r.code)).c_str());
    now_us += 1;
  }
}
BENCHMARK(BM_VerifyAmongMillion)->Arg(0)->Arg(1)->ArgName("workspace_allowlist");

}  // namespace

BENCHMARK_MAIN();
