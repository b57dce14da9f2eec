#include "scim/patch.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>

#include "scim/error.h"

namespace gh::scim {
namespace {

Error Bad(const char* scim_type, std::string message, std::string field = {}) {
  return Error::BadRequest(scim_type, std::move(message), std::move(field));
}

std::string OpField(size_t i) { return "Operations[" + std::to_string(i) + "]"; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The first ']' after `open` that is outside a JSON string, or npos.
size_t ClosingBracket(std::string_view s, size_t open) {
  bool in_string = false;
  for (size_t i = open + 1; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ']') {
      return i;
    }
  }
  return std::string_view::npos;
}

const AttrDef* FindDef(const AttrPath& p, ResourceKind kind) {
  const auto& defs = p.schema.empty() ? Attributes(kind) : EnterpriseUserAttributes();
  for (const auto& d : defs) {
    if (d.name == p.attr) return &d;
  }
  return nullptr;
}

// ---- values ----

bool CoerceSingle(const AttrDef& def, const Json& in, Json& out) {
  if (def.type == "boolean") {
    auto b = CoerceBool(in);
    if (!b) return false;
    out = *b;
    return true;
  }
  if (def.type == "complex") {
    // A bare string for a complex attribute with a `value` (Entra's manager, plain member ids).
    if (in.is_string() && FindSub(def, "value")) {
      out = Json{{"value", in}};
      return true;
    }
    if (!in.is_object()) return false;
    out = Json::object();
    for (auto it = in.begin(); it != in.end(); ++it) {
      const AttrDef* sub = FindSub(def, it.key());
      if (!sub || it.value().is_null()) continue;
      Json v;
      if (!CoerceSingle(*sub, it.value(), v)) return false;
      out[sub->name] = std::move(v);
    }
    return true;
  }
  if (in.is_string()) {
    out = in;
    return true;
  }
  if (def.type == "string" && (in.is_number_integer() || in.is_number_unsigned())) {
    out = in.dump();  // employeeNumber sent as a number
    return true;
  }
  return false;
}

bool CoerceValue(const AttrDef& def, const Json& in, Json& out) {
  if (!def.multi_valued) return CoerceSingle(def, in, out);
  out = Json::array();
  const Json list = in.is_array() ? in : Json::array({in});
  for (const auto& el : list) {
    if (el.is_null()) continue;
    Json v;
    if (!CoerceSingle(def, el, v)) return false;
    out.push_back(std::move(v));
  }
  return true;
}

Error BadValue(const AttrDef& def, const std::string& sub = {}) {
  std::string name = sub.empty() ? def.name : def.name + "." + sub;
  return Bad(scim_type::kInvalidValue, "The value given for " + name + " is not a valid " +
                                           (sub.empty() ? def.type : std::string("value")) + ".");
}

// The key that identifies an element of a multi-valued attribute (its `value`), folded to
// lower case unless `value` is caseExact; nullopt when it has none.
std::optional<std::string> ElementKey(const AttrDef& def, const Json& el) {
  const Json* v = el.is_string() ? &el : FindMember(el, "value");
  if (!v || !v->is_string()) return std::nullopt;
  const AttrDef* value_def = FindSub(def, "value");
  const auto& s = v->get_ref<const std::string&>();
  return value_def && value_def->case_exact ? s : AsciiLower(s);
}

void AppendUnique(Json& list, const Json& items, const AttrDef& def) {
  std::unordered_set<std::string> seen;
  seen.reserve(list.size() + items.size());
  for (const auto& el : list) {
    if (auto k = ElementKey(def, el)) seen.insert(std::move(*k));
  }
  for (const auto& el : items) {
    auto k = ElementKey(def, el);
    if (k && !seen.insert(std::move(*k)).second) continue;
    list.push_back(el);
  }
}

void RemoveKeys(Json& container, const AttrDef& def, const std::unordered_set<std::string>& keys) {
  Json* list = FindMember(container, def.name);
  if (!list || !list->is_array()) return;
  Json kept = Json::array();
  for (auto& el : *list) {
    auto k = ElementKey(def, el);
    if (k && keys.contains(*k)) continue;
    kept.push_back(std::move(el));
  }
  if (kept.empty()) {
    container.erase(def.name);
  } else {
    *list = std::move(kept);
  }
}

// `type eq "work" and primary eq true` → {"type":"work","primary":true}: the element an
// add/replace through a filter that matched nothing creates. nullopt for any other filter.
bool EqTemplate(const Filter& f, Json& out) {
  if (f.op == FilterOp::kAnd) return EqTemplate(*f.left, out) && EqTemplate(*f.right, out);
  if (f.op != FilterOp::kEq || !f.element_relative || f.value.is_null()) return false;
  Json v;
  if (!CoerceSingle(*f.sub_def, f.value, v)) return false;
  out[f.sub_def->name] = std::move(v);
  return true;
}

// A remove of `attr[value eq "x"]`, which Okta sends once per member: the key, for batching.
std::optional<std::string> SimpleValueRemoval(const PatchOp& op, ResourceKind kind) {
  if (op.op != PatchOpKind::kRemove || !op.path || !op.path->value_filter ||
      !op.path->sub_after_filter.empty()) {
    return std::nullopt;
  }
  const Filter& f = *op.path->value_filter;
  if (f.op != FilterOp::kEq || !f.element_relative || f.attr.sub != "value" ||
      !f.value.is_string()) {
    return std::nullopt;
  }
  const AttrDef* def = FindDef(op.path->attr, kind);
  if (!def || def->mutability != "readWrite") return std::nullopt;  // Apply ignores those
  return ElementKey(*def, f.value);
}

// ---- applying ----

class Applier {
 public:
  Applier(Json& root, ResourceKind kind) : root_(root), kind_(kind) {}

