#include "service/presets.h"

#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace gh {

const std::vector<std::pair<std::string_view, std::string_view>>& BuiltinPresetTexts();

namespace {

Error Broken(const std::string& source, const toml::source_region& where, const std::string& what) {
  return {ErrorKind::kInvalid, "invalid_catalogue",
          source + ":" + std::to_string(where.begin.line) + ": " + what, {}};
}

// Reads an optional string; a present value of another type is an error.
Status ReadString(const toml::table& t, const char* key, std::string& out, const std::string& src) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  auto v = n->value<std::string>();
  if (!v) return Broken(src, n->source(), std::string("'") + key + "' must be a string");
  out = *v;
  return {};
}

Status ReadStrings(const toml::table& t, const char* key, std::vector<std::string>& out,
                   const std::string& src) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  const toml::array* arr = n->as_array();
  if (!arr) return Broken(src, n->source(), std::string("'") + key + "' must be an array");
  for (const auto& item : *arr) {
    auto v = item.value<std::string>();
    if (!v) return Broken(src, item.source(), std::string("'") + key + "' must hold strings");
    out.push_back(*v);
  }
  return {};
}

Status ReadCategory(const toml::table& t, const std::string& src, Catalogue::Category& c) {
  if (Status st = ReadString(t, "id", c.id, src); !st.ok()) return st;
  if (Status st = ReadString(t, "name", c.name, src); !st.ok()) return st;
  if (c.id.empty()) return Broken(src, t.source(), "a category needs an 'id'");
  const toml::array* perms = t["permissions"].as_array();
  if (!perms) return Broken(src, t.source(), "category '" + c.id + "' needs a 'permissions' array");
  for (const auto& item : *perms) {
    const toml::table* pt = item.as_table();
    if (!pt) return Broken(src, item.source(), "each permission must be a table {id, name, description}");
    Catalogue::Permission p;
    for (auto [key, value] : {std::pair{"id", &p.id}, {"name", &p.name}, {"description", &p.description}}) {
      if (Status st = ReadString(*pt, key, *value, src); !st.ok()) return st;
    }
    if (p.id.empty()) return Broken(src, item.source(), "a permission needs an 'id'");
    if (p.name.empty()) p.name = p.id;
    c.permissions.push_back(std::move(p));
  }
  return {};
}

Status ReadRole(const toml::table& t, const std::string& src, Catalogue::Role& r) {
  for (auto [key, value] : {std::pair{"id", &r.id}, {"name", &r.name}, {"description", &r.description}}) {
    if (Status st = ReadString(t, key, *value, src); !st.ok()) return st;
  }
  if (Status st = ReadStrings(t, "permissions", r.permission_ids, src); !st.ok()) return st;
  if (const toml::node* n = t.get("invitable")) {
    auto v = n->value<bool>();
    if (!v) return Broken(src, n->source(), "'invitable' must be true or false");
    r.invitable = *v;
  }
  if (r.name.empty()) r.name = r.id;
  return {};
}

// Compile() errors do not know lines; find the line that mentions the culprit in quotes.
Error WithLine(const Error& e, const std::string& text, const std::string& src) {
  const std::string& m = e.message;
  size_t q1 = m.rfind('\'');
  size_t q0 = q1 == std::string::npos || q1 == 0 ? std::string::npos : m.rfind('\'', q1 - 1);
  int line = 0;
  if (q0 != std::string::npos) {
    std::string needle = "\"" + m.substr(q0 + 1, q1 - q0 - 1) + "\"";
    std::istringstream in(text);
    std::string l;
    for (int n = 1; std::getline(in, l); ++n) {
      if (l.find(needle) != std::string::npos) {
        line = n;
        break;
      }
    }
  }
  return {e.kind, e.code, src + ":" + std::to_string(line) + ": " + m, e.field};
}

}  // namespace

Result<Catalogue> ParseCatalogue(const std::string& text, const std::string& src) {
  toml::table t;
  try {
    t = toml::parse(text, src);
  } catch (const toml::parse_error& e) {
    return Broken(src, e.source(), std::string(e.description()));
  }
  Catalogue c;
  for (auto [key, value] : {std::pair{"id", &c.id}, {"name", &c.name},
                            {"creator_role", &c.creator_role}, {"owner_role", &c.owner_role},
                            {"default_invite_role", &c.default_invite_role}}) {
    if (Status st = ReadString(t, key, *value, src); !st.ok()) return st.error();
  }
  if (Status st = ReadStrings(t, "invite_roles", c.invite_roles, src); !st.ok()) return st.error();
  if (Status st = ReadStrings(t, "publishable_endpoints", c.publishable_endpoints, src); !st.ok()) {
    return st.error();
  }
  if (const toml::table* sys = t["system"].as_table()) {
    for (const auto& [key, node] : *sys) {
      auto v = node.value<std::string>();
      if (!v) return Broken(src, node.source(), "[system] values must be permission ids or \"\"");
      c.system_map[std::string(key.str())] = *v;
    }
  }
  if (const toml::array* cats = t["categories"].as_array()) {
    for (const auto& item : *cats) {
      const toml::table* ct = item.as_table();
      if (!ct) return Broken(src, item.source(), "[[categories]] entries must be tables");
      Catalogue::Category cat;
      if (Status st = ReadCategory(*ct, src, cat); !st.ok()) return st.error();
      c.categories.push_back(std::move(cat));
    }
  }
  if (const toml::array* roles = t["roles"].as_array()) {
    for (const auto& item : *roles) {
      const toml::table* rt = item.as_table();
      if (!rt) return Broken(src, item.source(), "[[roles]] entries must be tables");
      Catalogue::Role r;
      if (Status st = ReadRole(*rt, src, r); !st.ok()) return st.error();
      c.roles.push_back(std::move(r));
    }
  }
  if (Status st = c.Compile(); !st.ok()) return WithLine(st.error(), text, src);
  return c;
}

Result<Catalogue> LoadCatalogue(const std::string& preset) {
  for (const auto& [name, text] : BuiltinPresetTexts()) {
    if (name == preset) return ParseCatalogue(std::string(text), "presets/" + preset + ".toml");
  }
  if (preset.size() > 5 && preset.substr(preset.size() - 5) == ".toml") {
    std::ifstream in(preset);
    if (!in) {
      return Error{ErrorKind::kInvalid, "invalid_catalogue", "cannot read " + preset, {}};
    }
    std::stringstream buf;
    buf << in.rdbuf();
    return ParseCatalogue(buf.str(), preset);
  }
  std::string names;
  for (const auto& n : BuiltinPresetNames()) names += (names.empty() ? "" : ", ") + n;
  return Error{ErrorKind::kInvalid, "invalid_catalogue",
               "unknown preset '" + preset + "': use one of " + names + " or a .toml file", {}};
}

std::vector<std::string> BuiltinPresetNames() {
  std::vector<std::string> out;
  for (const auto& [name, text] : BuiltinPresetTexts()) out.emplace_back(name);
  return out;
}

}  // namespace gh
