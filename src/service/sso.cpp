#include "service/sso.h"

#include <openssl/evp.h>

#include <algorithm>
#include <regex>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/validation.h"
#include "service/audit.h"
#include "service/http_client.h"
#include "sso/jwt.h"
#include "sso/saml.h"

namespace gh {
namespace {

using Json = nlohmann::json;

constexpr UnixTime kRequestLifetime = 600;           // an authorize → ACS/callback round trip
constexpr int64_t kMaxOutstandingRequests = 10'000;  // per connection
constexpr UnixTime kDiscoveryLifetime = 3600;

Error NotFoundConnection() {
  return Error{
      ErrorKind::kNotFound, "sso_connection_not_found", "No active SSO connection matches.", {}};
}

// A SAMLResponse's InResponseTo, read before verification only to find which request it
// answers; the verifier compares the signed value with that request's id.
std::string PeekInResponseTo(const std::string& base64) {
  if (base64.size() > sso::kMaxSamlResponseBase64) return "";
  std::string clean;
  for (char c : base64) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  }
  if (clean.empty() || clean.size() % 4 != 0) return "";
  std::string xml(clean.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(xml.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return "";
  xml.resize(static_cast<size_t>(n));
  static const std::regex kAttr(R"re(InResponseTo\s*=\s*"([A-Za-z0-9_.\-]{1,128})")re");
  std::smatch m;
  if (std::regex_search(xml, m, kAttr)) return m[1];
  return "";
}

std::vector<std::string> Values(const Json& claims, const std::string& name) {
  std::vector<std::string> out;
  if (name.empty()) return out;
  auto it = claims.find(name);
  if (it == claims.end()) return out;
  if (it->is_string()) out.push_back(*it);
  if (it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) out.push_back(v);
    }
  }
  return out;
}

std::string First(const std::vector<std::string>& v) { return v.empty() ? "" : v.front(); }

// A redirect after login: a path on this origin, or an absolute URL under the public URL.
bool SafeRedirect(const std::string& url, const std::string& base) {
  if (url.empty()) return true;
  if (url.size() > 2048 || validation::HasControlCharacter(url) ||
      url.find('\\') != std::string::npos) {
    return false;
  }
  if (url[0] == '/') return url.size() == 1 || url[1] != '/';
  return url.rfind(base + "/", 0) == 0;
}

}  // namespace

Json SsoAttributesJson(const std::map<std::string, std::vector<std::string>>& attrs) {
  Json out = Json::object();
  for (const auto& [k, v] : attrs) out[k] = v.size() == 1 ? Json(v[0]) : Json(v);
  return out;
}

Sso::Sso(Store& store, const Config& config, gh::Access& access, Accounts& accounts,
         IdentityCache& cache, const Clock& clock)
    : store_(store),
      config_(config),
      access_(access),
      accounts_(accounts),
      cache_(cache),
      clock_(clock),
      per_ip_(config.limits.sso_requests_per_ip_per_minute, 60),
      failures_recorded_(config.limits.sso_failures_recorded_per_connection_per_hour, 3600),
      jwks_([](const std::string& uri) -> Result<std::string> {
        auto answer = Fetch({.url = uri, .max_response_bytes = sso::kMaxJwksBytes});
        if (!answer) return answer.error();
        if (answer->status != 200) {
          return Error{ErrorKind::kForbidden,
                       sso::oidc_reason::kJwksUnavailable,
                       "The JWKS answered " + std::to_string(answer->status) + ".",
                       {}};
        }
        return answer->body;
      }) {}

std::string Sso::EntityId(const std::string& id) const {
  return config_.PublicUrl() + "/v1/sso/saml/" + id + "/metadata";
}
std::string Sso::AcsUrl(const std::string& id) const {
  return config_.PublicUrl() + "/v1/sso/saml/" + id + "/acs";
}
std::string Sso::MetadataUrl(const std::string& id) const { return EntityId(id); }
std::string Sso::RedirectUri(const std::string& id) const {
  return config_.PublicUrl() + "/v1/sso/oidc/" + id + "/callback";
}

std::string Sso::BreakGlassRole() const {
  const Catalogue& c = access_.catalogue();
  return c.owner_role.empty() ? c.creator_role : c.owner_role;
}

SsoWorkspaceChecks Sso::ChecksFor(const std::string& ws) {
  return {[this, ws](const std::string& role) {
            return access_.RoleExists(ws, role) && role != access_.catalogue().owner_role;
          },
          [this, ws](const std::string& project) {
            return IsWellFormedId(project, "prj") && store_.ProjectById(ws, project).has_value();
          }};
}

Result<SsoConnectionView> Sso::Load(const std::string& ws, const std::string& id) {
  if (!IsWellFormedId(id, "sso")) return Error::NotFound("SSO connection");
  auto c = store_.SsoConnectionById(id);
  if (!c || c->workspace_id != ws) return Error::NotFound("SSO connection");
  return SsoConnectionView{*c, SsoSettings::FromJson(c->settings)};
}

