// JSON text written by hand, for the paths that do without a JSON library (hot responses,
// log lines): one escaper, so that every such line escapes the same way.
#pragma once

#include <string>
#include <string_view>

namespace gh {

// Appends `s` as a JSON string literal: quoted, with '"', '\\' and control characters
// escaped; other bytes (UTF-8) as they are.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace gh
