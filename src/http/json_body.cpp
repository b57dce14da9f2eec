#include "http/json_body.h"

#include <absl/container/flat_hash_set.h>

#include <functional>
#include <vector>

#include "core/validation.h"
#include "http/router.h"

namespace gh::http {

int StatusOf(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest: return 400;
    case ErrorKind::kUnauthenticated: return 401;
    case ErrorKind::kPaymentRequired: return 402;
    case ErrorKind::kForbidden: return 403;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kMethodNotAllowed: return 405;
    case ErrorKind::kConflict: return 409;
    case ErrorKind::kGone: return 410;
    case ErrorKind::kTooLarge: return 413;
    case ErrorKind::kUnsupportedMedia: return 415;
    case ErrorKind::kInvalid: return 422;
    case ErrorKind::kRateLimited: return 429;
    case ErrorKind::kBadGateway: return 502;
    case ErrorKind::kUnavailable: return 503;
    case ErrorKind::kInternal: return 500;
  }
  return 500;
}

static const char* TitleOf(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

namespace {

// Watches a parse for an object naming one key twice. RFC 8259 leaves such objects' meaning
// to the reader (nlohmann keeps the last value, other readers the first): a gateway or proxy
// in front of us may have read a different value than we would, so they are refused.
// `field` names the first repeated key by its path ("target.type", "entries[2].label").
class DuplicateKeys {
 public:
  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    using E = Json::parse_event_t;
    if (!field.empty()) return true;
    switch (event) {
      case E::object_start:
        Element();
        frames_.push_back({true, -1, {}, {}});
        break;
      case E::array_start:
        Element();
        frames_.push_back({false, -1, {}, {}});
        break;
      case E::object_end:
      case E::array_end:
        frames_.pop_back();
        break;
      case E::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) field = Path();
        break;
      }
      case E::value:
        Element();
        break;
    }
    return true;
  }

  std::string field;  // empty while no key has repeated

 private:
  struct Frame {
    bool object;
    int index;                              // arrays: the element being read
    std::string key;                        // objects: the member being read
    absl::flat_hash_set<std::string> keys;  // objects: the keys seen
  };
  void Element() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
  std::string Path() const {
    std::string out;
    for (const Frame& f : frames_) {
      if (f.object) {
        if (!out.empty()) out += '.';
        out += f.key;
      } else {
        out += '[' + std::to_string(f.index) + ']';
      }
    }
    return out;
  }
  std::vector<Frame> frames_;
};

}  // namespace

Result<Json> ParseObject(const Request& req, std::initializer_list<std::string_view> allowed) {
  if (req.body.empty()) return Json::object();
  std::string_view ct = req.Header("content-type");
  if (ct.substr(0, ct.find(';')).find("json") == std::string_view::npos) {
    return Error{ErrorKind::kUnsupportedMedia, "unsupported_media_type",
                 "Send the body as application/json.", {}};
  }
  if (!validation::IsValidUtf8(req.body)) {
    return Error::BadRequest("invalid_utf8", "The body is not valid UTF-8.");
  }
  DuplicateKeys duplicates;
  Json j = Json::parse(req.body, std::ref(duplicates), /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Error::BadRequest("malformed_json", "The body is not valid JSON.");
  }
  if (!duplicates.field.empty()) {
    return Error::BadRequest("duplicate_key", "'" + duplicates.field + "' appears more than once.",
                             duplicates.field);
  }
  if (!j.is_object()) {
    return Error::BadRequest("malformed_json", "The body must be a JSON object.");
  }
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      return Error::Invalid("unknown_field", key, "Unknown field '" + key + "'.");
    }
  }
  return j;
}

std::optional<std::string> Fields::Str(const char* key) {
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    Fail(Error::Invalid("invalid_type", key, std::string("'") + key + "' must be a string."));
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::optional<std::string> Fields::RequiredStr(const char* key) {
  auto v = Str(key);
  if (!v && ok()) Fail(Error::Invalid("required", key, std::string("'") + key + "' is required."));
  return v;
}

std::optional<int64_t> Fields::Int(const char* key) {
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) {
    Fail(Error::Invalid("invalid_type", key, std::string("'") + key + "' must be an integer."));
    return std::nullopt;
  }
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    Fail(Error::Invalid("invalid_type", key, std::string("'") + key + "' is out of range."));
    return std::nullopt;
  }
  return it->get<int64_t>();
}

Response NoContent() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Response JsonResponse(int status, const Json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

Response Problem(const Error& e, const Request& req) {
  int status = StatusOf(e.kind);
  Json body = {{"type", "urn:gatehouse:problem:" + e.code},
               {"title", TitleOf(status)},
               {"status", status},
               {"code", e.code},
               {"detail", e.message}};
  // The route template, not the path: paths can carry secrets (invitation tokens).
  if (req.route) body["instance"] = req.route->path;
  if (!e.field.empty()) {
    body["errors"] = Json::array({{{"field", e.field}, {"message", e.message}}});
  }
  if (!req.request_id.empty()) body["request_id"] = req.request_id;
  for (const auto& [k, v] : e.extensions) body[k] = v;
  Response r = JsonResponse(status, body);
  r.content_type = "application/problem+json";
  if (status == 429 && e.retry_after_seconds > 0) {
    r.Header("Retry-After", std::to_string(e.retry_after_seconds));
  }
  return r;
}

}  // namespace gh::http