std::vector<SsoConnectionView> Sso::List(const std::string& ws) {
  std::vector<SsoConnectionView> out;
  for (auto& c : store_.SsoConnections(ws)) {
    SsoSettings s = SsoSettings::FromJson(c.settings);
    out.push_back({std::move(c), std::move(s)});
  }
  return out;
}

Result<SsoConnectionView> Sso::Get(const std::string& ws, const std::string& id) {
  return Load(ws, id);
}

Result<SsoConnectionView> Sso::Create(const Principal& p, const Membership& caller,
                                      const Json& body) {
  const std::string& ws = caller.workspace_id;
  UnixTime now = clock_.Now();
  SsoConnection conn;
  conn.id = NewId("sso");
  conn.workspace_id = ws;
  conn.created_at = now;
  conn.updated_at = now;
  SsoSettings settings;
  auto applied = ApplySsoInput(body, true, ChecksFor(ws), conn, settings, conn.client_secret);
  if (!applied) return applied.error();
  conn.settings = settings.ToJson().dump();
  return store_.Write([&](WriteTx& tx) -> Result<SsoConnectionView> {
    auto me = access_.Recheck(tx, caller, "sso.configure");
    if (!me) return me.error();
    if (tx.SsoConnections(ws).size() >= kMaxSsoConnectionsPerWorkspace) {
      return Error::Conflict("too_many_sso_connections",
                             "A workspace has at most 20 SSO connections.");
    }
    if (Status st = tx.InsertSsoConnection(conn); !st.ok()) return st.error();
    Json details = {{"type", conn.type}, {"provider", conn.provider}, {"domains", conn.domains}};
    AppendAudit(
        tx, p,
        {ws, "sso.connection_created", "sso_connection", conn.id, conn.name, "", details.dump()},
        now);
    return SsoConnectionView{conn, settings};
  });
}

Result<SsoConnectionView> Sso::Update(const Principal& p, const Membership& caller,
                                      const std::string& id, const Json& body) {
  const std::string& ws = caller.workspace_id;
  auto current = Load(ws, id);
  if (!current) return current.error();
  std::optional<std::string> status;
  if (auto it = body.find("status"); it != body.end()) {
    if (!it->is_string() || (*it != "active" && *it != "inactive")) {
      return Error::Invalid("invalid_status", "status", "status is active or inactive.");
    }
    status = it->get<std::string>();
  }
  Json settings_body = body;
  settings_body.erase("status");
  for (const char* fixed : {"type", "provider"}) {
    if (settings_body.contains(fixed)) {
      return Error::Invalid("immutable_field", fixed,
                            std::string(fixed) + " cannot change; create another connection.");
    }
  }
  UnixTime now = clock_.Now();
  return store_.Write([&](WriteTx& tx) -> Result<SsoConnectionView> {
    auto me = access_.Recheck(tx, caller, "sso.configure");
    if (!me) return me.error();
    auto w = tx.LockWorkspace(ws);
    auto conn = tx.LockSsoConnection(id);
    if (!w || !conn || conn->workspace_id != ws) return Error::NotFound("SSO connection");
    SsoSettings s = SsoSettings::FromJson(conn->settings);
    Json changes = Json::object();
    std::string old_name = conn->name;
    auto applied =
        ApplySsoInput(settings_body, false, ChecksFor(ws), *conn, s, conn->client_secret);
    if (!applied) return applied.error();
    if (conn->name != old_name) changes["name"] = {{"from", old_name}, {"to", conn->name}};
    if (*applied) {
      conn->settings_version += 1;
      conn->settings = s.ToJson().dump();
      changes["settings"] = true;
    }
    if (status && *status != conn->status) {
      if (*status == "active") {
        Json last = conn->last_test.empty() ? Json(nullptr) : Json::parse(conn->last_test);
        bool tested = last.is_object() && last.value("status", "") == "succeeded" &&
                      last.value("settings_version", int64_t{0}) == conn->settings_version;
        if (!tested) {
          return Error::Conflict("sso_untested",
                                 "Run a test login that succeeds with these settings first "
                                 "(POST …/sso/connections/{sso}/test).",
                                 "status");
        }
      } else if (w->sso_enforced) {
        int active = 0;
        for (const auto& c : tx.SsoConnections(ws)) active += c.status == "active" ? 1 : 0;
        if (conn->status == "active" && active <= 1) {
          return Error::Conflict("sso_enforced",
                                 "The workspace enforces SSO through this connection: turn "
                                 "enforcement off first.",
                                 "status");
        }
      }
      changes["status"] = {{"from", conn->status}, {"to", *status}};
      conn->status = *status;
    }
    if (*applied && conn->status == "active") {
      // Changed settings are live at once for an active connection, as in WorkOS: the
      // admin keeps the connection on while editing; the next test shows the effect.
      changes["live"] = true;
    }
    conn->updated_at = now;
    if (Status st = tx.UpdateSsoConnection(*conn); !st.ok()) return st.error();
    if (changes.size() > 0) {
      AppendAudit(tx, p,
                  {ws, "sso.updated", "sso_connection", conn->id, conn->name, "", changes.dump()},
                  now);
    }
    return SsoConnectionView{*conn, s};
  });
}

