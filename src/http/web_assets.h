// The dashboard: the static files of the web UI's build output (web/dist), served at `/` by
// the same server as the API. A single-page app: browser navigations to paths that are no
// file (/settings/team, /accept-invite?token=…) receive index.html, and the app routes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/request.h"

namespace gh::http {

class WebAssets {
 public:
  // `dir` holds index.html and assets/; empty or missing means no dashboard is served.
  explicit WebAssets(std::string dir = "") : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  // True when `dir` holds an index.html.
  bool Available() const;

  // Answers a GET or HEAD that no API route matched: a file of the build, or index.html for
  // a browser navigation (Accept: text/html) outside the API namespace /v1. nullopt when the
  // request is not the dashboard's, so that the caller answers 404 problem+json as before.
  std::optional<Response> Serve(const Request& req) const;

  // The Content-Type for a file name, by extension.
  static std::string_view ContentType(std::string_view name);

 private:
  std::string dir_;
};

}  // namespace gh::http
