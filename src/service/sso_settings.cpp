#include "service/sso_settings.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <set>

#include "core/validation.h"
#include "sso/oidc.h"
#include "sso/saml.h"

namespace gh {
namespace {

using Json = nlohmann::json;

Error Bad(const std::string& field, const std::string& message,
          const char* code = "invalid_sso_settings") {
  return Error::Invalid(code, field, message);
}

constexpr const char* kSamlProviders[] = {"okta", "entra", "google_workspace", "onelogin",
                                          "custom"};
constexpr const char* kOidcProviders[] = {"okta",   "entra",  "google_workspace", "onelogin",
                                          "custom", "google", "microsoft",        "gitlab"};
constexpr const char* kOAuthProviders[] = {"github", "gitlab", "google", "microsoft"};

template <size_t N>
bool OneOf(const std::string& v, const char* const (&set)[N]) {
  return std::find_if(std::begin(set), std::end(set), [&](const char* s) { return v == s; }) !=
         std::end(set);
}

// Entra ID sends its claims under these URIs unless the admin renames them.
constexpr const char* kEntraEmail =
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
constexpr const char* kEntraGiven =
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname";
constexpr const char* kEntraSurname =
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname";
constexpr const char* kEntraGroups =
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";

void DefaultMapping(const std::string& type, const std::string& provider, SsoSettings& s) {
  if (type == "saml" && provider == "entra") {
    s.attr_email = kEntraEmail;
    s.attr_first_name = kEntraGiven;
    s.attr_last_name = kEntraSurname;
    s.attr_groups = kEntraGroups;
    s.attr_role = "role";
  } else if (type == "saml") {
    s.attr_email = "email";
    s.attr_first_name = "first_name";
    s.attr_last_name = "last_name";
    s.attr_role = "role";
    s.attr_groups = "groups";
  } else {
    s.attr_email = "email";
    s.attr_first_name = "given_name";
    s.attr_last_name = "family_name";
    s.attr_role = "role";
    s.attr_groups = "groups";
  }
}

Result<std::string> Str(const Json& obj, const char* key, const std::string& field, size_t max,
                        bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Bad(field, field + " is required.", "missing_field");
    return std::string();
  }
  if (!it->is_string()) return Bad(field, field + " must be a string.", "invalid_type");
  std::string v = validation::Trim(it->get<std::string>());
  if (v.size() > max || !validation::IsSingleLine(v)) {
    return Bad(field, field + " must be one line of at most " + std::to_string(max) + " bytes.");
  }
  if (required && v.empty()) return Bad(field, field + " is required.", "missing_field");
  return v;
}

Status CheckUnknown(const Json& obj, std::initializer_list<const char*> known,
                    const std::string& prefix) {
  for (const auto& [k, v] : obj.items()) {
    bool ok = false;
    for (const char* n : known) ok = ok || k == n;
    if (!ok) return Error::Invalid("unknown_field", prefix + k, "Unknown field '" + k + "'.");
  }
  return {};
}

// One PEM certificate (or the base64 body of one, as IdP consoles show it), re-encoded as PEM.
Result<std::string> CanonicalCertificate(const std::string& text, const std::string& field) {
  std::string pem = text;
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    std::string body;
    for (char c : text) {
      if (!std::isspace(static_cast<unsigned char>(c))) body += c;
    }
    pem = "-----BEGIN CERTIFICATE-----\n";
    for (size_t i = 0; i < body.size(); i += 64) pem += body.substr(i, 64) + "\n";
    pem += "-----END CERTIFICATE-----\n";
  }
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (!cert)
    return Bad(field, "Not an X.509 certificate (PEM, or its base64 body).", "invalid_certificate");
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string canonical(data, static_cast<size_t>(n));
  BIO_free(out);
  X509_free(cert);
  return canonical;
}

Result<std::string> Domain(const Json& v, const std::string& field) {
  if (!v.is_string()) return Bad(field, "A domain is a string like acme.com.", "invalid_domain");
  std::string d = validation::Trim(v.get<std::string>());
  std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
  bool ok = !d.empty() && d.size() <= 253 && d.find('.') != std::string::npos && d.front() != '.' &&
            d.back() != '.' && d.find("..") == std::string::npos;
  for (char c : d) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
  }
  if (!ok) return Bad(field, "'" + d + "' is not a domain name like acme.com.", "invalid_domain");
  return d;
}

}  // namespace

std::string EmailDomain(const std::string& email) {
  size_t at = email.rfind('@');
  if (at == std::string::npos) return "";
  std::string d = email.substr(at + 1);
  std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
  return d;
}