Status Sso::Delete(const Principal& p, const Membership& caller, const std::string& id) {
  const std::string& ws = caller.workspace_id;
  UnixTime now = clock_.Now();
  return store_.Write([&](WriteTx& tx) -> Status {
    auto me = access_.Recheck(tx, caller, "sso.configure");
    if (!me) return me.error();
    auto w = tx.LockWorkspace(ws);
    auto conn = IsWellFormedId(id, "sso") ? tx.LockSsoConnection(id) : std::nullopt;
    if (!w || !conn || conn->workspace_id != ws) return Error::NotFound("SSO connection");
    if (w->sso_enforced && conn->status == "active") {
      int active = 0;
      for (const auto& c : tx.SsoConnections(ws)) active += c.status == "active" ? 1 : 0;
      if (active <= 1) {
        return Error::Conflict("sso_enforced",
                               "The workspace enforces SSO through this connection: turn "
                               "enforcement off first.");
      }
    }
    tx.DeleteSsoConnection(ws, id);
    Json details = {{"type", conn->type}, {"provider", conn->provider}, {"domains", conn->domains}};
    AppendAudit(
        tx, p, {ws, "sso.connection_deleted", "sso_connection", id, conn->name, "", details.dump()},
        now);
    return {};
  });
}

Result<std::string> Sso::StartTest(const Principal& p, const Membership& caller,
                                   const std::string& id) {
  (void)p;
  auto v = Load(caller.workspace_id, id);
  if (!v) return v.error();
  return StartLogin(v->connection, v->settings, true, "", "", nullptr);
}

Result<std::string> Sso::SpMetadata(const std::string& id) {
  if (!IsWellFormedId(id, "sso")) return Error::NotFound("SSO connection");
  auto c = store_.SsoConnectionById(id);
  if (!c || c->type != "saml") return Error::NotFound("SSO connection");
  return sso::SpMetadataXml(EntityId(id), AcsUrl(id));
}

Status Sso::Limit(const ClientInfo& client, UnixTime now) {
  if (int wait = per_ip_.Acquire(AddressRateKey(client.ip), now); wait > 0) {
    Error e{ErrorKind::kRateLimited,
            "rate_limited",
            "Too many single sign-on requests from your network. Try again later.",
            {}};
    e.retry_after_seconds = wait;
    return e;
  }
  return {};
}

Result<sso::ProviderMetadata> Sso::ProviderOf(const SsoConnection& conn, const SsoSettings& s,
                                              UnixTime now) {
  if (conn.type == "oauth" && s.issuer.empty()) {
    const auto* preset = sso::FindOAuthPreset(conn.provider);
    if (!preset) return Error::NotFound("SSO connection");
    sso::ProviderMetadata m;
    m.authorization_endpoint = preset->authorization_endpoint;
    m.token_endpoint = preset->token_endpoint;
    m.userinfo_endpoint = preset->userinfo_endpoint;
    return m;
  }
  {
    std::lock_guard lock(discovery_mu_);
    auto it = discovery_.find(s.issuer);
    if (it != discovery_.end() && now - it->second.fetched_at < kDiscoveryLifetime) {
      return it->second.metadata;
    }
  }
  std::string url = s.issuer;
  if (!url.empty() && url.back() == '/') url.pop_back();
  url += "/.well-known/openid-configuration";
  auto answer = Fetch({.url = url, .max_response_bytes = 256 * 1024});
  if (!answer) {
    return Error{
        ErrorKind::kUnavailable,
        "sso_provider_unreachable",
        "The OpenID Provider's discovery document could not be read: " + answer.error().message,
        {}};
  }
  if (answer->status != 200) {
    return Error{
        ErrorKind::kUnavailable,
        "sso_provider_unreachable",
        "The OpenID Provider's discovery document answered " + std::to_string(answer->status) + ".",
        {}};
  }
  auto m = sso::ParseDiscovery(answer->body, s.issuer);
  if (!m) {
    return Error{ErrorKind::kUnavailable,
                 "sso_provider_unreachable",
                 "The OpenID Provider's discovery document is unusable (" + m.error().code +
                     "): " + m.error().message,
                 {}};
  }
  std::lock_guard lock(discovery_mu_);
  if (discovery_.size() > 1000) discovery_.clear();
  discovery_[s.issuer] = {*m, now};
  return *m;
}