  Status Apply(PatchOpKind op, const std::optional<PatchPath>& path, const Json& value) {
    if (!path) {
      if (op == PatchOpKind::kRemove) return Bad(scim_type::kNoTarget, "A remove needs a path.");
      return ApplyObject(op, "", value, /*top=*/true);
    }
    return ApplyPath(op, *path, value);
  }

  void RemoveBatch(const AttrPath& attr, const std::unordered_set<std::string>& keys) {
    const AttrDef* def = FindDef(attr, kind_);
    Json* container = Container(attr.schema, false);
    if (def && container) RemoveKeys(*container, *def, keys);
  }

 private:
  // The object holding a schema's attributes: the root or the extension's object.
  Json* Container(const std::string& schema, bool create) {
    if (schema.empty()) return &root_;
    Json* ext = FindMember(root_, schema);
    if (ext && ext->is_object()) return ext;
    if (!create) return nullptr;
    root_[schema] = Json::object();
    Json* schemas = FindMember(root_, "schemas");
    if (schemas && schemas->is_array()) {
      bool listed = false;
      for (const auto& s : *schemas) listed = listed || (s.is_string() && s == schema);
      if (!listed) schemas->push_back(schema);
    }
    return &root_[schema];
  }

  void DropEmptyExtension(const std::string& schema) {
    Json* ext = schema.empty() ? nullptr : FindMember(root_, schema);
    if (ext && ext->is_object() && ext->empty()) root_.erase(schema);
  }

  // A path-less add/replace: every key of the object is an attribute path. `schema` is set
  // inside an extension's object ({"urn:…:enterprise:2.0:User": {"department": "Eng"}}).
  Status ApplyObject(PatchOpKind op, const std::string& schema, const Json& value, bool top) {
    if (!value.is_object()) {
      return Bad(scim_type::kInvalidValue, "An operation without a path needs an object value.");
    }
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string& key = it.key();
      if (top && (EqualsIgnoreCase(key, "id") || EqualsIgnoreCase(key, "schemas") ||
                  EqualsIgnoreCase(key, "meta"))) {
        continue;
      }
      if (auto urn = SchemaUrnOf(key, kind_)) {
        if (!top) continue;
        if (Status s = ApplyObject(op, *urn, it.value(), false); !s) return s;
        continue;
      }
      std::string full = schema.empty() ? key : schema + ":" + key;
      auto path = ParsePatchPath(full, kind_);
      if (!path.ok()) return path.error();
      if (!path.value()) continue;  // not an attribute of ours
      if (Status s = ApplyPath(op, **path, it.value()); !s) return s;
    }
    return {};
  }

  Status ApplyPath(PatchOpKind op, const PatchPath& p, const Json& value) {
    if (p.attr.attr.empty()) {  // a whole schema: its extension object, or the resource
      if (op != PatchOpKind::kRemove)
        return ApplyObject(op, p.attr.schema, value, p.attr.schema.empty());
      if (p.attr.schema.empty()) return Bad(scim_type::kNoTarget, "Cannot remove the resource.");
      root_.erase(p.attr.schema);
      return {};
    }
    const AttrDef* def = FindDef(p.attr, kind_);
    if (!def || def->mutability == "readOnly" || def->mutability == "writeOnly") return {};
    if (p.value_filter) return ApplyFiltered(op, *def, p, value);
    if (!p.attr.sub.empty()) return ApplySub(op, *def, p, value);
    return ApplyWhole(op, *def, p.attr.schema, value);
  }

