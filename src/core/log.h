// Gatehouse's structured log: one JSON object per line, every value escaped, so that an error
// message quoting SQL or a client's input never breaks the line (or forges fields). Lines go
// to stderr ("error"/"warn") or stdout ("info") in one write each.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace gh::log {

enum class Level { kInfo, kWarn, kError };

// A field's value: text (escaped) or a number.
struct Field {
  std::string_view key;
  std::variant<std::string_view, int64_t> value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(int64_t{v}) {}
};

// The line Write prints, without its newline: {"level":…,"msg":…,<fields>}.
std::string Line(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void Info(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, msg, fields);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, msg, fields);
}
inline void Error(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, msg, fields);
}

}  // namespace gh::log
