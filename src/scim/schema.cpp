#include "scim/schema.h"

#include <utility>

#include "scim/error.h"

namespace gh::scim {
namespace {

AttrDef Str(std::string name, std::string description, bool case_exact = false) {
  return {.name = std::move(name),
          .type = "string",
          .case_exact = case_exact,
          .description = std::move(description)};
}

AttrDef Ref(std::string name, std::vector<std::string> types, std::string mutability) {
  return {.name = std::move(name),
          .type = "reference",
          .case_exact = true,
          .mutability = std::move(mutability),
          .description = "The URI of the resource.",
          .reference_types = std::move(types)};
}

AttrDef ReadOnly(AttrDef a) {
  a.mutability = "readOnly";
  for (auto& s : a.sub_attributes) s.mutability = "readOnly";
  return a;
}

AttrDef Id() {
  return {.name = "id",
          .type = "string",
          .case_exact = true,
          .mutability = "readOnly",
          .returned = "always",
          .uniqueness = "server",
          .description = "Unique identifier assigned by Gatehouse."};
}

AttrDef ExternalId() {
  return Str("externalId", "Identifier of the resource in the provisioning client.", true);
}

AttrDef Meta() {
  AttrDef dt{.name = "created", .type = "dateTime", .mutability = "readOnly"};
  AttrDef modified = dt;
  modified.name = "lastModified";
  return ReadOnly({.name = "meta",
                   .type = "complex",
                   .sub_attributes = {Str("resourceType", "User or Group.", true), dt, modified,
                                      Ref("location", {"uri"}, "readOnly"),
                                      Str("version", "The resource's ETag.", true)},
                   .description = "Resource metadata."});
}

std::vector<AttrDef> MakeUser() {
  AttrDef user_name = Str("userName", "The user's email address, unique in the workspace.");
  user_name.required = true;
  user_name.uniqueness = "server";
  AttrDef active{.name = "active", .type = "boolean", .description = "Whether the member may act."};
  AttrDef primary{.name = "primary", .type = "boolean", .description = "The primary email."};
  AttrDef password =
      Str("password", "Never returned; Gatehouse does not take passwords by SCIM.", true);
  password.mutability = "writeOnly";
  password.returned = "never";
  return {
      Id(),
      ExternalId(),
      user_name,
      {.name = "name",
       .type = "complex",
       .sub_attributes = {Str("formatted", "The full name."),
                          Str("givenName", "The given (first) name."),
                          Str("familyName", "The family (last) name.")},
       .description = "The components of the user's name."},
      Str("displayName", "The name shown for the user."),
      {.name = "emails",
       .type = "complex",
       .multi_valued = true,
       .sub_attributes = {Str("value", "The email address."), Str("type", "work, home or other."),
                          primary},
       .description = "Email addresses of the user."},
      active,
      ReadOnly({.name = "groups",
                .type = "complex",
                .multi_valued = true,
                .sub_attributes = {Str("value", "The group's id.", true),
                                   Ref("$ref", {"Group"}, "readOnly"),
                                   Str("display", "The group's displayName.")},
                .description = "The groups the user belongs to (read-only)."}),
      password,
      Meta(),
  };
}

std::vector<AttrDef> MakeGroup() {
  AttrDef display_name = Str("displayName", "The group's name.");
  display_name.required = true;
  // members.value is a Gatehouse id, compared exactly (ids are case-sensitive).
  AttrDef member_value = Str("value", "The member's id.", true);
  member_value.mutability = "immutable";
  return {
      Id(),
      ExternalId(),
      display_name,
      {.name = "members",
       .type = "complex",
       .multi_valued = true,
       .sub_attributes = {member_value, Ref("$ref", {"User", "Group"}, "immutable"),
                          Str("display", "The member's display name."),
                          Str("type", "User or Group.")},
       .description = "The members of the group."},
      Meta(),
  };
}

std::vector<AttrDef> MakeEnterprise() {
  return {Str("employeeNumber", "Employee number."),
          Str("department", "Department."),
          {.name = "manager",
           .type = "complex",
           .sub_attributes = {Str("value", "The manager's id.", true),
                              Ref("$ref", {"User"}, "readWrite"),
                              ReadOnly(Str("displayName", "The manager's displayName."))},
           .description = "The user's manager."}};
}

const AttrDef* FindIn(const std::vector<AttrDef>& defs, std::string_view name) {
  for (const auto& d : defs) {
    if (EqualsIgnoreCase(d.name, name)) return &d;
  }
  return nullptr;
}

bool IsNameChar(char c, bool first) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return true;
  if (first) return false;
  return (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool IsAttrName(std::string_view s) {
  if (s == "$ref" || s == "$Ref") return true;
  if (s.empty() || !IsNameChar(s[0], true)) return false;
  for (char c : s.substr(1)) {
    if (!IsNameChar(c, false)) return false;
  }
  return true;
}

Json AttributeJson(const AttrDef& a) {
  Json j = {{"name", a.name},
            {"type", a.type},
            {"multiValued", a.multi_valued},
            {"description", a.description},
            {"required", a.required},
            {"caseExact", a.case_exact},
            {"mutability", a.mutability},
            {"returned", a.returned},
            {"uniqueness", a.uniqueness}};
  if (!a.reference_types.empty()) j["referenceTypes"] = a.reference_types;
  if (!a.sub_attributes.empty()) {
    Json subs = Json::array();
    for (const auto& s : a.sub_attributes) subs.push_back(AttributeJson(s));
    j["subAttributes"] = std::move(subs);
  }
  return j;
}

Json SchemaJson(const std::string& base_url, const char* id, const char* name,
                const char* description, const std::vector<AttrDef>& attrs) {
  Json list = Json::array();
  for (const auto& a : attrs) list.push_back(AttributeJson(a));
  return {{"schemas", Json::array({kSchemaSchema})},
          {"id", id},
          {"name", name},
          {"description", description},
          {"attributes", std::move(list)},
          {"meta",
           {{"resourceType", "Schema"}, {"location", base_url + "/Schemas/" + std::string(id)}}}};
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const Json* FindMember(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it != object.end()) return &*it;
  for (auto i = object.begin(); i != object.end(); ++i) {
    if (EqualsIgnoreCase(i.key(), key)) return &i.value();
  }
  return nullptr;
}

Json* FindMember(Json& object, std::string_view key) {
  return const_cast<Json*>(FindMember(static_cast<const Json&>(object), key));
}

const std::vector<AttrDef>& Attributes(ResourceKind kind) {
  static const std::vector<AttrDef> user = MakeUser();
  static const std::vector<AttrDef> group = MakeGroup();
  return kind == ResourceKind::kUser ? user : group;
}

const std::vector<AttrDef>& EnterpriseUserAttributes() {
  static const std::vector<AttrDef> enterprise = MakeEnterprise();
  return enterprise;
}

const char* CoreSchema(ResourceKind kind) {
  return kind == ResourceKind::kUser ? kUserSchema : kGroupSchema;
}

const AttrDef* FindSub(const AttrDef& parent, std::string_view name) {
  return FindIn(parent.sub_attributes, name);
}

std::optional<std::string> SchemaUrnOf(std::string_view text, ResourceKind kind) {
  if (EqualsIgnoreCase(text, CoreSchema(kind))) return std::string();
  if (kind == ResourceKind::kUser && EqualsIgnoreCase(text, kEnterpriseUser)) {
    return std::string(kEnterpriseUser);
  }
  return std::nullopt;
}

NameLookup ResolveName(std::string_view name, ResourceKind kind) {
  NameLookup out;
  std::string_view rest = name;
  std::string schema;
  if (auto colon = name.rfind(':'); colon != std::string_view::npos) {
    auto urn = SchemaUrnOf(name.substr(0, colon), kind);
    rest = name.substr(colon + 1);
    if (!urn) {
      // A well-formed name under some other URN (a custom extension) is unknown, not malformed.
      auto dot = rest.find('.');
      bool ok = IsAttrName(rest.substr(0, dot)) &&
                (dot == std::string_view::npos || IsAttrName(rest.substr(dot + 1)));
      out.status = ok && colon > 0 ? NameStatus::kUnknownSchema : NameStatus::kMalformed;
      return out;
    }
    schema = *urn;
  }
  std::string_view attr = rest, sub;
  if (auto dot = rest.find('.'); dot != std::string_view::npos) {
    attr = rest.substr(0, dot);
    sub = rest.substr(dot + 1);
    if (!IsAttrName(sub)) return out;
  }
  if (!IsAttrName(attr)) return out;
  out.status = NameStatus::kUnknown;
  const auto& defs = schema.empty() ? Attributes(kind) : EnterpriseUserAttributes();
  const AttrDef* def = FindIn(defs, attr);
  if (!def) return out;
  out.name.attr = def;
  out.name.path = {schema, def->name, ""};
  if (!sub.empty()) {
    const AttrDef* s = FindSub(*def, sub);
    if (!s) return out;
    out.name.sub = s;
    out.name.path.sub = s->name;
  }
  out.status = NameStatus::kOk;
  return out;
}

std::optional<bool> CoerceBool(const Json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  if (EqualsIgnoreCase(s, "true")) return true;
  if (EqualsIgnoreCase(s, "false")) return false;
  return std::nullopt;
}

Json SchemasDocument(const std::string& base_url) {
  std::vector<Json> schemas = {
      SchemaJson(base_url, kUserSchema, "User", "User Account", Attributes(ResourceKind::kUser)),
      SchemaJson(base_url, kGroupSchema, "Group", "Group", Attributes(ResourceKind::kGroup)),
      SchemaJson(base_url, kEnterpriseUser, "EnterpriseUser", "Enterprise User",
                 EnterpriseUserAttributes())};
  return ListResponse(std::move(schemas), 3, 1);
}

Json ResourceTypesDocument(const std::string& base_url) {
  Json user = {
      {"schemas", Json::array({kResourceTypeSchema})},
      {"id", "User"},
      {"name", "User"},
      {"endpoint", "/Users"},
      {"description", "User Account"},
      {"schema", kUserSchema},
      {"schemaExtensions", Json::array({{{"schema", kEnterpriseUser}, {"required", false}}})},
      {"meta", {{"resourceType", "ResourceType"}, {"location", base_url + "/ResourceTypes/User"}}}};
  Json group = {
      {"schemas", Json::array({kResourceTypeSchema})},
      {"id", "Group"},
      {"name", "Group"},
      {"endpoint", "/Groups"},
      {"description", "Group"},
      {"schema", kGroupSchema},
      {"schemaExtensions", Json::array()},
      {"meta",
       {{"resourceType", "ResourceType"}, {"location", base_url + "/ResourceTypes/Group"}}}};
  return ListResponse({std::move(user), std::move(group)}, 2, 1);
}

Json ServiceProviderConfig(const std::string& base_url, int max_results, int max_operations) {
  return {
      {"schemas", Json::array({kServiceProviderConfigSchema})},
      {"patch", {{"supported", true}}},
      {"bulk", {{"supported", false}, {"maxOperations", max_operations}, {"maxPayloadSize", 0}}},
      {"filter", {{"supported", true}, {"maxResults", max_results}}},
      {"changePassword", {{"supported", false}}},
      {"sort", {{"supported", false}}},
      {"etag", {{"supported", true}}},
      {"authenticationSchemes",
       Json::array({{{"type", "oauthbearertoken"},
                     {"name", "OAuth Bearer Token"},
                     {"description", "A workspace's SCIM token (scim_…) as a Bearer token."},
                     {"primary", true}}})},
      {"meta",
       {{"resourceType", "ServiceProviderConfig"},
        {"location", base_url + "/ServiceProviderConfig"}}}};
}

}  // namespace gh::scim