  Status ApplyWhole(PatchOpKind op, const AttrDef& def, const std::string& schema,
                    const Json& value) {
    if (op == PatchOpKind::kRemove || value.is_null()) {
      if (def.required) {
        return Bad(scim_type::kInvalidValue, def.name + " is required and cannot be removed.");
      }
      Json* container = Container(schema, false);
      if (!container) return {};
      if (op == PatchOpKind::kRemove && def.multi_valued && value.is_array()) {
        std::unordered_set<std::string> keys;
        for (const auto& el : value) {
          if (auto k = ElementKey(def, el)) keys.insert(std::move(*k));
        }
        RemoveKeys(*container, def, keys);
      } else {
        container->erase(def.name);
      }
      DropEmptyExtension(schema);
      return {};
    }
    Json coerced;
    if (!CoerceValue(def, value, coerced)) return BadValue(def);
    Json& container = *Container(schema, true);
    Json* current = FindMember(container, def.name);
    if (def.multi_valued) {
      Json merged =
          op == PatchOpKind::kAdd && current && current->is_array() ? *current : Json::array();
      AppendUnique(merged, coerced, def);
      container[def.name] = std::move(merged);
      return {};
    }
    if (def.type == "complex" && current && current->is_object()) {
      for (auto it = coerced.begin(); it != coerced.end(); ++it) (*current)[it.key()] = it.value();
      return {};
    }
    container[def.name] = std::move(coerced);
    return {};
  }

  // name.givenName, manager.value, emails.value (every element).
  Status ApplySub(PatchOpKind op, const AttrDef& def, const PatchPath& p, const Json& value) {
    const AttrDef* sub = FindSub(def, p.attr.sub);
    if (!sub || sub->mutability == "readOnly") return {};
    bool removing = op == PatchOpKind::kRemove || value.is_null();
    Json coerced;
    if (!removing && !CoerceSingle(*sub, value, coerced)) return BadValue(def, sub->name);
    Json* container = Container(p.attr.schema, !removing);
    if (!container) return {};
    Json* current = FindMember(*container, def.name);
    if (def.multi_valued) {
      if (!current || !current->is_array()) return {};
      for (auto& el : *current) {
        if (!el.is_object()) continue;
        if (removing) {
          el.erase(sub->name);
        } else {
          el[sub->name] = coerced;
        }
      }
      return {};
    }
    if (removing) {
      if (current && current->is_object()) {
        current->erase(sub->name);
        if (current->empty()) container->erase(def.name);
      }
      DropEmptyExtension(p.attr.schema);
      return {};
    }
    if (!current || !current->is_object()) {
      (*container)[def.name] = Json::object();
      current = &(*container)[def.name];
    }
    (*current)[sub->name] = std::move(coerced);
    return {};
  }

  // members[value eq "x"], emails[type eq "work"].value.
  Status ApplyFiltered(PatchOpKind op, const AttrDef& def, const PatchPath& p, const Json& value) {
    const AttrDef* sub = p.sub_after_filter.empty() ? nullptr : FindSub(def, p.sub_after_filter);
    if (!p.sub_after_filter.empty() && (!sub || sub->mutability == "readOnly")) return {};
    bool removing = op == PatchOpKind::kRemove || value.is_null();
    Json coerced;
    if (!removing) {
      bool ok = sub ? CoerceSingle(*sub, value, coerced) : CoerceSingle(def, value, coerced);
      if (!ok) return BadValue(def, sub ? sub->name : std::string());
    }
    Json* container = Container(p.attr.schema, !removing);
    if (!container) return {};
    Json* list = FindMember(*container, def.name);
    if (!list || !list->is_array()) {
      if (removing) return {};
      (*container)[def.name] = Json::array();
      list = &(*container)[def.name];
    }
    if (removing) {
      Json kept = Json::array();
      for (auto& el : *list) {
        bool hit = el.is_object() && MatchesElement(*p.value_filter, el);
        if (hit && sub) el.erase(sub->name);
        if (!hit || sub) kept.push_back(std::move(el));
      }
      if (kept.empty()) {
        container->erase(def.name);
      } else {
        *list = std::move(kept);
      }
      DropEmptyExtension(p.attr.schema);
      return {};
    }
    bool matched = false;
    for (auto& el : *list) {
      if (!el.is_object() || !MatchesElement(*p.value_filter, el)) continue;
      matched = true;
      Merge(el, sub, coerced);
    }
    if (matched) return {};
    Json created = Json::object();
    if (!EqTemplate(*p.value_filter, created)) {
      return Bad(scim_type::kNoTarget, "No " + def.name + " value matches the path's filter.");
    }
    Merge(created, sub, coerced);
    list->push_back(std::move(created));
    return {};
  }

