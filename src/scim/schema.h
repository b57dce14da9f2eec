// SCIM 2.0 (RFC 7643) schemas of the two resources Gatehouse serves, User (with the enterprise
// extension) and Group, and the discovery documents built from them.
//
// Pure: no store, no network, no clock. The tables are static; pointers into them
// (const AttrDef*) stay valid for the life of the program.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gh::scim {

// http/json_body.h has the same alias in gh::http; scim sits below http and cannot include it.
using Json = nlohmann::json;

inline constexpr const char* kUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
inline constexpr const char* kGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
inline constexpr const char* kEnterpriseUser =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
inline constexpr const char* kListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
inline constexpr const char* kPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
inline constexpr const char* kError = "urn:ietf:params:scim:api:messages:2.0:Error";
inline constexpr const char* kSchemaSchema = "urn:ietf:params:scim:schemas:core:2.0:Schema";
inline constexpr const char* kResourceTypeSchema =
    "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
inline constexpr const char* kServiceProviderConfigSchema =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

enum class ResourceKind { kUser, kGroup };

// One attribute of a schema (RFC 7643 §2.2 / §7), with its canonical casing.
struct AttrDef {
  std::string name;
  std::string type;  // "string", "boolean", "complex", "reference", "dateTime"
  bool multi_valued = false;
  bool case_exact = false;
  std::string mutability = "readWrite";  // readWrite, readOnly, immutable, writeOnly
  std::string returned = "default";      // always, default, never, request
  bool required = false;
  std::string uniqueness = "none";  // none, server
  std::vector<AttrDef> sub_attributes;
  std::string description;
  std::vector<std::string> reference_types;  // for type "reference"
};

// The core schema's attributes of a kind (User: id, externalId, userName, name, displayName,
// emails, active, groups, password, meta; Group: id, externalId, displayName, members, meta).
const std::vector<AttrDef>& Attributes(ResourceKind kind);
// The enterprise User extension's attributes (employeeNumber, department, manager).
const std::vector<AttrDef>& EnterpriseUserAttributes();
// The core schema URN of a kind.
const char* CoreSchema(ResourceKind kind);

// An attribute path with the schema's casing: {"", "emails", "value"},
// {kEnterpriseUser, "department", ""}. `schema` is empty for core-schema attributes (whether or
// not the name carried the core URN) and the extension URN for extension attributes.
struct AttrPath {
  std::string schema;
  std::string attr;
  std::string sub;
  bool operator==(const AttrPath&) const = default;
};

// An attribute name resolved against a kind's schemas.
struct ResolvedName {
  AttrPath path;
  const AttrDef* attr = nullptr;
  const AttrDef* sub = nullptr;  // set when path.sub is
};
enum class NameStatus {
  kOk,
  kMalformed,      // not `[URN ":"] ATTRNAME ["." subAttr]`
  kUnknownSchema,  // a URN prefix that is neither the core schema nor a known extension
  kUnknown,        // no such attribute or sub-attribute in the schema
};
struct NameLookup {
  NameStatus status = NameStatus::kMalformed;
  ResolvedName name;
};
// Resolves "userName", "name.givenName", "urn:…:core:2.0:User:emails.value",
// "urn:…:enterprise:2.0:User:manager.value"; case-insensitive (RFC 7643 §2.1). A whole schema
// URN is kMalformed here (callers that accept it check IsSchemaUrn first).
NameLookup ResolveName(std::string_view name, ResourceKind kind);
// A sub-attribute of `parent` by its plain name, case-insensitively; nullptr when none.
const AttrDef* FindSub(const AttrDef& parent, std::string_view name);

// The core or extension schema URN of `kind` that `text` names (case-insensitively), in its
// canonical form with the core one as "", or nullopt.
std::optional<std::string> SchemaUrnOf(std::string_view text, ResourceKind kind);

// true/false, or the strings "True"/"False" in any case (Entra ID's booleans).
std::optional<bool> CoerceBool(const Json& v);

// ASCII case-insensitive equality (attribute names, URNs, operators).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string AsciiLower(std::string_view s);

// The member of `object` named `key` (exact first, then ASCII case-insensitive); nullptr when
// `object` is not an object or has no such member.
const Json* FindMember(const Json& object, std::string_view key);
Json* FindMember(Json& object, std::string_view key);

// Discovery documents (RFC 7644 §4). `base_url` is the SCIM root without a trailing slash,
// e.g. "https://gh.example.com/scim/v2/ws_123"; locations are built from it.
Json SchemasDocument(const std::string& base_url = "");
Json ResourceTypesDocument(const std::string& base_url);
// patch supported, bulk not (its maxOperations carries `max_operations`, the PATCH limit),
// filter supported with `max_results`, changePassword/sort not, etag supported, OAuth bearer.
Json ServiceProviderConfig(const std::string& base_url, int max_results, int max_operations);

}  // namespace gh::scim
