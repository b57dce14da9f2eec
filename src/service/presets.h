// Loading permission catalogues: the presets built into the binary (presets/*.toml,
// embedded at build time) or a deployment's own TOML file.
#pragma once

#include <string>
#include <vector>

#include "core/catalogue.h"
#include "core/result.h"

namespace gh {

// `preset` is a built-in name ("four-role", "admin-member") or a path to a .toml file.
// Errors name the file, the line and what is wrong.
Result<Catalogue> LoadCatalogue(const std::string& preset);

// Parses catalogue text; `source` names it in error messages.
Result<Catalogue> ParseCatalogue(const std::string& text, const std::string& source);

// Names of the presets built into this binary.
std::vector<std::string> BuiltinPresetNames();

}  // namespace gh