  static void Merge(Json& element, const AttrDef* sub, const Json& coerced) {
    if (sub) {
      element[sub->name] = coerced;
      return;
    }
    for (auto it = coerced.begin(); it != coerced.end(); ++it) element[it.key()] = it.value();
  }

  Json& root_;
  ResourceKind kind_;
};

Status CheckRequired(const Json& resource, ResourceKind kind) {
  for (const auto& def : Attributes(kind)) {
    if (!def.required) continue;
    const Json* v = FindMember(resource, def.name);
    if (!v || !v->is_string() || v->get_ref<const std::string&>().empty()) {
      return Bad(scim_type::kInvalidValue, def.name + " is required and must not be empty.");
    }
  }
  return {};
}

// Whether `name` (without a schema URN) starts with an attribute of RFC 7643's core User or
// Group schema, modelled here or not.
bool IsStandardAttribute(std::string_view name, ResourceKind kind) {
  if (name.find(':') != std::string_view::npos) return true;  // an extension: its business
  std::string first = AsciiLower(name.substr(0, name.find('.')));
  static const char* const kUser[] = {
      "id", "externalid", "meta", "username", "name", "displayname", "nickname", "profileurl",
      "title", "usertype", "preferredlanguage", "locale", "timezone", "active", "password",
      "emails", "phonenumbers", "ims", "photos", "addresses", "groups", "entitlements", "roles",
      "x509certificates"};
  static const char* const kGroup[] = {"id", "externalid", "meta", "displayname", "members"};
  if (kind == ResourceKind::kUser) {
    for (const char* n : kUser) {
      if (first == n) return true;
    }
  } else {
    for (const char* n : kGroup) {
      if (first == n) return true;
    }
  }
  return false;
}

}  // namespace

Result<std::optional<PatchPath>> ParsePatchPath(std::string_view text, ResourceKind kind) {
  std::string_view path = Trim(text);
  auto invalid = [&](const std::string& why) {
    return Error(Bad(scim_type::kInvalidPath, "The path " + why + "."));
  };
  if (path.empty()) return invalid("is empty");
  if (path.size() > kMaxFilterBytes) return invalid("is too long");
  if (auto urn = SchemaUrnOf(path, kind))
    return std::optional<PatchPath>(PatchPath{{*urn, "", ""}});
  size_t open = path.find('[');
  std::string_view name = path.substr(0, open);
  auto found = ResolveName(name, kind);
  if (found.status == NameStatus::kMalformed) {
    return invalid("\"" + std::string(name.substr(0, 80)) + "\" is not an attribute name");
  }
  if (open == std::string_view::npos) {
    if (found.status == NameStatus::kUnknown && !IsStandardAttribute(name, kind)) {
      // Not a schema extension Gatehouse does not keep, nor a standard attribute it does not
      // model (Entra sends its whole mapping): a path no client means. Refused.
      return invalid("\"" + std::string(name.substr(0, 80)) + "\" names no attribute");
    }
    if (found.status != NameStatus::kOk) return std::optional<PatchPath>();
    return std::optional<PatchPath>(PatchPath{found.name.path, nullptr, ""});
  }
  size_t close = ClosingBracket(path, open);
  if (close == std::string_view::npos) return invalid("has an unbalanced \"[\"");
  std::string_view after = path.substr(close + 1);
  if (!after.empty() && (after[0] != '.' || after.size() < 2)) {
    return invalid("has \"" + std::string(after.substr(0, 40)) + "\" after \"]\"");
  }
  if (found.status != NameStatus::kOk) return std::optional<PatchPath>();
  const AttrDef& def = *found.name.attr;
  if (found.name.sub || !def.multi_valued || def.type != "complex") {
    return invalid("filters " + def.name + ", which is not a multi-valued complex attribute");
  }
  auto filter =
      ParseValueFilter(path.substr(open + 1, close - open - 1), def, found.name.path.schema);
  if (!filter.ok()) return invalid("has an invalid filter: " + filter.error().message);
  PatchPath out{found.name.path, std::move(filter).value(), ""};
  if (!after.empty()) {
    const AttrDef* sub = FindSub(def, after.substr(1));
    if (!sub) return std::optional<PatchPath>();  // e.g. emails[type eq "work"].display
    out.sub_after_filter = sub->name;
  }
  return std::optional<PatchPath>(std::move(out));
}

