#include <atomic>
#include <chrono>

#include "store/sql/sql_db.h"

namespace gh::sql {
namespace {

std::atomic<QueryObserver> g_observer{nullptr};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void SetQueryObserver(QueryObserver observer) { g_observer.store(observer); }
QueryObserver GetQueryObserver() { return g_observer.load(std::memory_order_relaxed); }

QueryTimer::QueryTimer(const char* backend)
    : backend_(backend), start_ns_(GetQueryObserver() ? NowNs() : 0) {}

QueryTimer::~QueryTimer() {
  if (QueryObserver obs = GetQueryObserver(); obs && start_ns_) {
    obs(backend_, static_cast<double>(NowNs() - start_ns_) / 1e9);
  }
}

}  // namespace gh::sql
