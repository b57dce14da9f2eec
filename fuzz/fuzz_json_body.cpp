// JSON request bodies through the request layer: ParseObject and Fields as every JSON route
// uses them, and the verify route's fast reader, which must agree with the general parser
// whenever it accepts a body. Input: one byte choosing the Content-Type, then the body.
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "http/json_body.h"
#include "http/verify_body.h"

using gh::http::Json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* kTypes[] = {"application/json", "application/json; charset=utf-8",
                                 "application/merge-patch+json", "text/plain", ""};
  if (size == 0) return 0;
  gh::http::Request req;
  req.method = "POST";
  req.headers.emplace_back("content-type", kTypes[data[0] % 5]);
  req.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);

  auto obj = gh::http::ParseObject(req, {"name", "email", "role", "projects", "expires_at",
                                         "limit", "key", "endpoint", "method", "ip"});
  if (obj) {
    FUZZ_CHECK(obj->is_object());
    gh::http::Fields f(*obj);
    (void)f.Str("name");
    (void)f.RequiredStr("email");
    (void)f.Int("limit");
    (void)f.Str("role");
  } else {
    (void)gh::http::Problem(obj.error(), req);
  }

  Json holder;
  auto general = gh::http::ParseVerifyBody(req, holder);
  if (auto plain = gh::http::ParsePlainVerifyBody(req.body)) {
    // The fast reader only takes what the general parser takes, with the same values.
    Json j = Json::parse(req.body, nullptr, false);
    FUZZ_CHECK(!j.is_discarded() && j.is_object());
    auto same = [&](const std::optional<std::string_view>& v, const char* k) {
      auto it = j.find(k);
      if (!v) return it == j.end();
      return it != j.end() && it->is_string() && it->get<std::string>() == *v;
    };
    FUZZ_CHECK(same(plain->key, "key") && same(plain->endpoint, "endpoint") &&
               same(plain->method, "method") && same(plain->ip, "ip"));
    FUZZ_CHECK(j.size() == size_t(plain->key.has_value()) + plain->endpoint.has_value() +
                               plain->method.has_value() + plain->ip.has_value());
  }
  if (general) FUZZ_CHECK(general->key && general->endpoint);
  return 0;
}