Result<std::string> Sso::StartLogin(const SsoConnection& conn, const SsoSettings& s, bool test,
                                    const std::string& redirect_url, const std::string& login_hint,
                                    std::string* browser_cookie) {
  UnixTime now = clock_.Now();
  if (store_.CountSsoRequests(conn.id, now) >= kMaxOutstandingRequests) {
    Error e{ErrorKind::kRateLimited,
            "rate_limited",
            "Too many sign-ins are on their way through this connection. Try again shortly.",
            {}};
    e.retry_after_seconds = 60;
    return e;
  }
  SsoRequest r;
  r.connection_id = conn.id;
  r.redirect_url = redirect_url;
  r.test = test;
  r.settings_version = conn.settings_version;
  r.created_at = now;
  r.expires_at = now + kRequestLifetime;
  std::string url;
  if (conn.type == "saml") {
    r.id = sso::NewSamlRequestId();
    auto req = sso::BuildAuthnRequest({.request_id = r.id,
                                       .sp_entity_id = EntityId(conn.id),
                                       .acs_url = AcsUrl(conn.id),
                                       .idp_sso_url = s.idp_sso_url,
                                       .relay_state = "",
                                       .now_unix = now});
    url = req.redirect_url;
    // The IdP posts the answer cross-site, which carries only a SameSite=None cookie, and
    // browsers keep those only when Secure: over https the answer is bound to this browser
    // as the OIDC callback is; over plain http (local set-ups) InResponseTo alone binds it.
    if (browser_cookie && !test && config_.PublicUrl().rfind("https://", 0) == 0) {
      *browser_cookie = crypto::NewToken();
      r.browser_hash = crypto::Sha256Hex(*browser_cookie);
    }
  } else {
    auto provider = ProviderOf(conn, s, now);
    if (!provider) return provider.error();
    std::string state = sso::NewState();
    sso::Pkce pkce = sso::NewPkce();
    r.id = crypto::Sha256Hex(state);
    r.code_verifier = pkce.verifier;
    bool id_token = conn.type == "oidc" || !s.issuer.empty();
    if (id_token) r.nonce = sso::NewNonce();
    if (browser_cookie && !test) {
      *browser_cookie = crypto::NewToken();
      r.browser_hash = crypto::Sha256Hex(*browser_cookie);
    }
    url = sso::BuildAuthorizationUrl({.authorization_endpoint = provider->authorization_endpoint,
                                      .client_id = s.client_id,
                                      .redirect_uri = RedirectUri(conn.id),
                                      .scopes = s.scopes,
                                      .state = state,
                                      .nonce = r.nonce,
                                      .code_challenge = pkce.challenge,
                                      .login_hint = login_hint});
  }
  store_.Write([&](WriteTx& tx) { tx.InsertSsoRequest(r); });
  return url;
}

Result<SsoStart> Sso::Authorize(const std::string& connection, const std::string& email,
                                const std::string& workspace, const std::string& redirect_url,
                                const ClientInfo& client) {
  UnixTime now = clock_.Now();
  if (Status st = Limit(client, now); !st.ok()) return st.error();
  int given = !connection.empty() + !email.empty() + !workspace.empty();
  if (given != 1) {
    return Error::Invalid("missing_field", "connection",
                          "Name the connection (connection=sso_…), an email (email=…) or a "
                          "workspace (workspace=ws_…).");
  }
  if (!SafeRedirect(redirect_url, config_.PublicUrl())) {
    return Error::Invalid(
        "invalid_redirect_url", "redirect_url",
        "redirect_url must be a path on this server or a URL under " + config_.PublicUrl() + ".");
  }
  std::optional<SsoConnection> conn;
  std::string hint;
  if (!connection.empty()) {
    if (IsWellFormedId(connection, "sso")) conn = store_.SsoConnectionById(connection);
  } else if (!email.empty()) {
    auto normalized = validation::NormalizeEmail(email);
    if (!normalized) return normalized.error();
    hint = *normalized;
    conn = store_.SsoConnectionByDomain(EmailDomain(*normalized));
  } else if (IsWellFormedId(workspace, "ws")) {
    for (auto& c : store_.SsoConnections(workspace)) {
      if (c.status == "active") {
        conn = std::move(c);
        break;
      }
    }
  }
  if (!conn || conn->status != "active") return NotFoundConnection();
  SsoSettings s = SsoSettings::FromJson(conn->settings);
  SsoStart start;
  auto url = StartLogin(*conn, s, false, redirect_url, hint, &start.browser_cookie);
  if (!url) return url.error();
  start.url = *url;
  return start;
}

