// Prometheus metrics: requests by route and status, request latency histograms by route,
// and store statement latency by backend.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <array>
#include <mutex>
#include <string>
#include <utility>

namespace gh::http {

class Metrics {
 public:
  static Metrics& Global();

  // `route` is the route's path template (a stable string for the process's lifetime) or
  // "(unmatched)".
  void ObserveRequest(const std::string& method, const std::string& route, int status,
                      double seconds);
  void ObserveStore(const char* backend, double seconds);
  // The Prometheus text exposition.
  std::string Render();

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.5,    2.5};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
    void Observe(double v);
  };
  struct RouteStats {
    absl::flat_hash_map<int, uint64_t> by_status;
    Histogram latency;
  };
  static void RenderHistogram(std::string& out, const std::string& name,
                              const std::string& labels, const Histogram& h);

  std::mutex mu_;
  absl::flat_hash_map<std::pair<std::string, std::string>, RouteStats> routes_;
  absl::flat_hash_map<std::string, Histogram> store_latency_;
};

}  // namespace gh::http
