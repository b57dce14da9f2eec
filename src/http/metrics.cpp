#include "http/metrics.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

namespace gh::http {

Metrics& Metrics::Global() {
  static Metrics m;
  return m;
}

void Metrics::Histogram::Observe(double v) {
  // Cumulative buckets: one increment per bucket the value falls under.
  for (size_t i = kBuckets.size(); i-- > 0 && v <= kBuckets[i];) ++counts[i];
  ++count;
  sum += v;
}

void Metrics::ObserveRequest(const std::string& method, const std::string& route, int status,
                             double seconds) {
  std::lock_guard lock(mu_);
  RouteStats& stats = routes_[std::make_pair(method, route)];
  ++stats.by_status[status];
  stats.latency.Observe(seconds);
}

void Metrics::ObserveStore(const char* backend, double seconds) {
  std::lock_guard lock(mu_);
  store_latency_[backend].Observe(seconds);
}

void Metrics::RenderHistogram(std::string& out, const std::string& name,
                              const std::string& labels, const Histogram& h) {
  char buf[64];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%g", kBuckets[i]);
    out += name + "_bucket{" + labels + ",le=\"" + buf + "\"} " + std::to_string(h.counts[i]) +
           "\n";
  }
  out += name + "_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
  std::snprintf(buf, sizeof buf, "%.9f", h.sum);
  out += name + "_sum{" + labels + "} " + buf + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(h.count) + "\n";
}

std::string Metrics::Render() {
  std::lock_guard lock(mu_);
  // Sorted output: stable for people and diffs.
  std::map<std::pair<std::string, std::string>, const RouteStats*> sorted;
  for (const auto& [key, stats] : routes_) sorted[key] = &stats;
  std::string out;
  out += "# HELP gatehouse_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE gatehouse_http_requests_total counter\n";
  for (const auto& [key, stats] : sorted) {
    std::map<int, uint64_t> statuses(stats->by_status.begin(), stats->by_status.end());
    for (const auto& [status, n] : statuses) {
      out += "gatehouse_http_requests_total{method=\"" + key.first + "\",route=\"" + key.second +
             "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# HELP gatehouse_http_request_duration_seconds HTTP request latency by route.\n";
  out += "# TYPE gatehouse_http_request_duration_seconds histogram\n";
  for (const auto& [key, stats] : sorted) {
    RenderHistogram(out, "gatehouse_http_request_duration_seconds",
                    "method=\"" + key.first + "\",route=\"" + key.second + "\"", stats->latency);
  }
  out += "# HELP gatehouse_store_query_duration_seconds Store statement latency by backend.\n";
  out += "# TYPE gatehouse_store_query_duration_seconds histogram\n";
  std::map<std::string, const Histogram*> backends;
  for (const auto& [backend, h] : store_latency_) backends[backend] = &h;
  for (const auto& [backend, h] : backends) {
    RenderHistogram(out, "gatehouse_store_query_duration_seconds",
                    "backend=\"" + backend + "\"", *h);
  }
  return out;
}

}  // namespace gh::http
