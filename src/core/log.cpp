#include "core/log.h"

#include <cstdio>

#include "core/json_text.h"

namespace gh::log {
namespace {

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
  AppendJsonString(out, msg);
  for (const auto& f : fields) {
    out += ',';
    AppendJsonString(out, f.key);
    out += ':';
    if (const auto* text = std::get_if<std::string_view>(&f.value)) {
      AppendJsonString(out, *text);
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
