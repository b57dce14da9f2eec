#include "service/directory.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/time.h"
#include "core/validation.h"
#include "scim/error.h"
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/project.h"
#include "scim/schema.h"
#include "service/account_tokens.h"
#include "service/audit.h"

namespace gh {

using Json = nlohmann::json;

namespace {

constexpr UnixTime kWelcomeLinkSeconds = 7 * 24 * 3600;
constexpr UnixTime kTouchEverySeconds = 60;

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string ETagOf(int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

// The SCIM type an Error of the SCIM library (or of the store) stands for.
ScimAnswer FromError(const Error& e) {
  int status = 400;
  switch (e.kind) {
    case ErrorKind::kNotFound: status = 404; break;
    case ErrorKind::kConflict: status = e.code == "precondition_failed" ? 412 : 409; break;
    case ErrorKind::kForbidden: status = 403; break;
    case ErrorKind::kPaymentRequired: status = 402; break;
    case ErrorKind::kTooLarge: status = 413; break;
    case ErrorKind::kRateLimited: status = 429; break;
    case ErrorKind::kInternal: status = 500; break;
    default: status = 400;
  }
  static const std::set<std::string, std::less<>> kTypes = {
      "invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax",
      "invalidPath",   "noTarget", "invalidValue", "invalidVers", "sensitive"};
  std::string type = kTypes.count(e.code) ? e.code : "";
  if (e.code == "scim_user_name_taken" || e.code == "scim_group_name_taken") type = "uniqueness";
  return ScimError(status, type, e.message);
}

Error ScimInvalid(std::string type, std::string message) {
  return Error{ErrorKind::kBadRequest, std::move(type), std::move(message), {}};
}

// A member's record, as the SCIM resource carries it: what the directory sent, minus what the
// server owns (id, meta, groups) and what it never keeps (password).
Json Storable(Json resource) {
  if (!resource.is_object()) return Json::object();
  for (const char* k : {"id", "meta", "groups", "password", "members"}) resource.erase(k);
  return resource;
}

std::string TextOf(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The email a SCIM user names: userName when it is one, else the primary (or first) email.
std::optional<std::string> EmailOf(const Json& resource) {
  if (auto e = validation::NormalizeEmail(TextOf(resource, "userName"))) return *e;
  auto it = resource.find("emails");
  if (it == resource.end() || !it->is_array()) return std::nullopt;
  std::optional<std::string> first;
  for (const auto& e : *it) {
    if (!e.is_object()) continue;
    auto v = validation::NormalizeEmail(TextOf(e, "value"));
    if (!v) continue;
    auto primary = e.find("primary");
    if (primary != e.end() && scim::CoerceBool(*primary).value_or(false)) return *v;
    if (!first) first = *v;
  }
  return first;
}

std::string PersonNameOf(const Json& resource, const std::string& email) {
  std::string full;
  if (auto n = resource.find("name"); n != resource.end() && n->is_object()) {
    full = TextOf(*n, "formatted");
    if (full.empty()) full = validation::Trim(TextOf(*n, "givenName") + " " + TextOf(*n, "familyName"));
  }
  if (full.empty()) full = TextOf(resource, "displayName");
  if (auto name = validation::PersonName(full)) return *name;
  return email.substr(0, email.find('@'));
}

}  // namespace

ScimAnswer ScimError(int status, std::string_view scim_type, std::string_view detail) {
  return ScimAnswer{status, scim::ErrorBody(status, scim_type, detail), "", ""};
}

// The parts of a change shared by the routes: the transaction's context and its effects.
struct Directory::Impl {
  Directory& d;
  WriteTx& tx;
  const ScimCaller& caller;
  Principal actor;
  UnixTime now;
  std::vector<ScimGroupMapping> mappings;
  bool projects_changed = false;
  std::vector<ApiKey> keys_changed;
  std::set<std::string> users_changed;
  // The workspace's project roles by user, read once per change (a 10,000-member PATCH
  // re-evaluates 10,000 people under the workspace lock).
  std::optional<std::unordered_map<std::string, std::unordered_map<std::string, std::string>>>
      project_roles;

  Impl(Directory& dir, WriteTx& t, const ScimCaller& c, UnixTime n)
      : d(dir), tx(t), caller(c), now(n) {
    actor.client = c.client;
    actor.user.name = "Directory sync (" + c.token_name + ")";
    mappings = ParseMappings(tx.ScimSettingsOf(c.workspace_id));
  }

  static std::vector<ScimGroupMapping> ParseMappings(const std::optional<ScimSettings>& s) {
    std::vector<ScimGroupMapping> out;
    if (!s) return out;
    Json j = Json::parse(s->group_mappings, nullptr, false);
    if (!j.is_array()) return out;
    for (const auto& m : j) {
      ScimGroupMapping g{TextOf(m, "group"), TextOf(m, "role"), {}};
      if (auto p = m.find("projects"); p != m.end() && p->is_array()) {
        for (const auto& x : *p) g.projects.push_back({TextOf(x, "project_id"), TextOf(x, "role")});
      }
      out.push_back(std::move(g));
    }
    return out;
  }

  const std::string& ws() const { return caller.workspace_id; }

  void Audit(const std::string& action, const std::string& target_type,
             const std::string& target_id, const std::string& target_name, Json details) {
    details["token_id"] = caller.token_id;
    AppendAudit(tx, actor,
                {ws(), action, target_type, target_id, target_name, "", details.dump()}, now);
  }

  // The least privileged built-in role a person can be given: the directory's default.
  std::string DefaultRole() {
    const Catalogue& c = d.access_.catalogue();
    std::string best;
    size_t fewest = SIZE_MAX;
    for (const auto& r : c.roles) {
      if (!r.invitable || r.id == c.owner_role) continue;
      size_t n = d.access_.PermissionsOf(ws(), r.id).count();
      if (n < fewest) {
        fewest = n;
        best = r.id;
      }
    }
    return best.empty() ? c.default_invite_role : best;
  }

  // The role the user's groups give (the one granting most), and the mappings that matched.
  std::string RoleFromGroups(const std::string& user_id,
                             std::vector<const ScimGroupMapping*>* matched) {
    std::string role;
    size_t strongest = 0;
    for (const auto& g : tx.ScimGroupsOfUser(ws(), user_id)) {
      std::string key = Lower(g.display_name);
      for (const auto& m : mappings) {
        if (Lower(m.group) != key || !d.access_.RoleExists(ws(), m.role)) continue;
        if (matched) matched->push_back(&m);
        size_t n = d.access_.PermissionsOf(ws(), m.role).count();
        if (role.empty() || n > strongest) {
          role = m.role;
          strongest = n;
        }
      }
    }
    return role.empty() ? DefaultRole() : role;
  }

  // Re-evaluates a directory member's role (and project grants) from their groups. Roles are
  // the directory's only once the workspace maps at least one group; the owner and the last
  // manager of the admin-member preset are never moved.
  void SyncRole(const std::string& user_id) {
    if (mappings.empty()) return;
    auto member = tx.MemberOf(ws(), user_id);
    if (!member || !member->membership.directory_managed) return;
    std::vector<const ScimGroupMapping*> matched;
    std::string role = RoleFromGroups(user_id, &matched);
    const Catalogue& c = d.access_.catalogue();
    const std::string& current = member->membership.role;
    bool protected_role = (!c.owner_role.empty() && current == c.owner_role) ||
                          (c.owner_role.empty() && current == c.creator_role &&
                           tx.CountActiveMembersWithRole(ws(), c.creator_role) -
                                   (member->membership.status() == "active" ? 1 : 0) <=
                               0);
    if (role != current && !protected_role) {
      tx.UpdateMemberRole(ws(), user_id, role);
      Json changed = {{"from", current},
                      {"to", role},
                      {"from_name", d.access_.RoleName(ws(), current)},
                      {"to_name", d.access_.RoleName(ws(), role)},
                      {"via", "scim"}};
      AppendAudit(tx, actor,
                  {ws(), "member.role_changed", "user", user_id, member->user.name, "",
                   changed.dump()},
                  now);
      users_changed.insert(user_id);
    }
    GrantProjects(user_id, member->user.name, matched);
  }

  void GrantProjects(const std::string& user_id, const std::string& name,
                     const std::vector<const ScimGroupMapping*>& matched) {
    if (matched.empty()) return;
    if (!project_roles) {
      project_roles.emplace();
      for (const auto& pm : tx.ProjectMembers(ws())) (*project_roles)[pm.user_id][pm.project_id] = pm.role;
    }
    auto& have = (*project_roles)[user_id];
    for (const auto* m : matched) {
      for (const auto& g : m->projects) {
        if (have.count(g.project_id)) continue;  // a role given by hand stays as it is
        auto prj = tx.ProjectById(ws(), g.project_id);
        if (!prj || !d.access_.RoleExists(ws(), g.role)) continue;
        tx.PutProjectMember({prj->id, ws(), user_id, g.role, now});
        have[g.project_id] = g.role;
        projects_changed = true;
        Json added = {{"role", g.role},
                      {"role_name", d.access_.RoleName(ws(), g.role)},
                      {"from", nullptr},
                      {"project_name", prj->name},
                      {"via", "scim"}};
        AppendAudit(tx, actor,
                    {ws(), "project.member_added", "user", user_id, name, prj->id, added.dump()},
                    now);
      }
    }
  }

  // Deactivates or reactivates a membership, with its keys and SSO sessions.
  Status SetActive(const Member& member, bool active) {
    const std::string& user_id = member.user.id;
    bool is_active = !member.membership.deactivated_at;
    if (active == is_active) return {};
    const Catalogue& c = d.access_.catalogue();
    if (!active) {
      if (!c.owner_role.empty() && member.membership.role == c.owner_role) {
        return ScimInvalid("mutability",
                           "The workspace's owner cannot be deactivated by the directory; "
                           "transfer ownership first.");
      }
      if (c.owner_role.empty() && member.membership.role == c.creator_role &&
          tx.CountActiveMembersWithRole(ws(), c.creator_role) -
                  (member.membership.status() == "active" ? 1 : 0) <=
              0) {
        return ScimInvalid("mutability",
                           "The workspace's last administrator cannot be deactivated.");
      }
    }
    tx.SetMembershipState(ws(), user_id, active ? std::nullopt : std::optional<UnixTime>(now),
                          true);
    Membership after = member.membership;
    after.deactivated_at = active ? std::nullopt : std::optional<UnixTime>(now);
    // Reactivated while suspended by an admin: the keys stay held, as suspended.
    auto keys = tx.HoldKeysOfOwner(ws(), user_id, after.KeyHold(), now);
    int sessions = 0;
    if (!active) {
      for (const auto& s : tx.LiveSessionsOfUser(user_id, now)) {
        if (s.scope_workspace_id == ws() && tx.RevokeSession(user_id, s.id, now)) ++sessions;
      }
    }
    Json details = {{"email", member.user.email}, {"keys", keys.size()}};
    if (!active) details["sessions_ended"] = sessions;
    Audit(active ? "directory.user_reactivated" : "directory.user_deactivated", "user", user_id,
          member.user.name, details);
    keys_changed.insert(keys_changed.end(), keys.begin(), keys.end());
    users_changed.insert(user_id);
    return {};
  }

  // Once the transaction commits: the index, the caches.
  void Finish() {
    d.keys_.PutAfterCommit(tx, std::move(keys_changed));
    tx.AfterCommit([&dir = d, ws = ws(), users = users_changed, projects = projects_changed] {
      dir.cache_.ForgetMemberships();
      for (const auto& u : users) dir.cache_.ForgetUser(u);
      if (projects) dir.access_.ForgetProjects(ws);
    });
  }
};

Directory::Directory(Store& store, const Config& config, Access& access, Team& team,
                     KeyIndexSync& keys, IdentityCache& cache, MailOutbox& mail,
                     const Clock& clock)
    : store_(store),
      config_(config),
      access_(access),
      team_(team),
      keys_(keys),
      cache_(cache),
      mail_(mail),
      clock_(clock),
      auth_failures_(config.limits.scim_auth_failures_per_ip_per_minute, 60),
      requests_(config.limits.scim_requests_per_workspace_per_minute, 60) {}

std::string Directory::BaseUrl(const std::string& ws) const {
  return config_.PublicUrl() + "/scim/v2/" + ws;
}

// ---- Settings -------------------------------------------------------------------------------

Result<ScimTokenIssued> Directory::CreateToken(const Principal& p, const Membership& caller,
                                               const std::string& name_in) {
  std::string name = name_in.empty() ? "Directory sync" : name_in;
  auto valid = validation::SingleLineText(name, 1, 100, "invalid_name", "name",
                                          "name is 1 to 100 characters on one line.");
  if (!valid) return valid.error();
  return store_.Write([&](WriteTx& tx) -> Result<ScimTokenIssued> {
    auto me = access_.Recheck(tx, caller, "directory.configure");
    if (!me) return me.error();
    int live = 0;
    auto tokens = tx.ScimTokens(caller.workspace_id);
    for (const auto& t : tokens) live += t.revoked_at ? 0 : 1;
    // Revoked tokens stay listed (who made which, when): bounded too.
    if (live >= kMaxTokensPerWorkspace || tokens.size() >= 10 * kMaxTokensPerWorkspace) {
      return Error::Conflict("too_many_scim_tokens",
                             "The workspace has " + std::to_string(live) +
                                 " SCIM tokens; revoke one first.");
    }
    UnixTime now = clock_.Now();
    ScimTokenIssued out;
    out.secret = "scim_" + crypto::NewToken();
    out.token = ScimToken{NewId("scim"), caller.workspace_id, *valid,     crypto::Sha256Hex(out.secret),
                          caller.user_id, now,                 std::nullopt, std::nullopt};
    tx.InsertScimToken(out.token);
    AppendAudit(tx, p,
                {caller.workspace_id, "directory.token_created", "scim_token", out.token.id,
                 out.token.name, "", "{}"},
                now);
    return out;
  });
}

std::vector<ScimToken> Directory::Tokens(const Membership& caller) {
  return store_.ScimTokens(caller.workspace_id);
}

Status Directory::RevokeToken(const Principal& p, const Membership& caller,
                              const std::string& token_id) {
  return store_.Write([&](WriteTx& tx) -> Status {
    auto me = access_.Recheck(tx, caller, "directory.configure");
    if (!me) return me.error();
    std::optional<ScimToken> token;
    for (auto& t : tx.ScimTokens(caller.workspace_id)) {
      if (t.id == token_id) token = t;
    }
    if (!token) return Error::NotFound("SCIM token");
    if (token->revoked_at) return {};
    UnixTime now = clock_.Now();
    tx.RevokeScimToken(caller.workspace_id, token_id, now);
    AppendAudit(tx, p,
                {caller.workspace_id, "directory.token_revoked", "scim_token", token_id,
                 token->name, "", "{}"},
                now);
    return {};
  });
}

std::vector<ScimGroupMapping> Directory::Mappings(const std::string& ws) {
  return Impl::ParseMappings(store_.ScimSettingsOf(ws));
}

Result<std::vector<ScimGroupMapping>> Directory::PutMappings(const Principal& p,
                                                             const Membership& caller,
                                                             const Json& body) {
  const std::string& ws = caller.workspace_id;
  if (!body.is_array()) {
    return Error::Invalid("invalid_group_mappings", "", "The body must be a JSON array.");
  }
  if (body.size() > kMaxMappings) {
    return Error::Invalid("invalid_group_mappings", "",
                          "At most " + std::to_string(kMaxMappings) + " group mappings.");
  }
  const Catalogue& c = access_.catalogue();
  std::vector<ScimGroupMapping> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < body.size(); ++i) {
    const Json& m = body[i];
    std::string at = "[" + std::to_string(i) + "]";
    if (!m.is_object()) return Error::Invalid("invalid_group_mappings", at, "Each mapping is an object.");
    std::string group_field = at + ".group";
    auto group = validation::SingleLineText(TextOf(m, "group"), 1, 256, "invalid_group",
                                            group_field.c_str(),
                                            "group is a group's displayName, 1 to 256 characters.");
    if (!group) return group.error();
    if (!seen.insert(Lower(*group)).second) {
      return Error::Invalid("duplicate_group", at + ".group", "'" + *group + "' is mapped twice.");
    }
    std::string role = TextOf(m, "role");
    if (!access_.RoleExists(ws, role) || (!c.owner_role.empty() && role == c.owner_role)) {
      return Error::Invalid("invalid_role", at + ".role",
                            "Unknown role '" + role + "' (the owner role cannot be mapped).");
    }
    ScimGroupMapping g{*group, role, {}};
    if (auto pr = m.find("projects"); pr != m.end() && !pr->is_null()) {
      if (!pr->is_array() || pr->size() > 100) {
        return Error::Invalid("invalid_projects", at + ".projects", "projects is an array of at most 100.");
      }
      for (size_t k = 0; k < pr->size(); ++k) {
        std::string pat = at + ".projects[" + std::to_string(k) + "]";
        const Json& x = (*pr)[k];
        if (!x.is_object()) return Error::Invalid("invalid_projects", pat, "Each grant is an object.");
        std::string prj = TextOf(x, "project_id");
        std::string prole = TextOf(x, "role");
        if (!IsWellFormedId(prj, "prj") || !store_.ProjectById(ws, prj)) {
          return Error::Invalid("invalid_project", pat + ".project_id", "Unknown project '" + prj + "'.");
        }
        if (!access_.RoleExists(ws, prole) || (!c.owner_role.empty() && prole == c.owner_role)) {
          return Error::Invalid("invalid_role", pat + ".role", "Unknown role '" + prole + "'.");
        }
        g.projects.push_back({prj, prole});
      }
    }
    out.push_back(std::move(g));
  }
  Json stored = Json::array();
  for (const auto& g : out) {
    Json projects = Json::array();
    for (const auto& x : g.projects) projects.push_back({{"project_id", x.project_id}, {"role", x.role}});
    stored.push_back({{"group", g.group}, {"role", g.role}, {"projects", projects}});
  }
  Status st = store_.Write([&](WriteTx& tx) -> Status {
    auto me = access_.Recheck(tx, caller, "directory.configure");
    if (!me) return me.error();
    for (const auto& g : out) {
      if (Status s = team_.CheckNoEscalation(*me, access_.PermissionsOf(ws, g.role)); !s.ok()) {
        return s;
      }
      for (const auto& x : g.projects) {
        if (Status s = team_.CheckNoEscalation(*me, access_.PermissionsOf(ws, x.role)); !s.ok()) {
          return s;
        }
      }
    }
    UnixTime now = clock_.Now();
    tx.PutScimSettings({ws, stored.dump(), now});
    AppendAudit(tx, p,
                {ws, "directory.group_mappings_updated", "workspace", ws, "", "",
                 Json{{"mappings", stored}}.dump()},
                now);
    // Every directory member's role follows the new mappings at once.
    ScimCaller as{ws, "", "mappings", p.client};
    Impl impl(*this, tx, as, now);
    impl.actor = p;
    for (const auto& m : tx.Members(ws)) {
      if (m.membership.directory_managed) impl.SyncRole(m.user.id);
    }
    impl.Finish();
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Status Directory::Reactivate(const Principal& p, const Membership& caller,
                             const std::string& user_id, bool override_directory) {
  return store_.Write([&](WriteTx& tx) -> Status {
    auto me = access_.Recheck(tx, caller, "members.manage_roles");
    if (!me) return me.error();
    auto member = tx.MemberOf(caller.workspace_id, user_id);
    if (!member) return Error::NotFound("member");
    if (!member->membership.deactivated_at) {
      return Error::Conflict("member_not_deactivated", "The member is not deactivated.");
    }
    if (member->membership.directory_managed && !override_directory) {
      return Error::Conflict(
          "directory_managed",
          "The workspace's directory deactivated this member. Reactivate them in the directory, "
          "or send {\"override_directory\": true} to override it here (the directory may "
          "deactivate them again on its next sync).",
          "override_directory");
    }
    UnixTime now = clock_.Now();
    ScimCaller as{caller.workspace_id, "", "", p.client};
    Impl impl(*this, tx, as, now);
    impl.actor = p;
    tx.SetMembershipState(caller.workspace_id, user_id, std::nullopt,
                          member->membership.directory_managed);
    // The directory's record says active too, so that its next `active: false` is a change
    // that deactivates again (and GET /Users shows the directory what is true).
    if (auto su = tx.ScimUserOf(caller.workspace_id, user_id); su && !su->active) {
      su->active = true;
      su->updated_at = now;
      if (Status st = tx.UpdateScimUser(*su); !st.ok()) return st.error();
    }
    Membership after = member->membership;
    after.deactivated_at.reset();
    auto keys = tx.HoldKeysOfOwner(caller.workspace_id, user_id, after.KeyHold(), now);
    AppendAudit(tx, p,
                {caller.workspace_id, "member.reactivated", "user", user_id, member->user.name, "",
                 Json{{"override_directory", override_directory},
                      {"directory_managed", member->membership.directory_managed},
                      {"keys", keys.size()}}
                     .dump()},
                now);
    impl.keys_changed = std::move(keys);
    impl.users_changed.insert(user_id);
    impl.Finish();
    return {};
  });
}

// ---- Authentication -------------------------------------------------------------------------

std::variant<ScimCaller, ScimAnswer> Directory::Authenticate(const std::string& ws,
                                                             std::string_view authorization,
                                                             const ClientInfo& client) {
  UnixTime now = clock_.Now();
  std::string ip_key = client.ip.empty() ? "-" : client.ip;
  if (int wait = auth_failures_.RetryAfter(ip_key, now); wait > 0) {
    ScimAnswer a = ScimError(429, "", "Too many failed SCIM authentications from this address.");
    a.etag.clear();
    a.location = std::to_string(wait);  // the route turns it into Retry-After
    return a;
  }
  auto refuse = [&] {
    auth_failures_.Add(ip_key, now);
    return ScimError(401, "", "A valid SCIM bearer token of this workspace is required.");
  };
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() < kBearer.size() || authorization.size() > 200) return refuse();
  std::string scheme = Lower(std::string(authorization.substr(0, kBearer.size())));
  if (scheme != kBearer) return refuse();
  std::string_view secret = authorization.substr(kBearer.size());
  while (!secret.empty() && secret.front() == ' ') secret.remove_prefix(1);
  if (secret.rfind("scim_", 0) != 0 || !IsWellFormedId(ws, "ws")) return refuse();
  auto token = store_.ScimTokenByHash(crypto::Sha256Hex(std::string(secret)));
  if (!token || token->revoked_at || token->workspace_id != ws) return refuse();
  // A token is worth what its creator still may do: one made by someone since removed,
  // deactivated or demoted below directory.configure no longer works (like an API key).
  auto creator = store_.MembershipOf(ws, token->created_by);
  if (!creator || creator->deactivated_at || !access_.Can(*creator, "directory.configure")) {
    return refuse();
  }
  if (int wait = requests_.Acquire(ws, now); wait > 0) {
    ScimAnswer a = ScimError(429, "", "Too many SCIM requests for this workspace; slow down.");
    a.location = std::to_string(wait);
    return a;
  }
  if (!token->last_used_at || now - *token->last_used_at >= kTouchEverySeconds) {
    store_.Write([&](WriteTx& tx) { tx.TouchScimToken(token->id, now); });
  }
  return ScimCaller{ws, token->id, token->name, client};
}

// ---- Resources ------------------------------------------------------------------------------

namespace {

Json UserResource(const ScimUser& u, const std::vector<ScimGroup>* groups, const std::string& base) {
  Json r = Json::parse(u.resource, nullptr, false);
  if (!r.is_object()) r = Json::object();
  Json schemas = Json::array({scim::kUserSchema});
  if (r.contains(scim::kEnterpriseUser)) schemas.push_back(scim::kEnterpriseUser);
  r["schemas"] = schemas;
  r["id"] = u.user_id;
  r["active"] = u.active;
  if (!u.external_id.empty()) r["externalId"] = u.external_id;
  if (groups) {
    Json g = Json::array();
    for (const auto& x : *groups) {
      g.push_back({{"value", x.id}, {"display", x.display_name}, {"$ref", base + "/Groups/" + x.id}});
    }
    r["groups"] = g;
  }
  r["meta"] = {{"resourceType", "User"},
               {"created", FormatRfc3339(u.created_at)},
               {"lastModified", FormatRfc3339(u.updated_at)},
               {"location", base + "/Users/" + u.user_id},
               {"version", ETagOf(u.version)}};
  return r;
}

Json GroupResource(const ScimGroup& g, const std::vector<std::string>* members,
                   const std::string& base) {
  Json r = Json::parse(g.resource, nullptr, false);
  if (!r.is_object()) r = Json::object();
  r["schemas"] = Json::array({scim::kGroupSchema});
  r["id"] = g.id;
  r["displayName"] = g.display_name;
  if (!g.external_id.empty()) r["externalId"] = g.external_id;
  if (members) {
    Json m = Json::array();
    for (const auto& id : *members) m.push_back({{"value", id}, {"$ref", base + "/Users/" + id}, {"type", "User"}});
    r["members"] = std::move(m);
  }
  r["meta"] = {{"resourceType", "Group"},
               {"created", FormatRfc3339(g.created_at)},
               {"lastModified", FormatRfc3339(g.updated_at)},
               {"location", base + "/Groups/" + g.id},
               {"version", ETagOf(g.version)}};
  return r;
}

bool PreconditionFails(std::string_view if_match, int64_t version) {
  if (if_match.empty() || if_match == "*") return false;
  return if_match != ETagOf(version) && if_match != "\"" + std::to_string(version) + "\"";
}

// The page of `matched` that startIndex and count select.
template <typename T>
std::vector<T> PageOf(std::vector<T> matched, const ScimQuery& q) {
  std::vector<T> page;
  for (size_t i = static_cast<size_t>(q.start_index - 1);
       i < matched.size() && static_cast<int64_t>(page.size()) < q.count; ++i) {
    page.push_back(std::move(matched[i]));
  }
  return page;
}

// startIndex and count as RFC 7644 §3.4.2.4 reads them: below 1 is 1; count is capped.
void Clamp(ScimQuery& q, int64_t max) {
  if (q.start_index < 1) q.start_index = 1;
  if (q.count < 0) q.count = 0;
  if (q.count > max) q.count = max;
}

}  // namespace

ScimAnswer Directory::ListUsers(const ScimCaller& c, const ScimQuery& query) {
  ScimQuery q = query;
  Clamp(q, kMaxResults);
  const std::string base = BaseUrl(c.workspace_id);
  auto attrs = scim::SplitAttributeList(q.attributes);
  auto excluded = scim::SplitAttributeList(q.excluded_attributes);
  std::vector<ScimUser> page;
  int64_t total = 0;
  if (q.filter.empty()) {
    total = store_.CountScimUsers(c.workspace_id);
    page = store_.ScimUsers(c.workspace_id, q.start_index - 1, q.count);
  } else {
    auto filter = scim::ParseFilter(q.filter, scim::ResourceKind::kUser);
    if (!filter) return FromError(filter.error());
    std::vector<ScimUser> candidates;
    auto eq = scim::IndexableEquality(**filter);
    if (eq && eq->attr == "userName") {
      if (auto u = store_.ScimUserByUserName(c.workspace_id, Lower(eq->value))) candidates.push_back(*u);
    } else if (eq && eq->attr == "externalId") {
      candidates = store_.ScimUsersByExternalId(c.workspace_id, eq->value);
    } else {
      candidates = store_.ScimUsers(c.workspace_id, 0, INT64_MAX / 2);
    }
    std::vector<ScimUser> matched;
    for (auto& u : candidates) {
      if (scim::Matches(**filter, UserResource(u, nullptr, base), scim::ResourceKind::kUser)) {
        matched.push_back(std::move(u));
      }
    }
    total = static_cast<int64_t>(matched.size());
    page = PageOf(std::move(matched), q);
  }
  std::vector<Json> resources;
  for (const auto& u : page) {
    auto groups = store_.ScimGroupsOfUser(c.workspace_id, u.user_id);
    resources.push_back(scim::Project(UserResource(u, &groups, base), scim::ResourceKind::kUser, attrs, excluded));
  }
  return {200, scim::ListResponse(std::move(resources), total, q.start_index), "", ""};
}

ScimAnswer Directory::GetUser(const ScimCaller& c, const std::string& id, const ScimQuery& q) {
  auto u = store_.ScimUserOf(c.workspace_id, id);
  if (!u) return ScimError(404, "", "No such user in this workspace's directory.");
  auto groups = store_.ScimGroupsOfUser(c.workspace_id, id);
  Json r = UserResource(*u, &groups, BaseUrl(c.workspace_id));
  return {200,
          scim::Project(r, scim::ResourceKind::kUser, scim::SplitAttributeList(q.attributes),
                        scim::SplitAttributeList(q.excluded_attributes)),
          ETagOf(u->version), ""};
}

ScimAnswer Directory::CreateUser(const ScimCaller& c, const Json& body) {
  if (!body.is_object()) return ScimError(400, "invalidSyntax", "The body must be a JSON object.");
  Json resource = Storable(body);
  std::string user_name = validation::Trim(TextOf(resource, "userName"));
  if (user_name.empty() || user_name.size() > 256) {
    return ScimError(400, "invalidValue", "userName is required (at most 256 characters).");
  }
  resource["userName"] = user_name;
  auto email = EmailOf(resource);
  if (!email) {
    return ScimError(400, "invalidValue",
                     "userName must be an email address, or emails must hold one.");
  }
  bool active = true;
  if (auto a = resource.find("active"); a != resource.end() && !a->is_null()) {
    auto b = scim::CoerceBool(*a);
    if (!b) return ScimError(400, "invalidValue", "active must be a boolean.");
    active = *b;
  }
  resource.erase("active");
  std::string external_id = TextOf(resource, "externalId");
  resource.erase("externalId");
  if (resource.dump().size() > kMaxResourceBytes) {
    return ScimError(400, "invalidValue", "The user resource is too large.");
  }
  std::string name = PersonNameOf(resource, *email);
  const std::string& ws = c.workspace_id;
  Result<ScimUser> created = store_.Write([&](WriteTx& tx) -> Result<ScimUser> {
    auto w = tx.LockWorkspace(ws);
    if (!w) return Error::NotFound("workspace");
    UnixTime now = clock_.Now();
    Impl impl(*this, tx, c, now);
    if (tx.ScimUserByUserName(ws, Lower(user_name))) {
      return Error{ErrorKind::kConflict, "uniqueness",
                   "The directory has a user with this userName already.", {}};
    }
    auto user = tx.UserByEmail(*email);
    bool new_account = !user;
    if (user && !user->email_verified_at) {
      return Error{ErrorKind::kConflict, "uniqueness",
                   "An account with this email exists and has not proved its address; it is "
                   "not linked to a directory identity until it does.",
                   {}};
    }
    if (new_account) {
      User u;
      u.id = NewId("usr");
      u.email = *email;
      u.name = name;
      u.created_at = now;
      u.updated_at = now;
      // The workspace's own SSO serves the domain: its IdP (the same directory) vouches for
      // the address, as with just-in-time provisioning. Elsewhere the welcome link proves it.
      std::string domain = email->substr(email->find('@') + 1);
      if (auto conn = tx.SsoConnectionByDomain(domain);
          conn && conn->workspace_id == ws && conn->status == "active") {
        u.email_verified_at = now;
      }
      if (Status st = tx.InsertUser(u); !st.ok()) {
        return Error{ErrorKind::kConflict, "uniqueness", "An account with this email was created meanwhile.", {}};
      }
      user = u;
    }
    auto membership = tx.MembershipOf(ws, user->id);
    if (membership && tx.ScimUserOf(ws, user->id)) {
      return Error{ErrorKind::kConflict, "uniqueness",
                   "This person is in the directory already under another userName.", {}};
    }
    std::string role;
    if (!membership) {
      // Seats as invitations count them: members and pending invitations.
      if (const Plan* plan = config_.FindPlan(w->plan);
          plan && tx.MemberCount(ws) + tx.CountPendingInvitations(ws, now) >= plan->member_limit) {
        return Error{ErrorKind::kPaymentRequired, "member_limit_reached",
                     "The " + plan->name + " plan allows " + std::to_string(plan->member_limit) +
                         " members, counting pending invitations.",
                     {}};
      }
      role = impl.DefaultRole();
      Membership m{NewId("mem"), ws, user->id, role, now, std::nullopt, true};
      tx.InsertMembership(m);
      Json joined = {{"via", "scim"}, {"role", role}, {"role_name", access_.RoleName(ws, role)}};
      AppendAudit(tx, impl.actor, {ws, "member.joined", "user", user->id, user->name, "", joined.dump()}, now);
    } else {
      tx.SetMembershipState(ws, user->id, membership->deactivated_at, true);
    }
    ScimUser su{ws, user->id, Lower(user_name), external_id, true, resource.dump(), 1, now, now};
    if (Status st = tx.InsertScimUser(su); !st.ok()) return st.error();
    impl.Audit("directory.user_created", "user", user->id, user->name,
               {{"user_name", user_name},
                {"external_id", external_id},
                {"new_account", new_account},
                {"linked_membership", membership.has_value()}});
    impl.users_changed.insert(user->id);
    if (!active) {
      auto member = tx.MemberOf(ws, user->id);
      if (Status st = impl.SetActive(*member, false); !st.ok()) return st.error();
      su.active = false;
      if (Status st = tx.UpdateScimUser(su); !st.ok()) return st.error();
    }
    if (new_account && !user->email_verified_at) {
      // No password and no SSO: a link to set one, valid a week (it also proves the address).
      IssuedToken issued = IssueAccountToken(*user, AccountTokenPurpose::kPasswordReset,
                                             kWelcomeLinkSeconds, now);
      tx.InsertAccountToken(issued.record);
      std::string link = config_.PublicUrl() + "/reset-password?token=" + issued.token;
      QueueNotice(tx, mail_, user->email, "Your account for " + w->name + " is ready",
                  {"Hello " + user->name + ",",
                   "Your organisation's directory added you to the workspace " + w->name +
                       " on Gatehouse.",
                   "Set your password here (the link works for 7 days): " + link},
                  now);
    }
    impl.Finish();
    return su;
  });
  if (!created) return FromError(created.error());
  std::vector<ScimGroup> none;
  ScimAnswer a{201, UserResource(*created, &none, BaseUrl(ws)), ETagOf(created->version), ""};
  a.location = BaseUrl(ws) + "/Users/" + created->user_id;
  return a;
}

namespace {

// What a write of a user resource changes, checked against the account.
struct UserWrite {
  Json resource;  // storable
  std::string user_name;
  std::string external_id;
  bool active = true;
};

Result<UserWrite> ReadUserWrite(Json after, const User& account) {
  UserWrite w;
  w.user_name = validation::Trim(TextOf(after, "userName"));
  if (w.user_name.empty() || w.user_name.size() > 256) {
    return ScimInvalid("invalidValue", "userName is required (at most 256 characters).");
  }
  after["userName"] = w.user_name;
  auto a = after.find("active");
  if (a != after.end() && !a->is_null()) {
    auto b = scim::CoerceBool(*a);
    if (!b) return ScimInvalid("invalidValue", "active must be a boolean.");
    w.active = *b;
  }
  w.external_id = TextOf(after, "externalId");
  after.erase("active");
  after.erase("externalId");
  Json storable = Storable(std::move(after));
  auto email = EmailOf(storable);
  // The account's address is its owner's: a directory renames its record, never the account.
  if (!email || *email != account.email) {
    return ScimInvalid("mutability",
                       "userName (the account's email, " + account.email +
                           ") cannot be changed by the directory; deprovision the user and "
                           "provision the new address instead.");
  }
  if (storable.dump().size() > Directory::kMaxResourceBytes) {
    return ScimInvalid("invalidValue", "The user resource is too large.");
  }
  w.resource = std::move(storable);
  return w;
}

}  // namespace

ScimAnswer Directory::ReplaceUser(const ScimCaller& c, const std::string& id, const Json& body,
                                  std::string_view if_match) {
  if (!body.is_object()) return ScimError(400, "invalidSyntax", "The body must be a JSON object.");
  return WriteUserWith(c, id, if_match, [&](Json& current) -> Status {
    Json next = body;
    next.erase("id");
    next.erase("meta");
    // `active` left out of a replace leaves it as it is.
    if (!next.contains("active")) next["active"] = current.value("active", true);
    current = std::move(next);
    return {};
  });
}

ScimAnswer Directory::PatchUser(const ScimCaller& c, const std::string& id, const Json& body,
                                std::string_view if_match) {
  auto ops = scim::ParsePatch(body, scim::ResourceKind::kUser, kMaxOperations);
  if (!ops) return FromError(ops.error());
  return WriteUserWith(c, id, if_match, [&](Json& current) -> Status {
    return scim::ApplyPatch(current, *ops, scim::ResourceKind::kUser);
  });
}

ScimAnswer Directory::WriteUserWith(const ScimCaller& c, const std::string& id,
                                    std::string_view if_match,
                                    const std::function<Status(Json&)>& change) {
  const std::string& ws = c.workspace_id;
  std::string base = BaseUrl(ws);
  Result<ScimUser> written = store_.Write([&](WriteTx& tx) -> Result<ScimUser> {
    if (!tx.LockWorkspace(ws)) return Error::NotFound("workspace");
    auto su = tx.ScimUserOf(ws, id);
    auto member = su ? tx.MemberOf(ws, id) : std::nullopt;
    if (!su || !member) return Error::NotFound("user");
    if (PreconditionFails(if_match, su->version)) {
      return Error::Conflict("precondition_failed",
                             "The resource changed since the version named in If-Match.");
    }
    UnixTime now = clock_.Now();
    Impl impl(*this, tx, c, now);
    Json current = UserResource(*su, nullptr, base);
    if (Status st = change(current); !st.ok()) return st.error();
    auto w = ReadUserWrite(std::move(current), member->user);
    if (!w) return w.error();
    Json before = Json::parse(su->resource, nullptr, false);
    bool changed = before != w->resource || su->external_id != w->external_id ||
                   Lower(w->user_name) != su->user_name;
    if (w->active != su->active) {
      if (Status st = impl.SetActive(*member, w->active); !st.ok()) return st.error();
    }
    if (!changed && w->active == su->active) return *su;  // nothing to write
    su->user_name = Lower(w->user_name);
    su->external_id = w->external_id;
    su->active = w->active;
    su->resource = w->resource.dump();
    su->updated_at = now;
    if (Status st = tx.UpdateScimUser(*su); !st.ok()) return st.error();
    if (changed) {
      impl.Audit("directory.user_updated", "user", id, member->user.name,
                 {{"user_name", w->user_name}, {"external_id", w->external_id}});
    }
    impl.Finish();
    return *su;
  });
  if (!written) return FromError(written.error());
  auto groups = store_.ScimGroupsOfUser(ws, id);
  return {200, UserResource(*written, &groups, base), ETagOf(written->version), ""};
}

ScimAnswer Directory::DeleteUser(const ScimCaller& c, const std::string& id,
                                 std::string_view if_match) {
  const std::string& ws = c.workspace_id;
  Status st = store_.Write([&](WriteTx& tx) -> Status {
    if (!tx.LockWorkspace(ws)) return Error::NotFound("workspace");
    auto su = tx.ScimUserOf(ws, id);
    auto member = su ? tx.MemberOf(ws, id) : std::nullopt;
    if (!su || !member) return Error::NotFound("user");
    if (PreconditionFails(if_match, su->version)) {
      return Error::Conflict("precondition_failed",
                             "The resource changed since the version named in If-Match.");
    }
    UnixTime now = clock_.Now();
    Impl impl(*this, tx, c, now);
    // Sessions the workspace's SSO made for them end with the membership.
    for (const auto& s : tx.LiveSessionsOfUser(id, now)) {
      if (s.scope_workspace_id == ws) tx.RevokeSession(id, s.id, now);
    }
    auto removed = team_.RemoveInTx(tx, impl.actor, ws, id, KeyHandover{true, ""}, "directory", now);
    if (!removed) {
      return ScimInvalid("mutability", removed.error().message);
    }
    impl.Audit("directory.user_deleted", "user", id, member->user.name,
               {{"email", member->user.email}, {"revoked_keys", removed->revoked_keys}});
    impl.users_changed.insert(id);
    impl.Finish();
    return {};
  });
  if (!st.ok()) return FromError(st.error());
  return {204, nullptr, "", ""};
}

// ---- Groups ---------------------------------------------------------------------------------

ScimAnswer Directory::ListGroups(const ScimCaller& c, const ScimQuery& query) {
  ScimQuery q = query;
  Clamp(q, kMaxResults);
  const std::string base = BaseUrl(c.workspace_id);
  auto attrs = scim::SplitAttributeList(q.attributes);
  auto excluded = scim::SplitAttributeList(q.excluded_attributes);
  bool with_members = scim::Project(Json{{"members", Json::array()}, {"id", "x"}},
                                    scim::ResourceKind::kGroup, attrs, excluded)
                          .contains("members");
  std::vector<ScimGroup> page;
  int64_t total = 0;
  if (q.filter.empty()) {
    total = store_.CountScimGroups(c.workspace_id);
    page = store_.ScimGroups(c.workspace_id, q.start_index - 1, q.count);
  } else {
    auto filter = scim::ParseFilter(q.filter, scim::ResourceKind::kGroup);
    if (!filter) return FromError(filter.error());
    std::vector<ScimGroup> candidates;
    auto eq = scim::IndexableEquality(**filter);
    if (eq && eq->attr == "displayName") {
      if (auto g = store_.ScimGroupByDisplayKey(c.workspace_id, Lower(eq->value))) candidates.push_back(*g);
    } else if (eq && eq->attr == "externalId") {
      candidates = store_.ScimGroupsByExternalId(c.workspace_id, eq->value);
    } else {
      candidates = store_.ScimGroups(c.workspace_id, 0, INT64_MAX / 2);
    }
    std::vector<ScimGroup> matched;
    for (auto& g : candidates) {
      // Members are matched only when the filter names them (Okta's `members[value eq …]`).
      std::vector<std::string> members;
      bool needs_members = q.filter.find("members") != std::string::npos ||
                           q.filter.find("Members") != std::string::npos;
      if (needs_members) members = store_.ScimGroupMembers(g.id);
      if (scim::Matches(**filter, GroupResource(g, needs_members ? &members : nullptr, base),
                        scim::ResourceKind::kGroup)) {
        matched.push_back(std::move(g));
      }
    }
    total = static_cast<int64_t>(matched.size());
    page = PageOf(std::move(matched), q);
  }
  std::vector<Json> resources;
  for (const auto& g : page) {
    std::vector<std::string> members;
    if (with_members) members = store_.ScimGroupMembers(g.id);
    resources.push_back(scim::Project(GroupResource(g, with_members ? &members : nullptr, base),
                                      scim::ResourceKind::kGroup, attrs, excluded));
  }
  return {200, scim::ListResponse(std::move(resources), total, q.start_index), "", ""};
}

ScimAnswer Directory::GetGroup(const ScimCaller& c, const std::string& id, const ScimQuery& q) {
  auto g = store_.ScimGroupById(c.workspace_id, id);
  if (!g) return ScimError(404, "", "No such group in this workspace's directory.");
  auto members = store_.ScimGroupMembers(id);
  Json r = GroupResource(*g, &members, BaseUrl(c.workspace_id));
  return {200,
          scim::Project(r, scim::ResourceKind::kGroup, scim::SplitAttributeList(q.attributes),
                        scim::SplitAttributeList(q.excluded_attributes)),
          ETagOf(g->version), ""};
}

namespace {

// The member ids a group resource lists, in order, without repeats.
Result<std::vector<std::string>> MemberIds(const Json& resource) {
  std::vector<std::string> out;
  auto it = resource.find("members");
  if (it == resource.end() || it->is_null()) return out;
  if (!it->is_array()) return ScimInvalid("invalidValue", "members must be an array.");
  if (it->size() > Directory::kMaxMembersPerRequest) {
    return ScimInvalid("invalidValue", "At most " + std::to_string(Directory::kMaxMembersPerRequest) +
                                           " members in one request.");
  }
  std::unordered_set<std::string> seen;
  for (const auto& m : *it) {
    std::string v = m.is_object() ? TextOf(m, "value") : (m.is_string() ? m.get<std::string>() : "");
    if (v.empty()) return ScimInvalid("invalidValue", "Each member needs a value (a user id).");
    if (seen.insert(v).second) out.push_back(v);
  }
  return out;
}

}  // namespace

ScimAnswer Directory::CreateGroup(const ScimCaller& c, const Json& body) {
  if (!body.is_object()) return ScimError(400, "invalidSyntax", "The body must be a JSON object.");
  auto members = MemberIds(body);
  if (!members) return FromError(members.error());
  Json resource = Storable(body);
  auto display = validation::SingleLineText(TextOf(resource, "displayName"), 1, 256, "invalidValue", "displayName", "");
  if (!display) return ScimError(400, "invalidValue", "displayName is required (1 to 256 characters, one line).");
  std::string external_id = TextOf(resource, "externalId");
  resource.erase("externalId");
  resource.erase("displayName");
  if (resource.dump().size() > kMaxResourceBytes) return ScimError(400, "invalidValue", "The group resource is too large.");
  const std::string& ws = c.workspace_id;
  Result<ScimGroup> created = store_.Write([&](WriteTx& tx) -> Result<ScimGroup> {
    if (!tx.LockWorkspace(ws)) return Error::NotFound("workspace");
    if (tx.CountScimGroups(ws) >= config_.limits.scim_groups_per_workspace &&
        config_.limits.scim_groups_per_workspace > 0) {
      return Error{ErrorKind::kForbidden, "",
                   "The workspace keeps at most " +
                       std::to_string(config_.limits.scim_groups_per_workspace) + " directory groups.",
                   {}};
    }
    UnixTime now = clock_.Now();
    Impl impl(*this, tx, c, now);
    ScimGroup g{NewId("dgr"), ws, *display, external_id, resource.dump(), 1, now, now};
    if (Status st = tx.InsertScimGroup(g); !st.ok()) return st.error();
    std::vector<std::string> added;
    for (const auto& u : *members) {
      if (tx.ScimUserOf(ws, u)) added.push_back(u);  // only this directory's users
    }
    tx.AddScimGroupMembers(g.id, added);
    impl.Audit("directory.group_created", "scim_group", g.id, g.display_name,
               {{"external_id", external_id}, {"members", added.size()}});
    for (const auto& u : added) impl.SyncRole(u);
    impl.Finish();
    return g;
  });
  if (!created) return FromError(created.error());
  auto ids = store_.ScimGroupMembers(created->id);
  ScimAnswer a{201, GroupResource(*created, &ids, BaseUrl(ws)), ETagOf(created->version), ""};
  a.location = BaseUrl(ws) + "/Groups/" + created->id;
  return a;
}

ScimAnswer Directory::ReplaceGroup(const ScimCaller& c, const std::string& id, const Json& body,
                                   std::string_view if_match) {
  if (!body.is_object()) return ScimError(400, "invalidSyntax", "The body must be a JSON object.");
  return WriteGroupWith(c, id, if_match, [&](Json& current) -> Status {
    Json next = body;
    next.erase("id");
    next.erase("meta");
    if (!next.contains("members")) next["members"] = Json::array();
    current = std::move(next);
    return {};
  });
}

ScimAnswer Directory::PatchGroup(const ScimCaller& c, const std::string& id, const Json& body,
                                 std::string_view if_match) {
  auto ops = scim::ParsePatch(body, scim::ResourceKind::kGroup, kMaxOperations);
  if (!ops) return FromError(ops.error());
  return WriteGroupWith(c, id, if_match, [&](Json& current) -> Status {
    return scim::ApplyPatch(current, *ops, scim::ResourceKind::kGroup);
  });
}

ScimAnswer Directory::WriteGroupWith(const ScimCaller& c, const std::string& id,
                                     std::string_view if_match,
                                     const std::function<Status(Json&)>& change) {
  const std::string& ws = c.workspace_id;
  std::string base = BaseUrl(ws);
  Result<ScimGroup> written = store_.Write([&](WriteTx& tx) -> Result<ScimGroup> {
    if (!tx.LockWorkspace(ws)) return Error::NotFound("workspace");
    auto g = tx.ScimGroupById(ws, id);
    if (!g) return Error::NotFound("group");
    if (PreconditionFails(if_match, g->version)) {
      return Error::Conflict("precondition_failed",
                             "The resource changed since the version named in If-Match.");
    }
    UnixTime now = clock_.Now();
    Impl impl(*this, tx, c, now);
    std::vector<std::string> before = tx.ScimGroupMembers(id);
    Json current = GroupResource(*g, &before, base);
    if (Status st = change(current); !st.ok()) return st.error();
    auto after_ids = MemberIds(current);
    if (!after_ids) return after_ids.error();
    auto display = validation::SingleLineText(TextOf(current, "displayName"), 1, 256, "invalidValue", "displayName", "");
    if (!display) return ScimInvalid("invalidValue", "displayName is required (1 to 256 characters, one line).");
    std::string external_id = TextOf(current, "externalId");
    Json resource = Storable(current);
    resource.erase("displayName");
    resource.erase("externalId");
    resource.erase("schemas");
    if (resource.dump().size() > kMaxResourceBytes) return ScimInvalid("invalidValue", "The group resource is too large.");
    std::unordered_set<std::string> old_set(before.begin(), before.end());
    std::unordered_set<std::string> new_set;
    std::vector<std::string> added, removed;
    for (const auto& u : *after_ids) {
      new_set.insert(u);
      if (!old_set.count(u) && tx.ScimUserOf(ws, u)) added.push_back(u);
    }
    for (const auto& u : before) {
      if (!new_set.count(u)) removed.push_back(u);
    }
    std::string renamed_from = g->display_name != *display ? g->display_name : "";
    bool changed = !added.empty() || !removed.empty() || !renamed_from.empty() ||
                   g->external_id != external_id || Json::parse(g->resource, nullptr, false) != resource;
    if (!changed) return *g;
    g->display_name = *display;
    g->external_id = external_id;
    g->resource = resource.dump();
    g->updated_at = now;
    if (Status st = tx.UpdateScimGroup(*g); !st.ok()) return st.error();
    tx.AddScimGroupMembers(id, added);
    tx.RemoveScimGroupMembers(id, removed);
    Json details = {{"added", added.size()}, {"removed", removed.size()}};
    if (!renamed_from.empty()) details["renamed_from"] = renamed_from;
    impl.Audit("directory.group_updated", "scim_group", id, g->display_name, details);
    // A rename can change what every member's groups map to; else only those who moved.
    if (!renamed_from.empty()) {
      for (const auto& u : tx.ScimGroupMembers(id)) impl.SyncRole(u);
    } else {
      for (const auto& u : added) impl.SyncRole(u);
    }
    for (const auto& u : removed) impl.SyncRole(u);
    impl.Finish();
    return *g;
  });
  if (!written) return FromError(written.error());
  auto ids = store_.ScimGroupMembers(id);
  return {200, GroupResource(*written, &ids, base), ETagOf(written->version), ""};
}

ScimAnswer Directory::DeleteGroup(const ScimCaller& c, const std::string& id,
                                  std::string_view if_match) {
  const std::string& ws = c.workspace_id;
  Status st = store_.Write([&](WriteTx& tx) -> Status {
    if (!tx.LockWorkspace(ws)) return Error::NotFound("workspace");
    auto g = tx.ScimGroupById(ws, id);
    if (!g) return Error::NotFound("group");
    if (PreconditionFails(if_match, g->version)) {
      return Error::Conflict("precondition_failed",
                             "The resource changed since the version named in If-Match.");
    }
    UnixTime now = clock_.Now();
    Impl impl(*this, tx, c, now);
    auto members = tx.ScimGroupMembers(id);
    tx.DeleteScimGroup(ws, id);
    impl.Audit("directory.group_deleted", "scim_group", id, g->display_name,
               {{"members", members.size()}});
    for (const auto& u : members) impl.SyncRole(u);
    impl.Finish();
    return {};
  });
  if (!st.ok()) return FromError(st.error());
  return {204, nullptr, "", ""};
}

// ---- Discovery ------------------------------------------------------------------------------

ScimAnswer Directory::ServiceProviderConfig(const std::string& ws) const {
  return {200, scim::ServiceProviderConfig(BaseUrl(ws), static_cast<int>(kMaxResults), kMaxOperations), "", ""};
}

ScimAnswer Directory::ResourceTypes(const std::string& ws) const {
  return {200, scim::ResourceTypesDocument(BaseUrl(ws)), "", ""};
}

ScimAnswer Directory::Schemas() const { return {200, scim::SchemasDocument(), "", ""}; }

}  // namespace gh
