#include "core/log.h"

#include <cstdio>

namespace gh::log {
namespace {

void AppendEscaped(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
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
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;  // UTF-8 passes through; invalid bytes are the reader's to replace
        }
    }
  }
  out += '"';
}

const char* Name(Level level) {
  switch (level) {
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

std::string Line(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  std::string out = "{\"level\":\"";
  out += Name(level);
  out += "\",\"msg\":";
  AppendEscaped(out, msg);
  for (const auto& f : fields) {
    out += ',';
    AppendEscaped(out, f.key);
    out += ':';
    if (const auto* text = std::get_if<std::string_view>(&f.value)) {
      AppendEscaped(out, *text);
    } else {
      out += std::to_string(std::get<int64_t>(f.value));
    }
  }
  out += '}';
  return out;
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  std::string line = Line(level, msg, fields);
  line += '\n';
  FILE* out = level == Level::kInfo ? stdout : stderr;
  std::fwrite(line.data(), 1, line.size(), out);
  if (level != Level::kInfo) std::fflush(out);
}

}  // namespace gh::log