Result<SsoOutcome> Sso::SamlAcs(const std::string& id, const std::string& saml_response,
                                const std::string& browser_cookie, const ClientInfo& client) {
  UnixTime now = clock_.Now();
  if (Status st = Limit(client, now); !st.ok()) return st.error();
  if (!IsWellFormedId(id, "sso")) return NotFoundConnection();
  auto conn = store_.SsoConnectionById(id);
  if (!conn || conn->type != "saml") return NotFoundConnection();
  SsoSettings s = SsoSettings::FromJson(conn->settings);
  std::string request_id = PeekInResponseTo(saml_response);
  if (!request_id.empty()) {
    auto request = store_.SsoRequestById(request_id);
    if (request && request->connection_id == id && !request->test &&
        !request->browser_hash.empty() &&
        !crypto::ConstantTimeEquals(crypto::Sha256Hex(browser_cookie), request->browser_hash)) {
      return Finish(id, request_id,
                    Error{ErrorKind::kForbidden,
                          "browser_mismatch",
                          "This sign-in was started in another browser.",
                          {}},
                    client);
    }
  }
  sso::SamlExpectations expect{.idp_certificates_pem = s.idp_certificates,
                               .idp_entity_id = s.idp_entity_id,
                               .sp_entity_id = EntityId(id),
                               .acs_url = AcsUrl(id),
                               .request_id = request_id,
                               .allow_idp_initiated = s.allow_idp_initiated};
  auto verified = sso::VerifySamlResponse(saml_response, expect, now);
  if (!verified) return Finish(id, request_id, verified.error(), client);
  SsoProfile profile;
  const auto& attrs = verified->attributes;
  auto values = [&](const std::string& name) -> std::vector<std::string> {
    auto it = attrs.find(name);
    return it == attrs.end() ? std::vector<std::string>{} : it->second;
  };
  profile.subject = verified->name_id;
  profile.email = First(values(s.attr_email));
  if (profile.email.empty()) profile.email = verified->name_id;
  profile.first_name = First(values(s.attr_first_name));
  profile.last_name = First(values(s.attr_last_name));
  profile.role_values = values(s.attr_role);
  profile.groups = values(s.attr_groups);
  profile.attributes = SsoAttributesJson(attrs);
  profile.assertion_id = verified->assertion_id;
  profile.assertion_expires_at = verified->not_on_or_after_unix + sso::kMaxClockSkewSeconds;
  return Finish(id, verified->in_response_to, std::move(profile), client);
}

Result<SsoProfile> Sso::OidcProfile(const SsoConnection& conn, const SsoSettings& s,
                                    const SsoRequest& request, const std::string& code,
                                    UnixTime now) {
  auto refuse = [](const std::string& code_, const std::string& message) -> Error {
    return Error{ErrorKind::kForbidden, code_, message, {}};
  };
  auto provider = ProviderOf(conn, s, now);
  if (!provider) return refuse("provider_unreachable", provider.error().message);
  if (code.empty() || code.size() > 2048) return refuse("code_missing", "No authorization code.");
  HttpCall token{.method = "POST", .url = provider->token_endpoint};
  token.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}};
  token.body = FormEncode({{"grant_type", "authorization_code"},
                           {"code", code},
                           {"redirect_uri", RedirectUri(conn.id)},
                           {"client_id", s.client_id},
                           {"client_secret", conn.client_secret},
                           {"code_verifier", request.code_verifier}});
  auto answer = Fetch(token);
  if (!answer) return refuse("token_exchange_failed", answer.error().message);
  auto body = sso::ParseStrictJson(answer->body);
  if (answer->status != 200 || !body || !body->is_object()) {
    std::string why = body && body->is_object() ? body->value("error", "") : "";
    return refuse("token_exchange_failed", "The token endpoint answered " +
                                               std::to_string(answer->status) +
                                               (why.empty() ? "" : " (" + why + ")") + ".");
  }
  std::string access_token = body->value("access_token", "");
  Json claims = Json::object();
  SsoProfile profile;
  bool id_token = !request.nonce.empty();
  if (id_token) {
    std::string token_text = body->value("id_token", "");
    if (token_text.empty()) return refuse("id_token_missing", "The token answer has no id_token.");
    auto verified = jwks_.VerifyIdToken(
        s.issuer, provider->jwks_uri, token_text,
        {.issuer = s.issuer, .client_id = s.client_id, .nonce = request.nonce}, now);
    if (!verified) return refuse(verified.error().code, verified.error().message);
    claims = verified->raw;
    profile.subject = verified->subject;
    if (verified->email_verified && !*verified->email_verified) claims.erase("email");
  }
  // Name and email from userinfo when the ID token lacks them (and always for OAuth).
  bool need_userinfo = !claims.contains(s.attr_email) || !claims.contains(s.attr_first_name);
  if (need_userinfo && !provider->userinfo_endpoint.empty() && !access_token.empty()) {
    HttpCall info{.url = provider->userinfo_endpoint};
    info.headers = {{"Authorization", "Bearer " + access_token}, {"Accept", "application/json"}};
    auto ui = Fetch(info);
    if (ui && ui->status == 200) {
      auto j = sso::ParseStrictJson(ui->body);
      // OIDC Core 5.3.2: a userinfo answer about someone else is ignored.
      if (j && j->is_object() && (!id_token || j->value("sub", "") == profile.subject)) {
        if (j->contains("email_verified") && (*j)["email_verified"] == false) j->erase("email");
        for (const auto& [k, v] : j->items()) {
          if (!claims.contains(k)) claims[k] = v;
        }
        if (!id_token && j->contains("id")) profile.subject = j->at("id").dump();
      }
    }
  }
  if (conn.provider == "github" && !id_token) {
    const auto* preset = sso::FindOAuthPreset("github");
    HttpCall emails{.url = std::string(preset->emails_endpoint)};
    emails.headers = {{"Authorization", "Bearer " + access_token},
                      {"Accept", "application/vnd.github+json"}};
    auto e = Fetch(emails);
    if (!e || e->status != 200)
      return refuse("oauth_no_verified_email", "GitHub's email list is unavailable.");
    auto primary = sso::GitHubVerifiedPrimaryEmail(e->body);
    if (!primary) return refuse(primary.error().code, primary.error().message);
    claims["email"] = *primary;
    if (!claims.contains("given_name") && claims.contains("name"))
      claims["given_name"] = claims["name"];
  }
  profile.email = First(Values(claims, s.attr_email));
  profile.first_name = First(Values(claims, s.attr_first_name));
  profile.last_name = First(Values(claims, s.attr_last_name));
  if (profile.first_name.empty()) profile.first_name = First(Values(claims, "name"));
  profile.role_values = Values(claims, s.attr_role);
  profile.groups = Values(claims, s.attr_groups);
  for (const char* k : {"email", "name", "given_name", "family_name", "groups", "role"}) {
    if (claims.contains(k)) profile.attributes[k] = claims[k];
  }
  if (!s.attr_role.empty() && claims.contains(s.attr_role)) {
    profile.attributes[s.attr_role] = claims[s.attr_role];
  }
  if (!s.attr_groups.empty() && claims.contains(s.attr_groups)) {
    profile.attributes[s.attr_groups] = claims[s.attr_groups];
  }
  return profile;
}