Json SsoSettings::ToJson() const {
  Json mapping = Json::object();
  for (const auto& [k, v] : role_mapping) mapping[k] = v;
  Json projects = Json::array();
  for (const auto& p : default_projects) {
    projects.push_back({{"project_id", p.project_id}, {"role", p.role}});
  }
  return {{"saml",
           {{"idp_entity_id", idp_entity_id},
            {"idp_sso_url", idp_sso_url},
            {"idp_certificates", idp_certificates},
            {"allow_idp_initiated", allow_idp_initiated}}},
          {"oidc", {{"issuer", issuer}, {"client_id", client_id}, {"scopes", scopes}}},
          {"attribute_mapping",
           {{"email", attr_email},
            {"first_name", attr_first_name},
            {"last_name", attr_last_name},
            {"role", attr_role},
            {"groups", attr_groups}}},
          {"role_mapping", mapping},
          {"default_role", default_role.empty() ? Json(nullptr) : Json(default_role)},
          {"default_projects", projects},
          {"jit", jit}};
}

SsoSettings SsoSettings::FromJson(const std::string& text) {
  SsoSettings s;
  Json j = Json::parse(text);  // written by ToJson only
  const Json& saml = j.at("saml");
  s.idp_entity_id = saml.at("idp_entity_id");
  s.idp_sso_url = saml.at("idp_sso_url");
  s.idp_certificates = saml.at("idp_certificates").get<std::vector<std::string>>();
  s.allow_idp_initiated = saml.at("allow_idp_initiated");
  const Json& oidc = j.at("oidc");
  s.issuer = oidc.at("issuer");
  s.client_id = oidc.at("client_id");
  s.scopes = oidc.at("scopes").get<std::vector<std::string>>();
  const Json& a = j.at("attribute_mapping");
  s.attr_email = a.at("email");
  s.attr_first_name = a.at("first_name");
  s.attr_last_name = a.at("last_name");
  s.attr_role = a.at("role");
  s.attr_groups = a.at("groups");
  for (const auto& [k, v] : j.at("role_mapping").items()) s.role_mapping.emplace_back(k, v);
  if (j.at("default_role").is_string()) s.default_role = j.at("default_role");
  for (const auto& p : j.at("default_projects")) {
    s.default_projects.push_back({p.at("project_id"), p.at("role")});
  }
  s.jit = j.at("jit");
  return s;
}

