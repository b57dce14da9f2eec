#include "http/router.h"

#include <stdexcept>

namespace gh::http {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

void Router::Add(Route route) {
  if (route.access == Access::kWorkspace && route.permission.empty()) {
    throw std::logic_error("route " + route.method + " " + route.path + " needs a permission");
  }
  for (const auto& r : routes_) {
    if (r.method == route.method && r.path == route.path) {
      throw std::logic_error("route registered twice: " + route.method + " " + route.path);
    }
  }
  std::vector<std::string> segments;
  for (auto s : SplitPath(route.path)) segments.emplace_back(s);
  segments_.push_back(std::move(segments));
  routes_.push_back(std::move(route));
}

Match Router::Find(std::string_view method, std::string_view path) const {
  // HEAD is answered as the GET of the same resource, without the body.
  if (method == "HEAD") method = "GET";
  Match m;
  auto segments = SplitPath(path);
  if (segments.empty()) return m;
  for (size_t k = 0; k < routes_.size(); ++k) {
    const Route& r = routes_[k];
    const auto& tmpl = segments_[k];
    if (tmpl.size() != segments.size()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool ok = true;
    for (size_t i = 0; i < tmpl.size() && ok; ++i) {
      std::string_view t = tmpl[i];
      if (t.size() > 2 && t.front() == '{' && t.back() == '}') {
        if (segments[i].empty()) ok = false;
        else params.emplace_back(std::string(t.substr(1, t.size() - 2)), std::string(segments[i]));
      } else {
        ok = t == segments[i];
      }
    }
    if (!ok) continue;
    if (r.method == method) {
      m.route = &r;
      m.params = std::move(params);
      m.allow.clear();
      return m;
    }
    if (m.allow.find(r.method) == std::string::npos) {
      m.allow += (m.allow.empty() ? "" : ", ") + r.method;
      if (r.method == "GET") m.allow += ", HEAD";
    }
  }
  return m;
}

}  // namespace gh::http
