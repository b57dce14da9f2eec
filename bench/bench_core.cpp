// Google Benchmark: the per-request building blocks and the cost of a signup (argon2id).
#include <benchmark/benchmark.h>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/user_agent.h"
#include "http/router.h"

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

}  // namespace

BENCHMARK_MAIN();