Result<bool> ApplySsoInput(const Json& body, bool creating, const SsoWorkspaceChecks& checks,
                           SsoConnection& conn, SsoSettings& s, std::string& client_secret) {
  bool changed = false;
  if (creating) {
    auto type = Str(body, "type", "type", 16, true);
    if (!type) return type.error();
    if (*type != "saml" && *type != "oidc" && *type != "oauth") {
      return Bad("type", "type is saml, oidc or oauth.", "invalid_sso_type");
    }
    auto provider = Str(body, "provider", "provider", 32, true);
    if (!provider) return provider.error();
    bool known = *type == "saml"   ? OneOf(*provider, kSamlProviders)
                 : *type == "oidc" ? OneOf(*provider, kOidcProviders)
                                   : OneOf(*provider, kOAuthProviders);
    if (!known) {
      return Bad("provider", "Provider '" + *provider + "' is not offered for " + *type + ".",
                 "invalid_sso_provider");
    }
    conn.type = *type;
    conn.provider = *provider;
    DefaultMapping(conn.type, conn.provider, s);
    changed = true;
  }
  if (body.contains("name") && !body["name"].is_null()) {
    if (!body["name"].is_string()) return Bad("name", "name must be a string.", "invalid_type");
    auto name = validation::SingleLineText(body["name"].get<std::string>(), 1, 100, "invalid_name",
                                           "name", "A name is 1 to 100 characters on one line.");
    if (!name) return name.error();
    conn.name = *name;
  } else if (creating) {
    conn.name = conn.provider + " " +
                (conn.type == "saml"   ? "SAML"
                 : conn.type == "oidc" ? "OIDC"
                                       : "OAuth");
  }
  if (auto it = body.find("domains"); it != body.end()) {
    if (!it->is_array() || it->size() > kMaxSsoDomains) {
      return Bad("domains", "domains is a list of at most 50 domain names.", "invalid_domain");
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < it->size(); ++i) {
      auto d = Domain((*it)[i], "domains[" + std::to_string(i) + "]");
      if (!d) return d.error();
      seen.insert(*d);
    }
    std::vector<std::string> domains(seen.begin(), seen.end());
    if (domains != conn.domains) changed = true;
    conn.domains = std::move(domains);
  }
  // SAML IdP values: metadata XML, or the three fields.
  if (auto it = body.find("saml"); it != body.end() && !it->is_null()) {
    if (conn.type != "saml") return Bad("saml", "saml is for connections of type saml.");
    if (!it->is_object()) return Bad("saml", "saml is an object.", "invalid_type");
    if (Status st = CheckUnknown(*it,
                                 {"idp_entity_id", "idp_sso_url", "idp_certificate",
                                  "idp_metadata_xml", "allow_idp_initiated"},
                                 "saml.");
        !st.ok()) {
      return st.error();
    }
    if (auto x = it->find("idp_metadata_xml"); x != it->end() && !x->is_null()) {
      if (!x->is_string() || x->get_ref<const std::string&>().size() > 256 * 1024) {
        return Bad("saml.idp_metadata_xml", "idp_metadata_xml is the IdP's metadata document.");
      }
      auto md = sso::ParseIdpMetadata(x->get<std::string>());
      if (!md) {
        return Bad(
            "saml.idp_metadata_xml",
            "The metadata could not be used (" + md.error().code + "): " + md.error().message,
            "invalid_metadata");
      }
      s.idp_entity_id = md->entity_id;
      s.idp_sso_url = md->sso_url;
      s.idp_certificates.clear();
      for (const auto& pem : md->certificates) {
        auto c = CanonicalCertificate(pem, "saml.idp_metadata_xml");
        if (!c) return c.error();
        s.idp_certificates.push_back(*c);
      }
    } else {
      auto entity = Str(*it, "idp_entity_id", "saml.idp_entity_id", 1024, creating);
      auto url = Str(*it, "idp_sso_url", "saml.idp_sso_url", 2048, creating);
      if (!entity) return entity.error();
      if (!url) return url.error();
      if (!url->empty() && !sso::IsAllowedEndpoint(*url)) {
        return Bad("saml.idp_sso_url",
                   "The IdP's SSO URL must be https:// (http:// only on loopback).");
      }
      if (!entity->empty()) s.idp_entity_id = *entity;
      if (!url->empty()) s.idp_sso_url = *url;
      if (auto c = it->find("idp_certificate"); c != it->end() && !c->is_null()) {
        if (!c->is_string() || c->get_ref<const std::string&>().size() > 64 * 1024) {
          return Bad("saml.idp_certificate", "idp_certificate is a PEM certificate.",
                     "invalid_certificate");
        }
        auto pem = CanonicalCertificate(c->get<std::string>(), "saml.idp_certificate");
        if (!pem) return pem.error();
        s.idp_certificates = {*pem};
      } else if (creating) {
        return Bad("saml.idp_certificate", "saml.idp_certificate is required.", "missing_field");
      }
    }
    if (auto a = it->find("allow_idp_initiated"); a != it->end()) {
      if (!a->is_boolean())
        return Bad("saml.allow_idp_initiated", "true or false.", "invalid_type");
      s.allow_idp_initiated = a->get<bool>();
    }
    changed = true;
  } else if (creating && conn.type == "saml") {
    return Bad(
        "saml",
        "saml {idp_entity_id, idp_sso_url, idp_certificate} or {idp_metadata_xml} is required.",
        "missing_field");
  }
  if (auto it = body.find("oidc"); it != body.end() && !it->is_null()) {
    if (conn.type == "saml") return Bad("oidc", "oidc is for connections of type oidc or oauth.");
    if (!it->is_object()) return Bad("oidc", "oidc is an object.", "invalid_type");
    if (Status st = CheckUnknown(*it, {"issuer", "client_id", "client_secret", "scopes"}, "oidc.");
        !st.ok()) {
      return st.error();
    }
    const sso::OAuthProviderPreset* preset =
        conn.type == "oauth" ? sso::FindOAuthPreset(conn.provider) : nullptr;
    bool issuer_required = creating && conn.type == "oidc";
    auto issuer = Str(*it, "issuer", "oidc.issuer", 1024, issuer_required);
    auto client_id = Str(*it, "client_id", "oidc.client_id", 512, creating);
    auto secret = Str(*it, "client_secret", "oidc.client_secret", 2048, creating);
    if (!issuer) return issuer.error();
    if (!client_id) return client_id.error();
    if (!secret) return secret.error();
    if (!issuer->empty()) {
      if (!sso::IsAllowedEndpoint(*issuer)) {
        return Bad("oidc.issuer", "The issuer must be https:// (http:// only on loopback).");
      }
      s.issuer = *issuer;
    } else if (creating && preset) {
      s.issuer = std::string(preset->issuer);
    }
    if (!client_id->empty()) s.client_id = *client_id;
    if (!secret->empty()) client_secret = *secret;
    if (auto sc = it->find("scopes"); sc != it->end() && !sc->is_null()) {
      if (!sc->is_array() || sc->size() > 20) {
        return Bad("oidc.scopes", "scopes is a list of at most 20 scope names.");
      }
      s.scopes.clear();
      for (const auto& v : *sc) {
        if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
            v.get_ref<const std::string&>().size() > 100 ||
            v.get_ref<const std::string&>().find_first_of(" \t\r\n\"") != std::string::npos) {
          return Bad("oidc.scopes", "A scope is a word of at most 100 characters.");
        }
        s.scopes.push_back(v);
      }
    }
    if (s.scopes.empty()) {
      s.scopes = preset ? std::vector<std::string>{}
                        : std::vector<std::string>{"openid", "email", "profile"};
      if (preset) {
        std::string all(preset->scopes);
        for (size_t p = 0; p < all.size();) {
          size_t sp = all.find(' ', p);
          if (sp == std::string::npos) sp = all.size();
          s.scopes.push_back(all.substr(p, sp - p));
          p = sp + 1;
        }
      }
    }
    if (conn.type == "oidc" &&
        std::find(s.scopes.begin(), s.scopes.end(), "openid") == s.scopes.end()) {
      s.scopes.insert(s.scopes.begin(), "openid");
    }
    changed = true;
  } else if (creating && conn.type != "saml") {
    return Bad("oidc", "oidc {issuer, client_id, client_secret, scopes?} is required.",
               "missing_field");
  }
  if (auto it = body.find("attribute_mapping"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      return Bad("attribute_mapping", "attribute_mapping is an object.", "invalid_type");
    if (Status st = CheckUnknown(*it, {"email", "first_name", "last_name", "role", "groups"},
                                 "attribute_mapping.");
        !st.ok()) {
      return st.error();
    }
    struct {
      const char* key;
      std::string* out;
    } fields[] = {{"email", &s.attr_email},
                  {"first_name", &s.attr_first_name},
                  {"last_name", &s.attr_last_name},
                  {"role", &s.attr_role},
                  {"groups", &s.attr_groups}};
    for (auto& f : fields) {
      auto v = Str(*it, f.key, std::string("attribute_mapping.") + f.key, 256, false);
      if (!v) return v.error();
      if (it->contains(f.key)) *f.out = *v;
    }
    changed = true;
  }
  if (auto it = body.find("role_mapping"); it != body.end() && !it->is_null()) {
    if (!it->is_object() || it->size() > kMaxSsoRoleMappings) {
      return Bad("role_mapping", "role_mapping maps at most 100 attribute values to role ids.");
    }
    s.role_mapping.clear();
    for (const auto& [value, role] : it->items()) {
      std::string field = "role_mapping." + value;
      if (value.empty() || value.size() > 256 || !validation::IsSingleLine(value)) {
        return Bad("role_mapping", "A mapped value is one line of at most 256 bytes.");
      }
      if (!role.is_string() || !checks.role_ok(role.get<std::string>())) {
        return Bad(field, "Not a role SSO may give (unknown, or the owner's).", "invalid_role");
      }
      s.role_mapping.emplace_back(value, role.get<std::string>());
    }
    changed = true;
  }
  if (auto it = body.find("default_role"); it != body.end()) {
    if (it->is_null()) {
      s.default_role.clear();
    } else if (!it->is_string() || !checks.role_ok(it->get<std::string>())) {
      return Bad("default_role", "Not a role SSO may give (unknown, or the owner's).",
                 "invalid_role");
    } else {
      s.default_role = it->get<std::string>();
    }
    changed = true;
  }
  if (auto it = body.find("default_projects"); it != body.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > kMaxSsoDefaultProjects) {
      return Bad("default_projects",
                 "default_projects is a list of at most 50 {project_id, role}.");
    }
    s.default_projects.clear();
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& p = (*it)[i];
      std::string field = "default_projects[" + std::to_string(i) + "]";
      if (!p.is_object()) return Bad(field, "{project_id, role}", "invalid_type");
      if (Status st = CheckUnknown(p, {"project_id", "role"}, field + "."); !st.ok()) {
        return st.error();
      }
      auto id = Str(p, "project_id", field + ".project_id", 64, true);
      auto role = Str(p, "role", field + ".role", 64, true);
      if (!id) return id.error();
      if (!role) return role.error();
      if (!checks.project_exists(*id)) {
        return Bad(field + ".project_id", "No such project.", "invalid_project");
      }
      if (!checks.role_ok(*role)) {
        return Bad(field + ".role", "Not a role SSO may give.", "invalid_role");
      }
      s.default_projects.push_back({*id, *role});
    }
    changed = true;
  }
  if (auto it = body.find("jit"); it != body.end()) {
    if (!it->is_boolean()) return Bad("jit", "jit is true or false.", "invalid_type");
    if (s.jit != it->get<bool>()) changed = true;
    s.jit = it->get<bool>();
  }
  return changed;
}

}  // namespace gh