Result<SsoOutcome> Sso::OidcCallback(const std::string& id, const std::string& code,
                                     const std::string& state, const std::string& error,
                                     const std::string& browser_cookie, const ClientInfo& client) {
  UnixTime now = clock_.Now();
  if (Status st = Limit(client, now); !st.ok()) return st.error();
  if (!IsWellFormedId(id, "sso")) return NotFoundConnection();
  auto conn = store_.SsoConnectionById(id);
  if (!conn || conn->type == "saml") return NotFoundConnection();
  std::string request_id = state.empty() || state.size() > 256 ? "" : crypto::Sha256Hex(state);
  auto request = request_id.empty() ? std::nullopt : store_.SsoRequestById(request_id);
  auto fail = [&](const char* reason, const std::string& detail) {
    return Finish(id, request_id, Error{ErrorKind::kForbidden, reason, detail, {}}, client);
  };
  if (!request || request->connection_id != id) {
    return fail("state", "The state matches no sign-in on its way.");
  }
  if (!request->test && !request->browser_hash.empty() &&
      !crypto::ConstantTimeEquals(crypto::Sha256Hex(browser_cookie), request->browser_hash)) {
    return fail("browser_mismatch", "This sign-in was started in another browser.");
  }
  if (!error.empty()) {
    return fail("idp_error", "The provider answered error=" + error.substr(0, 100) + ".");
  }
  if (request->used_at || request->expires_at <= now) {
    return fail("state", "This sign-in was used already or has expired.");
  }
  SsoSettings s = SsoSettings::FromJson(conn->settings);
  return Finish(id, request_id, OidcProfile(*conn, s, *request, code, now), client);
}

std::string Sso::RoleFor(const std::string& ws, const SsoSettings& s, const SsoProfile& profile,
                         bool* mapped) {
  *mapped = false;
  std::string best;
  size_t best_count = 0;
  auto consider = [&](const std::string& value) {
    for (const auto& [from, role] : s.role_mapping) {
      if (from != value || !access_.RoleExists(ws, role)) continue;
      size_t n = access_.PermissionsOf(ws, role).count();
      if (!*mapped || n > best_count) {
        best = role;
        best_count = n;
        *mapped = true;
      }
    }
  };
  for (const auto& v : profile.role_values) consider(v);
  for (const auto& g : profile.groups) consider(g);
  if (*mapped) return best;
  if (!s.default_role.empty() && access_.RoleExists(ws, s.default_role)) return s.default_role;
  // The lowest built-in role: the one with the fewest permissions (never the owner's).
  const Catalogue& c = access_.catalogue();
  std::string lowest;
  size_t fewest = SIZE_MAX;
  for (const auto& r : c.roles) {
    if (r.id == c.owner_role || !r.invitable) continue;
    if (r.permissions.count() < fewest) {
      fewest = r.permissions.count();
      lowest = r.id;
    }
  }
  return lowest.empty() ? c.default_invite_role : lowest;
}

