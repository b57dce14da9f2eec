#include "http/web_assets.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/router.h"

namespace gh::http {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> ReadFile(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// The API namespace never falls back to the app: an unknown /v1/… path stays a 404 problem.
bool IsApiPath(std::string_view path) {
  return path == "/v1" || StartsWithNoCase(path, "/v1/");
}

// "/assets/index-3f2a.js" -> "assets/index-3f2a.js"; nullopt for anything that could leave
// the directory or name a hidden file.
std::optional<std::string> RelativeFile(std::string_view path) {
  std::string rel;
  for (auto seg : SplitPath(path)) {
    if (seg.empty() || seg.front() == '.' || seg.find('\\') != std::string_view::npos) {
      return std::nullopt;
    }
    if (!rel.empty()) rel += '/';
    rel += seg;
  }
  if (rel.empty()) return std::nullopt;
  return rel;
}

bool AcceptsHtml(const Request& req) {
  return req.Header("accept").find("text/html") != std::string_view::npos;
}

}  // namespace

bool WebAssets::Available() const {
  std::error_code ec;
  return !dir_.empty() && fs::is_regular_file(fs::path(dir_) / "index.html", ec);
}

std::string_view WebAssets::ContentType(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json") || ends(".map")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".jpg") || ends(".jpeg")) return "image/jpeg";
  if (ends(".webp")) return "image/webp";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".woff2")) return "font/woff2";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::optional<Response> WebAssets::Serve(const Request& req) const {
  if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
  if (IsApiPath(req.path) || !Available()) return std::nullopt;
  const fs::path root(dir_);

  std::optional<std::string> body;
  std::string name = "index.html";
  if (req.path != "/") {
    if (auto rel = RelativeFile(req.path)) {
      body = ReadFile(root / *rel);
      if (body) name = *rel;
    }
    if (!body && !AcceptsHtml(req)) return std::nullopt;
  }
  if (!body) body = ReadFile(root / "index.html");
  if (!body) return std::nullopt;

  Response r;
  r.content_type = std::string(ContentType(name));
  r.body = std::move(*body);
  if (name == "index.html") {
    // Always revalidated, so that a new build's asset names reach the browser at once.
    r.Header("Cache-Control", "no-cache");
  } else if (name.rfind("assets/", 0) == 0) {
    // Vite puts a content hash in every file name under assets/: they never change.
    r.Header("Cache-Control", "public, max-age=31536000, immutable");
  } else {
    r.Header("Cache-Control", "public, max-age=3600");
  }
  return r;
}

}  // namespace gh::http
