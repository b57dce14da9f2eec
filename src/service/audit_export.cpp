#include "service/audit_export.h"

#include <array>
#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "core/pii.h"
#include "core/time.h"

namespace gh {

nlohmann::json AuditEventToJson(const AuditEvent& e) {
  using nlohmann::json;
  json details = json::parse(e.details_json, nullptr, false);
  if (details.is_discarded()) details = json::object();
  auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"id", e.id},
          {"occurred_at", FormatRfc3339(e.occurred_at)},
          {"action", e.action},
          {"actor",
           {{"type", ToString(e.actor_type)},
            {"id", or_null(e.actor_id)},
            {"name", or_null(e.actor_name)},
            {"email", or_null(e.actor_email)}}},
          {"target",
           {{"type", or_null(e.target_type)},
            {"id", or_null(e.target_id)},
            {"name", or_null(e.target_name)}}},
          {"project_id", or_null(e.project_id)},
          {"ip", or_null(e.ip)},
          {"user_agent", or_null(e.user_agent)},
          {"details", details}};
}

std::string AuditCsvHeader() {
  return "id,occurred_at,action,actor_type,actor_id,actor_name,actor_email,target_type,"
         "target_id,target_name,project_id,ip,user_agent,details\r\n";
}

void AppendAuditCsvRow(std::string& out, const AuditEvent& e) {
  AppendCsvField(out, e.id);
  out += ',';
  size_t when = out.size();
  AppendRfc3339(out, e.occurred_at);
  if (out[when] == '-') {  // a year before 0 reads as a formula: quote it like any field
    std::string text = out.substr(when);
    out.resize(when);
    AppendCsvField(out, text);
  }
  std::array<std::string_view, 12> fields = {e.action,     ToString(e.actor_type), e.actor_id,
                                             e.actor_name, e.actor_email,          e.target_type,
                                             e.target_id,  e.target_name,          e.project_id,
                                             e.ip,         e.user_agent,           e.details_json};
  for (std::string_view f : fields) {
    out += ',';
    AppendCsvField(out, f);
  }
  out += "\r\n";
}

namespace {

// Appends `s` as a JSON string exactly as nlohmann::json::dump() writes it. ASCII is escaped
// here; anything else goes through the library (which also rejects invalid UTF-8, as before).
void AppendJsonString(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) {
      out += nlohmann::json(std::string(s)).dump();
      return;
    }
  }
  out += '"';
  size_t run = 0;  // start of the pending run of characters that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(u, sizeof u);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void AppendJsonStringOrNull(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, s);
  }
}

}  // namespace

// Writes what AuditEventToJson(e).dump() would (keys in the library's sorted order) without
// building the object; only non-empty details are parsed, to write them in canonical form.
void AppendAuditJsonLine(std::string& out, const AuditEvent& e) {
  out += "{\"action\":";
  AppendJsonString(out, e.action);
  out += ",\"actor\":{\"email\":";
  AppendJsonStringOrNull(out, e.actor_email);
  out += ",\"id\":";
  AppendJsonStringOrNull(out, e.actor_id);
  out += ",\"name\":";
  AppendJsonStringOrNull(out, e.actor_name);
  out += ",\"type\":\"";
  out += ToString(e.actor_type);  // a name: nothing to escape
  out += '"';
  out += "},\"details\":";
  if (e.details_json == "{}") {
    out += "{}";
  } else {
    nlohmann::json details = nlohmann::json::parse(e.details_json, nullptr, false);
    out += details.is_discarded() ? "{}" : details.dump();
  }
  out += ",\"id\":";
  AppendJsonString(out, e.id);
  out += ",\"ip\":";
  AppendJsonStringOrNull(out, e.ip);
  out += ",\"occurred_at\":\"";
  AppendRfc3339(out, e.occurred_at);  // digits and punctuation: nothing to escape
  out += "\",\"project_id\":";
  AppendJsonStringOrNull(out, e.project_id);
  out += ",\"target\":{\"id\":";
  AppendJsonStringOrNull(out, e.target_id);
  out += ",\"name\":";
  AppendJsonStringOrNull(out, e.target_name);
  out += ",\"type\":";
  AppendJsonStringOrNull(out, e.target_type);
  out += "},\"user_agent\":";
  AppendJsonStringOrNull(out, e.user_agent);
  out += "}\n";
}

AuditExporter::AuditExporter(Store& store, AuditFilter filter, Format format, bool redact,
                             int batch)
    : store_(store), filter_(std::move(filter)), format_(format), redact_(redact), batch_(batch) {}

AuditExporter::~AuditExporter() = default;

bool AuditExporter::Next(std::string& chunk) {
  chunk.clear();
  if (finished_) return false;
  if (!header_done_) {
    header_done_ = true;
    if (format_ == Format::kCsv) chunk = AuditCsvHeader();
    stream_ = store_.StreamAuditEvents(filter_);
  }
  int n = stream_->Read(batch_, [&](AuditEvent& e) {
    if (redact_) RedactAuditEvent(e);
    if (format_ == Format::kCsv) {
      AppendAuditCsvRow(chunk, e);
    } else {
      AppendAuditJsonLine(chunk, e);
    }
  });
  rows_ += n;
  if (n < batch_) {
    finished_ = true;
    stream_.reset();  // gives the store's connection back now
  }
  return !chunk.empty() || !finished_;
}

}  // namespace gh