Result<SsoOutcome> Sso::Finish(const std::string& connection_id, const std::string& request_id,
                               Result<SsoProfile> profile, const ClientInfo& client) {
  UnixTime now = clock_.Now();
  SsoOutcome out;
  out.connection_id = connection_id;
  auto result = store_.Write([&](WriteTx& tx) -> Result<SsoOutcome> {
    out = SsoOutcome{};
    out.connection_id = connection_id;
    // Locks in the store's order: the workspace first, then what belongs to it.
    auto peek = tx.SsoConnectionById(connection_id);
    if (!peek) return NotFoundConnection();
    auto w = tx.LockWorkspace(peek->workspace_id);
    auto conn = tx.LockSsoConnection(connection_id);
    if (!w || !conn) return NotFoundConnection();
    const std::string ws = conn->workspace_id;
    out.workspace_id = ws;
    SsoSettings s = SsoSettings::FromJson(conn->settings);
    std::string reason, detail;
    std::optional<SsoRequest> request;
    if (!request_id.empty()) request = tx.LockSsoRequest(request_id);
    if (request && request->connection_id != connection_id) request.reset();
    if (request) {
      out.test = request->test;
      out.redirect_url = request->redirect_url;
    }
    if (!profile) {
      reason = profile.error().code;
      detail = profile.error().message;
    } else if (!request_id.empty() && !request) {
      reason = conn->type == "saml" ? "in_response_to" : "state";
      detail = "The answer matches no sign-in on its way.";
    } else if (request && (request->used_at || request->expires_at <= now)) {
      reason = conn->type == "saml" ? "in_response_to" : "state";
      detail = "This sign-in was used already or has expired.";
    }
    if (request && !request->used_at) tx.UseSsoRequest(request->id, now);
    SsoProfile p = profile ? *profile : SsoProfile{};
    std::string email;
    if (reason.empty() && request && request->settings_version != conn->settings_version) {
      reason = "settings_changed";
      detail = "The connection's settings changed during this sign-in; start again.";
    }
    if (reason.empty() && !out.test && conn->status != "active") {
      reason = "connection_inactive";
      detail = "This connection is not active.";
    }
    if (reason.empty() && !p.assertion_id.empty() &&
        !tx.RememberSsoAssertion(connection_id, p.assertion_id, p.assertion_expires_at, now)) {
      reason = "replay";
      detail = "This assertion was used already.";
    }
    if (reason.empty()) {
      auto e = validation::NormalizeEmail(p.email);
      if (!e) {
        reason = "email_missing";
        detail = "The answer carries no usable email address (attribute '" + s.attr_email + "').";
      } else {
        email = *e;
        if (!conn->domains.empty() && std::find(conn->domains.begin(), conn->domains.end(),
                                                EmailDomain(email)) == conn->domains.end()) {
          reason = "email_domain";
          detail = "The email's domain is not one of this connection's domains.";
        }
      }
    }
    Principal system{};
    system.client = client;
    if (out.test) {
      Json last = {{"status", reason.empty() ? "succeeded" : "failed"},
                   {"at", FormatRfc3339(now)},
                   {"settings_version", conn->settings_version}};
      if (!reason.empty()) {
        last["code"] = reason;
        last["detail"] = detail;
      }
      if (!email.empty()) last["email"] = email;
      if (profile) last["attributes"] = p.attributes;
      conn->last_test = last.dump();
      conn->updated_at = now;
      if (Status st = tx.UpdateSsoConnection(*conn); !st.ok()) return st.error();
      Json details = {{"status", last["status"]},
                      {"reason", reason.empty() ? Json(nullptr) : Json(reason)}};
      AppendAudit(tx, system,
                  {ws, "sso.tested", "sso_connection", conn->id, conn->name, "", details.dump()},
                  now);
      out.failed = !reason.empty();
      out.reason = reason;
      out.detail = detail;
      return out;
    }
    auto fail = [&]() -> Result<SsoOutcome> {
      out.failed = true;
      out.reason = reason;
      out.detail = detail;
      if (failures_recorded_.Acquire(connection_id, now) == 0) {
        Json details = {{"reason", reason}, {"connection_id", connection_id}};
        if (!email.empty()) details["email"] = email;
        AppendAudit(
            tx, system,
            {ws, "sso.login_failed", "sso_connection", conn->id, conn->name, "", details.dump()},
            now);
      }
      return out;
    };
    if (!reason.empty()) return fail();
    // Sign in: find or provision the person, under the workspace's lock (taken above).
    auto user = tx.UserByEmail(email);
    bool new_user = !user;
    if (user && !user->email_verified_at) {
      reason = "email_not_verified";
      detail =
          "An account with this email exists but has not verified it; it is never linked "
          "to an SSO identity.";
      return fail();
    }
    auto member = user ? tx.MembershipOf(ws, user->id) : std::nullopt;
    if (member && member->deactivated_at) {
      reason = "member_deactivated";
      detail = "The workspace's directory deactivated this member.";
      return fail();
    }
    if (member && member->suspended_at) {
      reason = "member_suspended";
      detail = "An administrator of the workspace suspended this member.";
      return fail();
    }
    if (!member && !s.jit) {
      reason = "jit_disabled";
      detail = "This person is not a member, and the connection does not provision new ones.";
      return fail();
    }
    User u;
    if (new_user) {
      u.id = NewId("usr");
      u.email = email;
      std::string full = validation::Trim(p.first_name + " " + p.last_name);
      auto name = validation::PersonName(full);
      u.name = name ? *name : email.substr(0, email.find('@'));
      u.created_at = now;
      u.updated_at = now;
      u.last_login_at = now;
      u.email_verified_at = now;  // the IdP of a domain the workspace claimed vouches for it
    } else {
      u = *user;
    }
    bool mapped = false;
    std::string role = RoleFor(ws, s, p, &mapped);
    if (!member) {
      if (const Plan* plan = config_.FindPlan(w->plan);
          plan && tx.MemberCount(ws) >= plan->member_limit) {
        reason = "member_limit_reached";
        detail = "The workspace has no free seat.";
        return fail();
      }
    }
    NewSession session = accounts_.MakeSession(u, client, now);
    session.session.method = "sso";
    session.session.sso_connection_id = conn->id;
    session.session.scope_workspace_id = ws;
    if (Status st = accounts_.RecordSession(
            tx, session, client, now, new_user ? "user.signed_up" : "session.created", new_user);
        !st.ok()) {
      reason = "email_taken";
      detail = "An account with this email was created meanwhile; sign in again.";
      return fail();
    }
    Principal actor{session.user, session.session.id, client};
    actor.sso_connection_id = conn->id;
    actor.scope_workspace_id = ws;
    bool projects_changed = false;
    if (!member) {
      Membership m{NewId("mem"), ws, u.id, role, now};
      tx.InsertMembership(m);
      Json joined = {{"via", "sso"},
                     {"connection_id", conn->id},
                     {"role", role},
                     {"role_name", access_.RoleName(ws, role)}};
      AppendAudit(tx, actor,
                  {ws, "member.joined", "user", u.id, session.user.name, "", joined.dump()}, now);
      for (const auto& dp : s.default_projects) {
        auto prj = tx.ProjectById(ws, dp.project_id);
        if (!prj || !access_.RoleExists(ws, dp.role)) continue;
        tx.PutProjectMember({prj->id, ws, u.id, dp.role, now});
        projects_changed = true;
        Json added = {{"role", dp.role},
                      {"role_name", access_.RoleName(ws, dp.role)},
                      {"from", nullptr},
                      {"project_name", prj->name},
                      {"via", "sso"}};
        AppendAudit(
            tx, actor,
            {ws, "project.member_added", "user", u.id, session.user.name, prj->id, added.dump()},
            now);
      }
    } else if (mapped && !member->directory_managed && member->role != role &&
               member->role != BreakGlassRole() &&
               member->role != access_.catalogue().owner_role) {
      const Catalogue& c = access_.catalogue();
      bool last_manager = c.owner_role.empty() && member->role == c.creator_role &&
                          tx.CountActiveMembersWithRole(ws, c.creator_role) -
                                  (member->status() == "active" ? 1 : 0) <=
                              0;
      if (!last_manager) {
        tx.UpdateMemberRole(ws, u.id, role);
        Json changed = {{"from", member->role},
                        {"to", role},
                        {"from_name", access_.RoleName(ws, member->role)},
                        {"to_name", access_.RoleName(ws, role)},
                        {"via", "sso"}};
        AppendAudit(
            tx, actor,
            {ws, "member.role_changed", "user", u.id, session.user.name, "", changed.dump()}, now);
      }
    }
    Json login = {{"connection_id", conn->id},
                  {"session_id", session.session.id},
                  {"new_user", new_user},
                  {"provider", conn->provider},
                  {"type", conn->type}};
    AppendAudit(tx, actor,
                {ws, "sso.login", "sso_connection", conn->id, conn->name, "", login.dump()}, now);
    tx.AfterCommit([this, ws, projects_changed, uid = u.id] {
      cache_.ForgetMemberships();
      cache_.ForgetUser(uid);
      if (projects_changed) access_.ForgetProjects(ws);
    });
    out.session = std::move(session);
    return out;
  });
  return result;
}

}  // namespace gh
