#include "scim/project.h"

#include <map>
#include <set>
#include <utility>

namespace gh::scim {
namespace {

// Requested names grouped by schema ("" for the core one) and attribute. An empty sub set means
// the whole attribute; the attribute "" means the whole extension.
using Selection = std::map<std::string, std::map<std::string, std::set<std::string>>>;

void AddName(Selection& sel, const std::string& name, ResourceKind kind) {
  if (auto urn = SchemaUrnOf(name, kind)) {
    if (urn->empty()) return;  // the core URN alone names nothing in particular
    sel[*urn][""].clear();
    return;
  }
  auto found = ResolveName(name, kind);
  if (found.status != NameStatus::kOk) return;
  const AttrPath& p = found.name.path;
  auto& attrs = sel[p.schema];
  bool had = attrs.contains(p.attr);
  auto& subs = attrs[p.attr];
  if (p.sub.empty()) {
    subs.clear();
    subs.insert("");  // "" marks the whole attribute; it wins over sub-attributes
  } else if (!had || !subs.contains("")) {
    subs.insert(p.sub);
  }
}

Json KeepSubs(const Json& value, const std::set<std::string>& subs) {
  auto one = [&](const Json& obj) {
    Json out = Json::object();
    if (!obj.is_object()) return out;
    for (const auto& s : subs) {
      if (const Json* v = FindMember(obj, s)) out[s] = *v;
    }
    return out;
  };
  if (!value.is_array()) return one(value);
  Json out = Json::array();
  for (const auto& el : value) {
    Json kept = one(el);
    if (!kept.empty()) out.push_back(std::move(kept));
  }
  return out;
}

void DropSub(Json& value, const std::string& sub) {
  if (value.is_object()) value.erase(sub);
  if (value.is_array()) {
    for (auto& el : value) {
      if (el.is_object()) el.erase(sub);
    }
  }
}

bool IsEmpty(const Json& v) {
  return v.is_null() || ((v.is_object() || v.is_array()) && v.empty());
}

const std::vector<AttrDef>& DefsOf(const std::string& schema, ResourceKind kind) {
  return schema.empty() ? Attributes(kind) : EnterpriseUserAttributes();
}

const AttrDef* FindDef(const std::string& schema, const std::string& attr, ResourceKind kind) {
  for (const auto& d : DefsOf(schema, kind)) {
    if (d.name == attr) return &d;
  }
  return nullptr;
}

Json Included(const Json& resource, ResourceKind kind, const Selection& sel) {
  Json out = Json::object();
  if (const Json* s = FindMember(resource, "schemas")) out["schemas"] = *s;
  for (const auto& def : Attributes(kind)) {
    if (def.returned != "always") continue;
    if (const Json* v = FindMember(resource, def.name)) out[def.name] = *v;
  }
  for (const auto& [schema, attrs] : sel) {
    const Json* source = schema.empty() ? &resource : FindMember(resource, schema);
    if (!source || !source->is_object()) continue;
    if (attrs.contains("")) {
      out[schema] = *source;
      continue;
    }
    Json target = schema.empty() ? Json() : Json::object();
    Json& dest = schema.empty() ? out : target;
    for (const auto& [attr, subs] : attrs) {
      const AttrDef* def = FindDef(schema, attr, kind);
      const Json* v = FindMember(*source, attr);
      if (!def || !v || def->returned == "never") continue;
      Json kept = subs.contains("") ? *v : KeepSubs(*v, subs);
      if (!IsEmpty(kept)) dest[def->name] = std::move(kept);
    }
    if (!schema.empty() && !target.empty()) out[schema] = std::move(target);
  }
  return out;
}

Json Defaults(const Json& resource, ResourceKind kind) {
  Json out = resource;
  if (!out.is_object()) return Json::object();
  for (const std::string& schema : {std::string(), std::string(kEnterpriseUser)}) {
    if (!schema.empty() && kind != ResourceKind::kUser) continue;
    Json* container = schema.empty() ? &out : FindMember(out, schema);
    if (!container || !container->is_object()) continue;
    for (const auto& def : DefsOf(schema, kind)) {
      if (def.returned == "never" || def.returned == "request") container->erase(def.name);
    }
  }
  return out;
}

void Exclude(Json& out, ResourceKind kind, const Selection& sel) {
  for (const auto& [schema, attrs] : sel) {
    Json* container = schema.empty() ? &out : FindMember(out, schema);
    if (!container || !container->is_object()) continue;
    if (attrs.contains("")) {
      out.erase(schema);
      continue;
    }
    for (const auto& [attr, subs] : attrs) {
      const AttrDef* def = FindDef(schema, attr, kind);
      if (!def || def->returned == "always") continue;
      if (subs.contains("")) {
        container->erase(def->name);
        continue;
      }
      Json* v = FindMember(*container, def->name);
      if (!v) continue;
      for (const auto& s : subs) DropSub(*v, s);
      if (v->is_array()) {
        Json kept = Json::array();
        for (auto& el : *v) {
          if (!IsEmpty(el)) kept.push_back(std::move(el));
        }
        *v = std::move(kept);
      }
      if (IsEmpty(*v)) container->erase(def->name);
    }
    if (!schema.empty() && container->empty()) out.erase(schema);
  }
}

}  // namespace

std::vector<std::string> SplitAttributeList(std::string_view list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(start, comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

Json Project(const Json& resource, ResourceKind kind, const std::vector<std::string>& attributes,
             const std::vector<std::string>& excluded) {
  Selection include, exclude;
  for (const auto& n : attributes) AddName(include, n, kind);
  for (const auto& n : excluded) AddName(exclude, n, kind);
  Json out = attributes.empty() ? Defaults(resource, kind) : Included(resource, kind, include);
  Exclude(out, kind, exclude);
  return out;
}

}  // namespace gh::scim