Result<std::vector<PatchOp>> ParsePatch(const Json& body, ResourceKind kind, int max_operations) {
  if (!body.is_object()) return Bad(scim_type::kInvalidSyntax, "The body is not a JSON object.");
  if (const Json* schemas = FindMember(body, "schemas")) {
    bool listed = false;
    if (schemas->is_array()) {
      for (const auto& s : *schemas)
        listed = listed || (s.is_string() && EqualsIgnoreCase(s.get<std::string>(), kPatchOp));
    }
    if (!listed) {
      return Bad(scim_type::kInvalidSyntax, std::string("schemas must list ") + kPatchOp + ".",
                 "schemas");
    }
  }
  const Json* list = FindMember(body, "Operations");
  if (!list || !list->is_array() || list->empty()) {
    return Bad(scim_type::kInvalidSyntax, "Operations must be a non-empty array.", "Operations");
  }
  if (list->size() > static_cast<size_t>(std::max(max_operations, 0))) {
    return Bad(scim_type::kTooMany,
               "At most " + std::to_string(max_operations) + " operations per request.",
               "Operations");
  }
  std::vector<PatchOp> ops;
  ops.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    if (!item.is_object())
      return Bad(scim_type::kInvalidSyntax, "An operation is not an object.", OpField(i));
    const Json* name = FindMember(item, "op");
    PatchOp op;
    if (!name || !name->is_string()) {
      return Bad(scim_type::kInvalidSyntax, "An operation has no op.", OpField(i) + ".op");
    }
    const auto& n = name->get_ref<const std::string&>();
    if (EqualsIgnoreCase(n, "add")) {
      op.op = PatchOpKind::kAdd;
    } else if (EqualsIgnoreCase(n, "remove")) {
      op.op = PatchOpKind::kRemove;
    } else if (EqualsIgnoreCase(n, "replace")) {
      op.op = PatchOpKind::kReplace;
    } else {
      return Bad(scim_type::kInvalidSyntax, "op must be add, remove or replace.",
                 OpField(i) + ".op");
    }
    const Json* value = FindMember(item, "value");
    if (value) op.value = *value;
    const Json* path = FindMember(item, "path");
    if (path && !path->is_null()) {
      if (!path->is_string()) {
        return Bad(scim_type::kInvalidSyntax, "path must be a string.", OpField(i) + ".path");
      }
      auto parsed = ParsePatchPath(path->get_ref<const std::string&>(), kind);
      if (!parsed.ok()) {
        Error e = parsed.error();
        e.field = OpField(i) + ".path";
        return e;
      }
      if (!parsed.value()) continue;  // an attribute Gatehouse does not have
      op.path = std::move(*parsed.value());
    }
    if (op.op != PatchOpKind::kRemove && !value) {
      return Bad(scim_type::kInvalidValue, "add and replace need a value.", OpField(i) + ".value");
    }
    if (op.op != PatchOpKind::kRemove && !op.path && !value->is_object()) {
      return Bad(scim_type::kInvalidValue, "An operation without a path needs an object value.",
                 OpField(i) + ".value");
    }
    if (op.op == PatchOpKind::kRemove && !op.path) {
      return Bad(scim_type::kNoTarget, "A remove needs a path.", OpField(i) + ".path");
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

Status ApplyPatch(Json& resource, const std::vector<PatchOp>& ops, ResourceKind kind) {
  if (!resource.is_object()) return Bad(scim_type::kInvalidValue, "The resource is not an object.");
  Json work = resource;
  Applier applier(work, kind);
  for (size_t i = 0; i < ops.size();) {
    // Runs of `remove members[value eq "x"]` (Okta sends one per member) in one pass.
    if (auto key = SimpleValueRemoval(ops[i], kind)) {
      std::unordered_set<std::string> keys;
      const AttrPath& attr = ops[i].path->attr;
      size_t j = i;
      for (; j < ops.size(); ++j) {
        auto k = SimpleValueRemoval(ops[j], kind);
        if (!k || !(ops[j].path->attr == attr)) break;
        keys.insert(std::move(*k));
      }
      applier.RemoveBatch(attr, keys);
      i = j;
      continue;
    }
    if (Status s = applier.Apply(ops[i].op, ops[i].path, ops[i].value); !s) {
      Error e = s.error();
      if (e.field.empty()) e.field = OpField(i);
      return e;
    }
    ++i;
  }
  if (Status s = CheckRequired(work, kind); !s) return s;
  resource = std::move(work);
  return {};
}

}  // namespace gh::scim
