#include "service/http_client.h"

#include <curl/curl.h>

#include <memory>

#include "core/validation.h"

namespace gh {
namespace {

struct Sink {
  std::string* body;
  size_t limit;
  bool overflow = false;
};

size_t Write(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t bytes = size * n;
  if (sink->body->size() + bytes > sink->limit) {
    sink->overflow = true;
    return 0;  // aborts the transfer
  }
  sink->body->append(data, bytes);
  return bytes;
}

Error Unreachable(std::string message) {
  return Error{ErrorKind::kUnavailable, "upstream_unreachable", std::move(message), {}};
}

}  // namespace

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += validation::PercentEncode(k) + "=" + validation::PercentEncode(v);
  }
  return out;
}

Result<HttpAnswer> Fetch(const HttpCall& call) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Unreachable("curl_easy_init failed");
  HttpAnswer answer;
  Sink sink{&answer.body, call.max_response_bytes};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, call.timeout_seconds);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "Gatehouse");
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(call.max_response_bytes));
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : call.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers,
                                                                           curl_slist_free_all);
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (call.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, call.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(call.body.size()));
  }
  CURLcode rc = curl_easy_perform(c);
  if (sink.overflow) return Unreachable("The answer from " + call.url + " is too large.");
  if (rc != CURLE_OK) {
    return Unreachable(std::string("Could not reach ") + call.url + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  char* type = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  if (type) answer.content_type = type;
  return answer;
}

}  // namespace gh
