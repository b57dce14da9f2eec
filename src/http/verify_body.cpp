#include "http/verify_body.h"

namespace gh::http {

std::optional<VerifyBody> ParsePlainVerifyBody(std::string_view b) {
  size_t i = 0;
  auto ws = [&] {
    while (i < b.size() && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) ++i;
  };
  auto string = [&]() -> std::optional<std::string_view> {
    if (i >= b.size() || b[i] != '"') return std::nullopt;
    size_t start = ++i;
    while (i < b.size() && b[i] != '"') {
      auto c = static_cast<unsigned char>(b[i]);
      if (c == '\\' || c < 0x20 || c >= 0x80) return std::nullopt;
      ++i;
    }
    if (i >= b.size()) return std::nullopt;
    return b.substr(start, i++ - start);
  };
  VerifyBody out;
  ws();
  if (i >= b.size() || b[i++] != '{') return std::nullopt;
  ws();
  if (i < b.size() && b[i] == '}') {
    ++i;
  } else {
    while (true) {
      ws();
      auto name = string();
      if (!name) return std::nullopt;
      ws();
      if (i >= b.size() || b[i++] != ':') return std::nullopt;
      ws();
      auto value = string();
      if (!value) return std::nullopt;
      std::optional<std::string_view>* slot = *name == "key"        ? &out.key
                                              : *name == "endpoint" ? &out.endpoint
                                              : *name == "method"   ? &out.method
                                              : *name == "ip"       ? &out.ip
                                                                    : nullptr;
      if (!slot || *slot) return std::nullopt;
      *slot = value;
      ws();
      if (i < b.size() && b[i] == ',') {
        ++i;
        continue;
      }
      if (i < b.size() && b[i] == '}') {
        ++i;
        break;
      }
      return std::nullopt;
    }
  }
  ws();
  if (i != b.size() || !out.key || !out.endpoint) return std::nullopt;
  return out;
}

Result<VerifyBody> ParseVerifyBody(const Request& req, Json& holder) {
  if (!req.body.empty()) {
    std::string_view ct = req.Header("content-type");
    if (ct.substr(0, ct.find(';')).find("json") != std::string_view::npos) {
      if (auto plain = ParsePlainVerifyBody(req.body)) return *plain;
    }
  }
  auto body = ParseObject(req, {"key", "endpoint", "method", "ip"});
  if (!body) return body.error();
  holder = std::move(*body);
  Fields f(holder);
  (void)f.RequiredStr("key");
  (void)f.RequiredStr("endpoint");
  (void)f.Str("method");
  (void)f.Str("ip");
  if (!f.ok()) return f.error();
  VerifyBody out;
  auto str = [&](const char* k) -> std::optional<std::string_view> {
    auto it = holder.find(k);
    if (it == holder.end() || it->is_null()) return std::nullopt;
    return std::string_view(it->get_ref<const std::string&>());
  };
  out.key = str("key");
  out.endpoint = str("endpoint");
  out.method = str("method");
  out.ip = str("ip");
  return out;
}

}  // namespace gh::http
