#include "store/sql/sql_store.h"

#include <algorithm>
#include <limits>
#include <atomic>
#include <map>
#include <string>
#include <tuple>

#include "core/time.h"

namespace gh::sql {
namespace {

// Closed sets are stored as the names core/enum_names.h gives them. A name this binary does
// not know is not one it wrote (a newer schema is refused at open), so the row (`id`) is
// refused rather than read as something it is not.
template <typename E>
E StoredEnum(std::optional<E> (*parse)(std::string_view), std::string_view text, const char* column,
             std::string_view id) {
  auto e = parse(text);
  if (!e) {
    throw StoreError(std::string(column) + " of " + std::string(id) + " is '" + std::string(text) +
                     "', which this version does not know");
  }
  return *e;
}

template <typename E>
Value EnumText(E e) {
  return std::string(ToString(e));
}

constexpr const char* kUserCols =
    "id, email, name, password_hash, theme, language, avatar_url, created_at, updated_at, "
    "last_login_at, mfa_enabled, deleted_at, email_verified_at";

User UserFrom(const Row& r) {
  User u;
  u.id = r.Text(0);
  u.email = r.Text(1);
  u.name = r.Text(2);
  u.password_hash = r.Text(3);
  u.theme = r.Text(4);
  u.language = r.Text(5);
  u.avatar_url = r.Text(6);
  u.created_at = r.Int(7);
  u.updated_at = r.Int(8);
  u.last_login_at = r.OptInt(9);
  u.mfa_enabled = r.Int(10) != 0;
  u.deleted_at = r.OptInt(11);
  u.email_verified_at = r.OptInt(12);
  return u;
}

constexpr const char* kAccountTokenCols =
    "token_hash, purpose, user_id, email, created_at, expires_at, used_at";

const char* PurposeText(AccountTokenPurpose p) {
  return p == AccountTokenPurpose::kPasswordReset ? "password_reset" : "email_verification";
}

AccountToken AccountTokenFrom(const Row& r) {
  AccountToken t;
  t.token_hash = r.Text(0);
  t.purpose = r.Text(1) == "password_reset" ? AccountTokenPurpose::kPasswordReset
                                            : AccountTokenPurpose::kEmailVerification;
  t.user_id = r.Text(2);
  t.email = r.Text(3);
  t.created_at = r.Int(4);
  t.expires_at = r.Int(5);
  t.used_at = r.OptInt(6);
  return t;
}

constexpr const char* kSessionCols =
    "id, user_id, token_hash, device, browser, ip, user_agent, created_at, last_active_at, "
    "idle_expires_at, absolute_expires_at, revoked_at, country, method, sso_connection_id, "
    "scope_workspace_id";

Session SessionFrom(const Row& r) {
  Session s;
  s.id = r.Text(0);
  s.user_id = r.Text(1);
  s.token_hash = r.Text(2);
  s.device = r.Text(3);
  s.browser = r.Text(4);
  s.ip = r.Text(5);
  s.user_agent = r.Text(6);
  s.created_at = r.Int(7);
  s.last_active_at = r.Int(8);
  s.idle_expires_at = r.Int(9);
  s.absolute_expires_at = r.Int(10);
  s.revoked_at = r.OptInt(11);
  s.country = r.Text(12);
  s.method = r.Text(13);
  s.sso_connection_id = r.Text(14);
  s.scope_workspace_id = r.Text(15);
  return s;
}

constexpr const char* kSsoConnectionCols =
    "id, workspace_id, type, provider, name, status, settings, client_secret, settings_version, "
    "last_test, created_at, updated_at";

SsoConnection SsoConnectionFrom(const Row& r) {
  SsoConnection c;
  c.id = r.Text(0);
  c.workspace_id = r.Text(1);
  c.type = r.Text(2);
  c.provider = r.Text(3);
  c.name = r.Text(4);
  c.status = r.Text(5);
  c.settings = r.Text(6);
  c.client_secret = r.Text(7);
  c.settings_version = r.Int(8);
  c.last_test = r.Text(9);
  c.created_at = r.Int(10);
  c.updated_at = r.Int(11);
  return c;
}

constexpr const char* kSsoRequestCols =
    "id, connection_id, browser_hash, nonce, code_verifier, redirect_url, test, "
    "settings_version, created_at, expires_at, used_at";

SsoRequest SsoRequestFrom(const Row& r) {
  SsoRequest q;
  q.id = r.Text(0);
  q.connection_id = r.Text(1);
  q.browser_hash = r.Text(2);
  q.nonce = r.Text(3);
  q.code_verifier = r.Text(4);
  q.redirect_url = r.Text(5);
  q.test = r.Int(6) != 0;
  q.settings_version = r.Int(7);
  q.created_at = r.Int(8);
  q.expires_at = r.Int(9);
  q.used_at = r.OptInt(10);
  return q;
}

constexpr const char* kWorkspaceCols =
    "w.id, w.name, w.region, w.timezone, w.language, w.plan, w.subscription_status, "
    "w.audit_retention_days, w.logo_content_type, w.logo_updated_at, w.created_at, w.updated_at, "
    "w.require_mfa, w.ip_allowlist_enabled, w.ip_allowlist, w.ip_allowlist_updated_at, "
    "w.sso_enforced";

constexpr int kWorkspaceColCount = 17;

// The allowlist column: one "<cidr> <label>" line per entry (a CIDR holds no space, and
// labels are validated to hold no control characters).
std::string JoinAllowlist(const std::vector<IpAllowEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += '\n';
    out += e.cidr;
    out += ' ';
    out += e.label;
  }
  return out;
}

std::vector<IpAllowEntry> SplitAllowlist(const std::string& s) {
  std::vector<IpAllowEntry> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    std::string line = s.substr(pos, nl - pos);
    size_t sp = line.find(' ');
    if (!line.empty()) {
      out.push_back({line.substr(0, sp), sp == std::string::npos ? "" : line.substr(sp + 1)});
    }
    pos = nl + 1;
  }
  return out;
}

Workspace WorkspaceFrom(const Row& r) {
  Workspace w;
  w.id = r.Text(0);
  w.name = r.Text(1);
  w.region = r.Text(2);
  w.timezone = r.Text(3);
  w.language = r.Text(4);
  w.plan = r.Text(5);
  w.subscription_status = r.Text(6);
  w.audit_retention_days = static_cast<int>(r.Int(7));
  w.logo_content_type = r.Text(8);
  w.logo_updated_at = r.Int(9);
  w.created_at = r.Int(10);
  w.updated_at = r.Int(11);
  w.require_mfa = r.Int(12) != 0;
  w.ip_allowlist_enabled = r.Int(13) != 0;
  w.ip_allowlist = SplitAllowlist(r.Text(14));
  w.ip_allowlist_updated_at = r.Int(15);
  w.sso_enforced = r.Int(16) != 0;
  return w;
}

// The noun of an action ("member" for member.invited), stored for the `noun.*` filter.
std::string NounOf(const std::string& action) { return action.substr(0, action.find('.')); }

constexpr const char* kAuditCols =
    "seq, id, workspace_id, occurred_at, action, actor_type, actor_id, actor_name, actor_email, "
    "target_type, target_id, target_name, project_id, ip, user_agent, details, prev_hash, hash";

// Moves the row's text into the event: audit pages and exports read thousands of rows.
AuditEvent AuditFrom(Row& r) {
  AuditEvent e;
  e.seq = r.Int(0);
  e.id = r.Take(1);
  e.workspace_id = r.Take(2);
  e.occurred_at = r.Int(3);
  e.action = r.Take(4);
  e.actor_type = StoredEnum(ParseActorType, r.Text(5), "audit_events.actor_type", e.id);
  e.actor_id = r.Take(6);
  e.actor_name = r.Take(7);
  e.actor_email = r.Take(8);
  e.target_type = r.Take(9);
  e.target_id = r.Take(10);
  e.target_name = r.Take(11);
  e.project_id = r.Take(12);
  e.ip = r.Take(13);
  e.user_agent = r.Take(14);
  e.details_json = r.Take(15);
  e.prev_hash = r.Take(16);
  e.hash = r.Take(17);
  return e;
}

// Lists are kept as space-separated ids (ids never contain spaces).
std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : " ") + id;
  return out;
}

std::vector<std::string> SplitIds(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t sp = s.find(' ', pos);
    if (sp == std::string::npos) sp = s.size();
    if (sp > pos) out.push_back(s.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return out;
}

constexpr const char* kMailCols =
    "id, recipient, subject, body_text, created_at, sent_at, status, body_html, attempts, "
    "next_attempt_at, last_error";

MailMessage MailFrom(const Row& r) {
  MailMessage m;
  m.id = r.Text(0);
  m.to = r.Text(1);
  m.subject = r.Text(2);
  m.body_text = r.Text(3);
  m.created_at = r.Int(4);
  m.sent_at = r.OptInt(5);
  m.status = StoredEnum(ParseMailStatus, r.Text(6), "mail.status", m.id);
  m.body_html = r.Text(7);
  m.attempts = static_cast<int>(r.Int(8));
  m.next_attempt_at = r.Int(9);
  m.last_error = r.Text(10);
  return m;
}

constexpr const char* kRoleCols =
    "id, workspace_id, name, description, permissions, created_at, updated_at";

CustomRole RoleFrom(const Row& r) {
  return {r.Text(0), r.Text(1), r.Text(2), r.Text(3), SplitIds(r.Text(4)), r.Int(5), r.Int(6)};
}

constexpr const char* kInvitationCols =
    "id, workspace_id, email, role, projects, token_hash, invited_by, redirect_url, status, "
    "created_at, expires_at, accepted_at, revoked_at";

Invitation InvitationFrom(const Row& r) {
  Invitation i;
  i.id = r.Text(0);
  i.workspace_id = r.Text(1);
  i.email = r.Text(2);
  i.role = r.Text(3);
  i.projects = SplitIds(r.Text(4));
  i.token_hash = r.Text(5);
  i.invited_by = r.Text(6);
  i.redirect_url = r.Text(7);
  i.status = r.Text(8);
  i.created_at = r.Int(9);
  i.expires_at = r.Int(10);
  i.accepted_at = r.OptInt(11);
  i.revoked_at = r.OptInt(12);
  return i;
}

constexpr const char* kMemberCols =
    "m.id, m.workspace_id, m.user_id, m.role, m.joined_at, u.id, u.email, u.name, "
    "u.password_hash, u.theme, u.language, u.avatar_url, u.created_at, u.updated_at, "
    "u.last_login_at, m.deactivated_at, m.directory_managed, m.suspended_at, m.suspended_reason";

Member MemberFrom(const Row& r) {
  Member m;
  m.membership = {r.Text(0), r.Text(1),     r.Text(2),      r.Text(3), r.Int(4),
                  r.OptInt(15), r.Int(16) != 0, r.OptInt(17), r.Text(18)};
  User& u = m.user;
  u.id = r.Text(5);
  u.email = r.Text(6);
  u.name = r.Text(7);
  u.password_hash = r.Text(8);
  u.theme = r.Text(9);
  u.language = r.Text(10);
  u.avatar_url = r.Text(11);
  u.created_at = r.Int(12);
  u.updated_at = r.Int(13);
  u.last_login_at = r.OptInt(14);
  return m;
}

constexpr const char* kProjectCols =
    "id, workspace_id, name, environment, rate_limit_per_minute, rate_limit_per_month, "
    "created_at, updated_at";

Project ProjectFrom(const Row& r) {
  return {r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.OptInt(4), r.OptInt(5), r.Int(6), r.Int(7)};
}

constexpr const char* kKeyCols =
    "id, workspace_id, project_id, type, environment, name, service, owner_id, prefix, hash, "
    "publishable_key, allow_patterns, deny_patterns, methods, rate_per_minute, rate_per_month, "
    "ip_allowlist, expires_at, previous_hash, previous_expires_at, created_at, updated_at, "
    "revoked_at, last_used_at, version, owner_hold";

ApiKey KeyFrom(const Row& r) {
  ApiKey k;
  k.id = r.Text(0);
  k.workspace_id = r.Text(1);
  k.project_id = r.Text(2);
  k.type = StoredEnum(ParseKeyType, r.Text(3), "api_keys.type", k.id);
  k.environment = StoredEnum(ParseKeyEnvironment, r.Text(4), "api_keys.environment", k.id);
  k.name = r.Text(5);
  k.service = r.Text(6);
  k.owner_id = r.Text(7);
  k.prefix = r.Text(8);
  k.hash = r.Text(9);
  k.publishable_key = r.Text(10);
  k.allow = SplitIds(r.Text(11));
  k.deny = SplitIds(r.Text(12));
  k.methods = SplitIds(r.Text(13));
  k.rate_per_minute = r.OptInt(14);
  k.rate_per_month = r.OptInt(15);
  k.ip_allowlist = SplitIds(r.Text(16));
  k.expires_at = r.OptInt(17);
  k.previous_hash = r.Text(18);
  k.previous_expires_at = r.OptInt(19);
  k.created_at = r.Int(20);
  k.updated_at = r.Int(21);
  k.revoked_at = r.OptInt(22);
  k.last_used_at = r.OptInt(23);
  k.version = r.Int(24);
  k.owner_hold = r.Text(25);
  return k;
}

Value OptText(const std::string& s) { return s.empty() ? Value(nullptr) : Value(s); }

// The UTC day of `t`, "2026-11-30".
std::string DayOf(UnixTime t) { return FormatRfc3339(t).substr(0, 10); }

std::string Sql(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s += p;
  return s;
}

std::string FilteredAuditSql(const char* cols, const AuditFilter& f,
                             const std::optional<AuditKey>& after, Params& params);

// The reads of StoreReader, written once for the store (each on a pooled connection) and for
// a write transaction (on the transaction's own connection, seeing its writes).
// Directory names are matched case-insensitively in ASCII (what SCIM clients send).
std::string ToLowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

constexpr const char* kScimTokenCols =
    "id, workspace_id, name, token_hash, created_by, created_at, last_used_at, revoked_at";

ScimToken ScimTokenFrom(const Row& r) {
  return ScimToken{r.Text(0), r.Text(1), r.Text(2),    r.Text(3),
                   r.Text(4), r.Int(5),  r.OptInt(6), r.OptInt(7)};
}

constexpr const char* kScimUserCols =
    "workspace_id, user_id, user_name, external_id, active, resource, version, created_at, "
    "updated_at";

ScimUser ScimUserFrom(const Row& r) {
  return ScimUser{r.Text(0),         r.Text(1), r.Text(2), r.Text(3), r.Int(4) != 0,
                  r.Text(5),         r.Int(6),  r.Int(7),  r.Int(8)};
}

constexpr const char* kScimGroupCols =
    "id, workspace_id, display_name, external_id, resource, version, created_at, updated_at";
constexpr const char* kScimGroupColsG =
    "g.id, g.workspace_id, g.display_name, g.external_id, g.resource, g.version, g.created_at, "
    "g.updated_at";

ScimGroup ScimGroupFrom(const Row& r) {
  return ScimGroup{r.Text(0), r.Text(1), r.Text(2), r.Text(3),
                   r.Text(4), r.Int(5),  r.Int(6),  r.Int(7)};
}

constexpr const char* kWebhookCols =
    "id, workspace_id, url, description, event_types, enabled, disabled_reason, secret, "
    "previous_secret, previous_secret_expires_at, created_at, updated_at, kind, channel";

WebhookEndpoint WebhookFrom(const Row& r) {
  WebhookEndpoint e;
  e.id = r.Text(0);
  e.workspace_id = r.Text(1);
  e.url = r.Text(2);
  e.description = r.Text(3);
  e.event_types = SplitIds(r.Text(4));
  e.enabled = r.Int(5) != 0;
  e.disabled_reason = r.Text(6);
  e.secret = r.Text(7);
  e.previous_secret = r.Text(8);
  e.previous_secret_expires_at = r.OptInt(9);
  e.created_at = r.Int(10);
  e.updated_at = r.Int(11);
  e.kind = r.Text(12);
  e.channel = r.Text(13);
  return e;
}

constexpr const char* kNotificationCols =
    "id, user_id, workspace_id, type, category, title, body, created_at, read_at, link";

Notification NotificationFrom(const Row& r) {
  return Notification{r.Text(0), r.Text(1), r.Text(2), r.Text(3),   r.Text(4),
                      r.Text(5), r.Text(6), r.Int(7),  r.OptInt(8), r.Text(9)};
}

NotificationRule NotificationRuleFrom(const Row& r) {
  NotificationRule n;
  n.workspace_id = r.Text(0);
  n.type = r.Text(1);
  n.channels = SplitIds(r.Text(2));
  n.roles = SplitIds(r.Text(3));
  n.actor = r.Int(4) != 0;
  n.subject = r.Int(5) != 0;
  n.users = SplitIds(r.Text(6));
  n.frequency = r.Text(7);
  n.updated_at = r.Int(8);
  return n;
}

constexpr const char* kDeliveryCols =
    "id, endpoint_id, workspace_id, event_type, payload, status, attempts, last_status_code, "
    "last_error, next_attempt_at, created_at, updated_at";

WebhookDelivery DeliveryFrom(const Row& r) {
  WebhookDelivery d;
  d.id = r.Text(0);
  d.endpoint_id = r.Text(1);
  d.workspace_id = r.Text(2);
  d.event_type = r.Text(3);
  d.payload = r.Text(4);
  d.status = r.Text(5);
  d.attempts = static_cast<int>(r.Int(6));
  d.last_status_code = r.OptInt(7);
  d.last_error = r.Text(8);
  d.next_attempt_at = r.OptInt(9);
  d.created_at = r.Int(10);
  d.updated_at = r.Int(11);
  return d;
}

template <typename Base>
class SqlReads : public Base {
 public:
  std::optional<User> UserById(const std::string& id) override {
    return One<User>(Sql({"SELECT ", kUserCols, " FROM users WHERE id=$1"}), {id}, UserFrom);
  }

  std::optional<User> UserByEmail(const std::string& email) override {
    return One<User>(Sql({"SELECT ", kUserCols, " FROM users WHERE email=$1"}), {email},
                     UserFrom);
  }

  std::optional<Session> SessionByTokenHash(const std::string& hash) override {
    return One<Session>(Sql({"SELECT ", kSessionCols, " FROM sessions WHERE token_hash=$1"}),
                        {hash}, SessionFrom);
  }

  std::vector<Session> LiveSessionsOfUser(const std::string& user_id, UnixTime now) override {
    auto rows = ReadConn()->Query(
        Sql({"SELECT ", kSessionCols,
             " FROM sessions WHERE user_id=$1 AND revoked_at IS NULL AND idle_expires_at > $2 "
             "AND absolute_expires_at > $2 ORDER BY last_active_at DESC, id"}),
        {user_id, now});
    std::vector<Session> out;
    for (const auto& r : rows) out.push_back(SessionFrom(r));
    return out;
  }

  std::vector<Session> RecentSessionsOfUser(const std::string& user_id, int limit) override {
    auto rows = ReadConn()->Query(
        Sql({"SELECT ", kSessionCols,
             " FROM sessions WHERE user_id=$1 ORDER BY created_at DESC, id LIMIT $2"}),
        {user_id, int64_t{limit}});
    std::vector<Session> out;
    for (const auto& r : rows) out.push_back(SessionFrom(r));
    return out;
  }

  std::optional<Workspace> WorkspaceById(const std::string& id) override {
    return One<Workspace>(Sql({"SELECT ", kWorkspaceCols, " FROM workspaces w WHERE w.id=$1"}),
                          {id}, WorkspaceFrom);
  }

  std::vector<WorkspaceWithRole> WorkspacesOfUser(const std::string& user_id) override {
    auto rows = ReadConn()->Query(
        Sql({"SELECT ", kWorkspaceCols,
             ", m.id, m.role, m.joined_at, m.deactivated_at, m.directory_managed, "
             "m.suspended_at, m.suspended_reason "
             "FROM workspaces w JOIN memberships m "
             "ON m.workspace_id=w.id WHERE m.user_id=$1 ORDER BY w.created_at, w.id"}),
        {user_id});
    std::vector<WorkspaceWithRole> out;
    for (const auto& r : rows) {
      Workspace w = WorkspaceFrom(r);
      constexpr int n = kWorkspaceColCount;  // the membership's columns follow
      Membership m{r.Text(n),           w.id,
                   user_id,             r.Text(n + 1),
                   r.Int(n + 2),        r.OptInt(n + 3),
                   r.Int(n + 4) != 0,   r.OptInt(n + 5),
                   r.Text(n + 6)};
      out.push_back({std::move(w), std::move(m)});
    }
    return out;
  }

  std::optional<Membership> MembershipOf(const std::string& ws, const std::string& user) override {
    return One<Membership>(
        "SELECT id, workspace_id, user_id, role, joined_at, deactivated_at, directory_managed, "
        "suspended_at, suspended_reason FROM memberships WHERE workspace_id=$1 AND user_id=$2",
        {ws, user}, [](const Row& r) {
          return Membership{r.Text(0), r.Text(1),     r.Text(2),   r.Text(3), r.Int(4),
                            r.OptInt(5), r.Int(6) != 0, r.OptInt(7), r.Text(8)};
        });
  }

  int64_t MemberCount(const std::string& ws) override {
    auto rows = ReadConn()->Query("SELECT COUNT(*) FROM memberships WHERE workspace_id=$1", {ws});
    return rows.at(0).Int(0);
  }

  std::vector<Member> Members(const std::string& ws) override {
    return All<Member>(Sql({"SELECT ", kMemberCols,
                            " FROM memberships m JOIN users u ON u.id=m.user_id "
                            "WHERE m.workspace_id=$1 ORDER BY m.joined_at, m.id"}),
                       {ws}, MemberFrom);
  }

  std::optional<Member> MemberOf(const std::string& ws, const std::string& user) override {
    return One<Member>(Sql({"SELECT ", kMemberCols,
                            " FROM memberships m JOIN users u ON u.id=m.user_id "
                            "WHERE m.workspace_id=$1 AND m.user_id=$2"}),
                       {ws, user}, MemberFrom);
  }

  int64_t CountMembersWithRole(const std::string& ws, const std::string& role) override {
    return ReadConn()
        ->Query("SELECT COUNT(*) FROM memberships WHERE workspace_id=$1 AND role=$2", {ws, role})
        .at(0)
        .Int(0);
  }

  int64_t CountActiveMembersWithRole(const std::string& ws, const std::string& role) override {
    return ReadConn()
        ->Query("SELECT COUNT(*) FROM memberships WHERE workspace_id=$1 AND role=$2 AND "
                "deactivated_at IS NULL AND suspended_at IS NULL",
                {ws, role})
        .at(0)
        .Int(0);
  }

  std::vector<CustomRole> CustomRoles(const std::string& ws) override {
    return All<CustomRole>(
        Sql({"SELECT ", kRoleCols, " FROM custom_roles WHERE workspace_id=$1 ORDER BY name, id"}),
        {ws}, RoleFrom);
  }

  std::optional<CustomRole> CustomRoleById(const std::string& ws, const std::string& id) override {
    return One<CustomRole>(
        Sql({"SELECT ", kRoleCols, " FROM custom_roles WHERE workspace_id=$1 AND id=$2"}),
        {ws, id}, RoleFrom);
  }

  std::vector<Project> Projects(const std::string& ws) override {
    return All<Project>(
        Sql({"SELECT ", kProjectCols, " FROM projects WHERE workspace_id=$1 ORDER BY name, id"}),
        {ws}, ProjectFrom);
  }

  std::optional<Project> ProjectById(const std::string& ws, const std::string& id) override {
    return One<Project>(
        Sql({"SELECT ", kProjectCols, " FROM projects WHERE workspace_id=$1 AND id=$2"}), {ws, id},
        ProjectFrom);
  }

  std::vector<ProjectMember> ProjectMembers(const std::string& ws) override {
    return All<ProjectMember>(
        "SELECT project_id, workspace_id, user_id, role, added_at FROM project_members "
        "WHERE workspace_id=$1 ORDER BY project_id, added_at, user_id",
        {ws}, [](const Row& r) {
          return ProjectMember{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)};
        });
  }

  std::vector<ApiKey> ApiKeys(const std::string& ws) override {
    return All<ApiKey>(Sql({"SELECT ", kKeyCols,
                            " FROM api_keys WHERE workspace_id=$1 ORDER BY created_at, id"}),
                       {ws}, KeyFrom);
  }

  std::optional<ApiKey> ApiKeyById(const std::string& ws, const std::string& id) override {
    return One<ApiKey>(
        Sql({"SELECT ", kKeyCols, " FROM api_keys WHERE workspace_id=$1 AND id=$2"}), {ws, id},
        KeyFrom);
  }

  std::vector<ApiKey> AllApiKeys(const std::string& after_id, int limit) override {
    return All<ApiKey>(
        Sql({"SELECT ", kKeyCols, " FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2"}),
        {after_id, int64_t{limit}}, KeyFrom);
  }

  std::optional<TotpState> TotpOf(const std::string& user_id) override {
    return One<TotpState>(
        "SELECT user_id, secret, confirmed, last_step, created_at FROM user_totp WHERE user_id=$1",
        {user_id}, [](const Row& r) {
          return TotpState{r.Text(0), r.Text(1), r.Int(2) != 0, r.Int(3), r.Int(4)};
        });
  }

  int RecoveryCodesLeft(const std::string& user_id) override {
    auto rows = ReadConn()->Query(
        "SELECT count(*) FROM recovery_codes WHERE user_id=$1 AND used_at IS NULL", {user_id});
    return rows.empty() ? 0 : static_cast<int>(rows[0].Int(0));
  }

  std::vector<ApiKey> ApiKeysUpdatedSince(UnixTime since) override {
    return All<ApiKey>(
        Sql({"SELECT ", kKeyCols, " FROM api_keys WHERE updated_at >= $1 ORDER BY updated_at, id"}),
        {since}, KeyFrom);
  }

  std::vector<std::string> WorkspacesChangedSince(UnixTime since) override {
    return All<std::string>(
        "SELECT id FROM workspaces WHERE updated_at >= $1 UNION "
        "SELECT workspace_id FROM projects WHERE updated_at >= $1",
        {since}, [](const Row& r) { return r.Text(0); });
  }

  std::vector<std::string> WorkspacesDeletedSince(UnixTime since) override {
    return All<std::string>("SELECT id FROM workspace_tombstones WHERE deleted_at >= $1",
                            {since}, [](const Row& r) { return r.Text(0); });
  }

  std::vector<std::pair<std::string, std::string>> AllKeyIps(const std::string& after_key,
                                                             const std::string& after_ip,
                                                             int limit) override {
    return All<std::pair<std::string, std::string>>(
        "SELECT key_id, ip FROM api_key_ips WHERE key_id > $1 OR (key_id = $1 AND ip > $2) "
        "ORDER BY key_id, ip LIMIT $3",
        {after_key, after_ip, int64_t{limit}},
        [](const Row& r) { return std::make_pair(r.Text(0), r.Text(1)); });
  }

  std::vector<std::pair<std::string, int64_t>> KeyUsageIn(const std::string& period) override {
    return All<std::pair<std::string, int64_t>>(
        "SELECT key_id, count FROM api_key_usage WHERE period=$1", {period},
        [](const Row& r) { return std::make_pair(r.Text(0), r.Int(1)); });
  }

  std::optional<Invitation> InvitationById(const std::string& ws, const std::string& id) override {
    return One<Invitation>(
        Sql({"SELECT ", kInvitationCols, " FROM invitations WHERE workspace_id=$1 AND id=$2"}),
        {ws, id}, InvitationFrom);
  }

  std::optional<AccountToken> AccountTokenByHash(const std::string& hash) override {
    return One<AccountToken>(
        Sql({"SELECT ", kAccountTokenCols, " FROM account_tokens WHERE token_hash=$1"}), {hash},
        AccountTokenFrom);
  }

  std::optional<Invitation> InvitationByTokenHash(const std::string& hash) override {
    return One<Invitation>(
        Sql({"SELECT ", kInvitationCols, " FROM invitations WHERE token_hash=$1"}), {hash},
        InvitationFrom);
  }

  std::vector<Invitation> Invitations(const std::string& ws, bool pending_only,
                                      UnixTime now) override {
    if (pending_only) {
      return All<Invitation>(
          Sql({"SELECT ", kInvitationCols,
               " FROM invitations WHERE workspace_id=$1 AND status='pending' AND expires_at > $2 "
               "ORDER BY created_at DESC, id DESC"}),
          {ws, now}, InvitationFrom);
    }
    return All<Invitation>(Sql({"SELECT ", kInvitationCols,
                                " FROM invitations WHERE workspace_id=$1 "
                                "ORDER BY created_at DESC, id DESC"}),
                           {ws}, InvitationFrom);
  }

  int64_t CountPendingInvitations(const std::string& ws, UnixTime now) override {
    return ReadConn()
        ->Query(
            "SELECT COUNT(*) FROM invitations WHERE workspace_id=$1 AND status='pending' AND "
            "expires_at > $2",
            {ws, now})
        .at(0)
        .Int(0);
  }

  std::optional<Invitation> PendingInvitationFor(const std::string& ws, const std::string& email,
                                                 UnixTime now) override {
    return One<Invitation>(
        Sql({"SELECT ", kInvitationCols,
             " FROM invitations WHERE workspace_id=$1 AND email=$2 AND status='pending' AND "
             "expires_at > $3"}),
        {ws, email, now}, InvitationFrom);
  }

  std::optional<Logo> LogoOf(const std::string& ws) override {
    return One<Logo>(
        "SELECT content_type, bytes, updated_at FROM workspace_logos WHERE workspace_id=$1", {ws},
        [](const Row& r) { return Logo{r.Text(0), r.Text(1), r.Int(2)}; });
  }

  AuditPage AuditEvents(const std::string& chain, std::optional<int64_t> before_seq,
                        int limit) override {
    auto rows = ReadConn()->Query(
        Sql({"SELECT ", kAuditCols,
             " FROM audit_events WHERE workspace_id=$1 AND seq < $2 ORDER BY seq DESC LIMIT $3"}),
        {chain, before_seq.value_or(INT64_MAX), int64_t{limit} + 1});
    AuditPage page;
    for (auto& r : rows) page.events.push_back(AuditFrom(r));
    if (static_cast<int>(page.events.size()) > limit) {
      page.events.pop_back();
      page.next_seq = page.events.back().seq;
    }
    return page;
  }

  AuditFilteredPage FilteredAuditEvents(const AuditFilter& f, std::optional<AuditKey> after,
                                        int limit) override {
    Params params;
    std::string sql = FilteredAuditSql(kAuditCols, f, after, params);
    params.push_back(int64_t{limit} + 1);
    sql += " LIMIT $" + std::to_string(params.size());
    auto rows = ReadConn()->Query(sql, params);
    AuditFilteredPage page;
    page.events.reserve(rows.size());
    for (auto& r : rows) page.events.push_back(AuditFrom(r));
    if (static_cast<int>(page.events.size()) > limit) {
      page.events.pop_back();
      page.next = AuditKey{page.events.back().occurred_at, page.events.back().seq};
    }
    return page;
  }

  AuditChainBounds AuditBounds(const std::string& chain) override {
    auto rows = ReadConn()->Query(
        "SELECT anchor_hash, purged_through_seq, last_hash, last_seq FROM audit_chain_heads "
        "WHERE chain=$1",
        {chain});
    if (rows.empty()) return {};
    return {rows[0].Text(0), rows[0].Int(1), rows[0].Text(2), rows[0].Int(3)};
  }

  std::vector<std::pair<std::string, int>> AuditRetentions() override {
    return All<std::pair<std::string, int>>(
        "SELECT h.chain, COALESCE(w.audit_retention_days, 365) FROM audit_chain_heads h "
        "LEFT JOIN workspaces w ON w.id = h.chain ORDER BY h.chain",
        {}, [](const Row& r) { return std::pair<std::string, int>(r.Text(0), static_cast<int>(r.Int(1))); });
  }

  std::vector<AuditDailyCount> AuditDailyCounts(const std::string& ws, const std::string& from_day,
                                                const std::string& to_day) override {
    return All<AuditDailyCount>(
        "SELECT workspace_id, actor_id, day, action, count FROM audit_daily_counts "
        "WHERE workspace_id=$1 AND day >= $2 AND day <= $3 ORDER BY day, actor_id, action",
        {ws, from_day, to_day}, [](const Row& r) {
          return AuditDailyCount{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4)};
        });
  }

  std::vector<AuditEvent> AuditChainSegment(const std::string& chain, int64_t after_seq,
                                            int limit) override {
    auto rows = ReadConn()->Query(
        Sql({"SELECT ", kAuditCols,
             " FROM audit_events WHERE workspace_id=$1 AND seq > $2 ORDER BY seq LIMIT $3"}),
        {chain, after_seq, int64_t{limit}});
    std::vector<AuditEvent> out;
    for (auto& r : rows) out.push_back(AuditFrom(r));
    return out;
  }

  std::vector<MailMessage> Mail(int limit) override {
    return All<MailMessage>(
        Sql({"SELECT ", kMailCols, " FROM mail ORDER BY created_at DESC, id DESC LIMIT $1"}),
        {int64_t{limit}}, MailFrom);
  }

  std::vector<MailMessage> DueMail(UnixTime now, int limit, MailStatus status) override {
    return All<MailMessage>(Sql({"SELECT ", kMailCols,
                                 " FROM mail WHERE status=$3 AND next_attempt_at <= $1 "
                                 "ORDER BY created_at, id LIMIT $2"}),
                            {now, int64_t{limit}, EnumText(status)}, MailFrom);
  }

  std::optional<IdempotentResponse> FindIdempotentResponse(const std::string& scope,
                                                           const std::string& key) override {
    return One<IdempotentResponse>(
        "SELECT request_hash, status, content_type, body, created_at FROM idempotency_keys "
        "WHERE scope=$1 AND idem_key=$2",
        {scope, key}, [](const Row& r) {
          return IdempotentResponse{r.Text(0), static_cast<int>(r.Int(1)), r.Text(2), r.Text(3),
                                    r.Int(4)};
        });
  }

  std::vector<SsoConnection> SsoConnections(const std::string& ws) override {
    auto out = All<SsoConnection>(Sql({"SELECT ", kSsoConnectionCols,
                                       " FROM sso_connections WHERE workspace_id=$1 "
                                       "ORDER BY created_at, id"}),
                                  {ws}, SsoConnectionFrom);
    for (auto& c : out) c.domains = SsoDomainsOf(c.id);
    return out;
  }

  std::optional<SsoConnection> SsoConnectionById(const std::string& id) override {
    auto c = One<SsoConnection>(
        Sql({"SELECT ", kSsoConnectionCols, " FROM sso_connections WHERE id=$1"}), {id},
        SsoConnectionFrom);
    if (c) c->domains = SsoDomainsOf(c->id);
    return c;
  }

  std::optional<SsoConnection> SsoConnectionByDomain(const std::string& domain) override {
    auto id = One<std::string>("SELECT connection_id FROM sso_domains WHERE domain=$1", {domain},
                               [](const Row& r) { return r.Text(0); });
    if (!id) return std::nullopt;
    return SsoConnectionById(*id);
  }

  std::optional<SsoRequest> SsoRequestById(const std::string& id) override {
    return One<SsoRequest>(Sql({"SELECT ", kSsoRequestCols, " FROM sso_requests WHERE id=$1"}),
                           {id}, SsoRequestFrom);
  }

  int64_t CountSsoRequests(const std::string& connection_id, UnixTime now) override {
    return One<int64_t>(
               "SELECT COUNT(*) FROM sso_requests WHERE connection_id=$1 AND used_at IS NULL "
               "AND expires_at > $2",
               {connection_id, now}, [](const Row& r) { return r.Int(0); })
        .value_or(0);
  }

  std::vector<ScimToken> ScimTokens(const std::string& ws) override {
    return All<ScimToken>(Sql({"SELECT ", kScimTokenCols,
                               " FROM scim_tokens WHERE workspace_id=$1 ORDER BY created_at, id"}),
                          {ws}, ScimTokenFrom);
  }

  std::optional<ScimToken> ScimTokenByHash(const std::string& hash) override {
    return One<ScimToken>(Sql({"SELECT ", kScimTokenCols, " FROM scim_tokens WHERE token_hash=$1"}),
                          {hash}, ScimTokenFrom);
  }

  std::optional<ScimSettings> ScimSettingsOf(const std::string& ws) override {
    return One<ScimSettings>(
        "SELECT workspace_id, group_mappings, updated_at FROM scim_settings WHERE workspace_id=$1",
        {ws}, [](const Row& r) { return ScimSettings{r.Text(0), r.Text(1), r.Int(2)}; });
  }

  std::optional<ScimUser> ScimUserOf(const std::string& ws, const std::string& user) override {
    return One<ScimUser>(
        Sql({"SELECT ", kScimUserCols, " FROM scim_users WHERE workspace_id=$1 AND user_id=$2"}),
        {ws, user}, ScimUserFrom);
  }

  std::optional<ScimUser> ScimUserByUserName(const std::string& ws,
                                             const std::string& user_name) override {
    return One<ScimUser>(
        Sql({"SELECT ", kScimUserCols, " FROM scim_users WHERE workspace_id=$1 AND user_name=$2"}),
        {ws, user_name}, ScimUserFrom);
  }

  std::vector<ScimUser> ScimUsersByExternalId(const std::string& ws,
                                              const std::string& external_id) override {
    return All<ScimUser>(Sql({"SELECT ", kScimUserCols,
                              " FROM scim_users WHERE workspace_id=$1 AND external_id=$2 "
                              "ORDER BY created_at, user_id"}),
                         {ws, external_id}, ScimUserFrom);
  }

  std::vector<ScimUser> ScimUsers(const std::string& ws, int64_t offset, int64_t limit) override {
    return All<ScimUser>(Sql({"SELECT ", kScimUserCols,
                              " FROM scim_users WHERE workspace_id=$1 "
                              "ORDER BY created_at, user_id LIMIT $2 OFFSET $3"}),
                         {ws, limit, offset}, ScimUserFrom);
  }

  int64_t CountScimUsers(const std::string& ws) override {
    return ReadConn()->Query("SELECT COUNT(*) FROM scim_users WHERE workspace_id=$1", {ws}).at(0).Int(0);
  }

  std::optional<ScimGroup> ScimGroupById(const std::string& ws, const std::string& id) override {
    return One<ScimGroup>(
        Sql({"SELECT ", kScimGroupCols, " FROM scim_groups WHERE workspace_id=$1 AND id=$2"}),
        {ws, id}, ScimGroupFrom);
  }

  std::optional<ScimGroup> ScimGroupByDisplayKey(const std::string& ws,
                                                 const std::string& key) override {
    return One<ScimGroup>(Sql({"SELECT ", kScimGroupCols,
                               " FROM scim_groups WHERE workspace_id=$1 AND display_key=$2"}),
                          {ws, key}, ScimGroupFrom);
  }

  std::vector<ScimGroup> ScimGroupsByExternalId(const std::string& ws,
                                                const std::string& external_id) override {
    return All<ScimGroup>(Sql({"SELECT ", kScimGroupCols,
                               " FROM scim_groups WHERE workspace_id=$1 AND external_id=$2 "
                               "ORDER BY created_at, id"}),
                          {ws, external_id}, ScimGroupFrom);
  }

  std::vector<ScimGroup> ScimGroups(const std::string& ws, int64_t offset, int64_t limit) override {
    return All<ScimGroup>(Sql({"SELECT ", kScimGroupCols,
                               " FROM scim_groups WHERE workspace_id=$1 "
                               "ORDER BY created_at, id LIMIT $2 OFFSET $3"}),
                          {ws, limit, offset}, ScimGroupFrom);
  }

  int64_t CountScimGroups(const std::string& ws) override {
    return ReadConn()->Query("SELECT COUNT(*) FROM scim_groups WHERE workspace_id=$1", {ws}).at(0).Int(0);
  }

  std::vector<std::string> ScimGroupMembers(const std::string& group_id) override {
    return All<std::string>(
        "SELECT user_id FROM scim_group_members WHERE group_id=$1 ORDER BY user_id", {group_id},
        [](const Row& r) { return r.Text(0); });
  }

  std::vector<OutboxEvent> PendingOutboxEvents(int limit) override {
    return All<OutboxEvent>(
        "SELECT id, workspace_id, type, payload, created_at, source FROM outbox_events "
        "ORDER BY created_at, id LIMIT $1",
        {int64_t{limit}}, [](const Row& r) {
          return OutboxEvent{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.Text(5)};
        });
  }

  std::vector<WebhookEndpoint> WebhookEndpoints(const std::string& ws) override {
    return All<WebhookEndpoint>(Sql({"SELECT ", kWebhookCols,
                                     " FROM webhook_endpoints WHERE workspace_id=$1 "
                                     "ORDER BY created_at, id"}),
                                {ws}, WebhookFrom);
  }

  std::optional<WebhookEndpoint> WebhookEndpointById(const std::string& ws,
                                                     const std::string& id) override {
    return One<WebhookEndpoint>(
        Sql({"SELECT ", kWebhookCols, " FROM webhook_endpoints WHERE workspace_id=$1 AND id=$2"}),
        {ws, id}, WebhookFrom);
  }

  std::vector<WebhookDelivery> WebhookDeliveries(const std::string& endpoint_id,
                                                 const std::string& before_id, int limit) override {
    if (before_id.empty()) {
      return All<WebhookDelivery>(Sql({"SELECT ", kDeliveryCols,
                                       " FROM webhook_deliveries WHERE endpoint_id=$1 "
                                       "ORDER BY created_at DESC, id DESC LIMIT $2"}),
                                  {endpoint_id, int64_t{limit}}, DeliveryFrom);
    }
    return All<WebhookDelivery>(
        Sql({"SELECT ", kDeliveryCols,
             " FROM webhook_deliveries d WHERE endpoint_id=$1 AND (created_at, id) < "
             "(SELECT created_at, id FROM webhook_deliveries WHERE id=$2) "
             "ORDER BY created_at DESC, id DESC LIMIT $3"}),
        {endpoint_id, before_id, int64_t{limit}}, DeliveryFrom);
  }

  std::optional<WebhookDelivery> WebhookDeliveryById(const std::string& endpoint_id,
                                                     const std::string& id) override {
    return One<WebhookDelivery>(
        Sql({"SELECT ", kDeliveryCols, " FROM webhook_deliveries WHERE endpoint_id=$1 AND id=$2"}),
        {endpoint_id, id}, DeliveryFrom);
  }

  std::vector<WebhookDelivery> DueWebhookDeliveries(UnixTime now, int limit) override {
    // At most two per endpoint, so that one endpoint's backlog (a dead receiver with a
    // thousand messages queued) never fills the batch and starves the others.
    return All<WebhookDelivery>(
        Sql({"SELECT ", kDeliveryCols, " FROM (SELECT ", kDeliveryCols,
             ", ROW_NUMBER() OVER (PARTITION BY endpoint_id ORDER BY created_at, id) AS rn "
             "FROM webhook_deliveries WHERE status='pending' AND next_attempt_at <= $1) due "
             "WHERE rn <= 2 ORDER BY created_at, id LIMIT $2"}),
        {now, int64_t{limit}}, DeliveryFrom);
  }

  std::vector<NotificationRule> NotificationRules(const std::string& ws) override {
    return All<NotificationRule>(
        "SELECT workspace_id, type, channels, roles, actor, subject, users, frequency, updated_at "
        "FROM notification_rules WHERE workspace_id=$1 ORDER BY type",
        {ws}, NotificationRuleFrom);
  }

  std::optional<NotificationPreferences> NotificationPreferencesOf(const std::string& user) override {
    return One<NotificationPreferences>(
        "SELECT invite_access, security, system FROM notification_preferences WHERE user_id=$1",
        {user}, [](const Row& r) {
          return NotificationPreferences{r.Text(0), r.Text(1), r.Text(2)};
        });
  }

  // Notifications are visible while their user is an active member of their workspace.
  static constexpr const char* kVisibleNotification =
      " FROM notifications n JOIN memberships m ON m.workspace_id=n.workspace_id AND "
      "m.user_id=n.user_id AND m.deactivated_at IS NULL AND m.suspended_at IS NULL "
      "WHERE n.user_id=$1";

  std::vector<Notification> NotificationsOf(const std::string& user, const std::string& ws,
                                            bool unread_only, const std::string& before_id,
                                            int limit) override {
    std::string sql = Sql({"SELECT n.id, n.user_id, n.workspace_id, n.type, n.category, n.title, "
                           "n.body, n.created_at, n.read_at, n.link",
                           kVisibleNotification,
                           " AND ($2='' OR n.workspace_id=$2) AND ($3='' OR n.id < $3)",
                           unread_only ? " AND n.read_at IS NULL" : "",
                           " ORDER BY n.id DESC LIMIT $4"});
    return All<Notification>(sql, {user, ws, before_id, int64_t{limit}}, NotificationFrom);
  }

  int64_t CountUnreadNotifications(const std::string& user, const std::string& ws) override {
    auto rows = ReadConn()->Query(Sql({"SELECT COUNT(*)", kVisibleNotification,
                                       " AND ($2='' OR n.workspace_id=$2) AND n.read_at IS NULL"}),
                                  {user, ws});
    return rows.at(0).Int(0);
  }

  std::optional<Notification> NotificationById(const std::string& user,
                                               const std::string& id) override {
    return One<Notification>(Sql({"SELECT n.id, n.user_id, n.workspace_id, n.type, n.category, "
                                  "n.title, n.body, n.created_at, n.read_at, n.link",
                                  kVisibleNotification, " AND n.id=$2"}),
                             {user, id}, NotificationFrom);
  }

  std::vector<std::pair<std::string, std::string>> DueDigests(std::optional<UnixTime> now,
                                                              int limit) override {
    return All<std::pair<std::string, std::string>>(
        "SELECT user_id, workspace_id FROM digest_items WHERE due_at <= $1 "
        "GROUP BY user_id, workspace_id ORDER BY MIN(due_at), user_id, workspace_id LIMIT $2",
        {now.value_or(std::numeric_limits<int64_t>::max()), int64_t{limit}},
        [](const Row& r) { return std::make_pair(r.Text(0), r.Text(1)); });
  }

  std::vector<ScimGroup> ScimGroupsOfUser(const std::string& ws, const std::string& user) override {
    return All<ScimGroup>(
        Sql({"SELECT ", kScimGroupColsG,
             " FROM scim_groups g JOIN scim_group_members gm ON gm.group_id=g.id "
             "WHERE g.workspace_id=$1 AND gm.user_id=$2 ORDER BY g.display_key"}),
        {ws, user}, ScimGroupFrom);
  }

 protected:
  std::vector<std::string> SsoDomainsOf(const std::string& connection_id) {
    return All<std::string>("SELECT domain FROM sso_domains WHERE connection_id=$1 ORDER BY domain",
                            {connection_id}, [](const Row& r) { return r.Text(0); });
  }

  // The connection a read runs on.
  virtual Lease ReadConn() = 0;

  template <typename T, typename F>
  std::vector<T> All(const std::string& sql, const Params& params, F from) {
    auto rows = ReadConn()->Query(sql, params);
    std::vector<T> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(from(r));
    return out;
  }

  template <typename T, typename F>
  std::optional<T> One(const std::string& sql, const Params& params, F from) {
    auto rows = ReadConn()->Query(sql, params);
    if (rows.empty()) return std::nullopt;
    return from(rows[0]);
  }

};

class SqlWriteTx final : public SqlReads<WriteTx> {
 public:
  SqlWriteTx(Lease lease, std::string_view begin_sql, std::string_view for_update)
      : c_(std::move(lease)), for_update_(for_update) {
    c_->Exec(begin_sql);
  }
  ~SqlWriteTx() override {
    if (!done_) {
      try {
        c_->Exec("ROLLBACK");
      } catch (...) {
        // The connection is broken; the backend discards it.
      }
    }
  }

  Status InsertUser(const User& u) override {
    // ON CONFLICT rather than catching the unique violation: on PostgreSQL a failed statement
    // aborts the whole transaction (and its COMMIT then silently rolls back), so the refusal
    // must not be an error for the transaction to stay usable, as it does on SQLite.
    int64_t inserted = c_->Exec(
        "INSERT INTO users (id, email, name, password_hash, theme, language, avatar_url, "
        "created_at, updated_at, last_login_at, email_verified_at) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (email) DO NOTHING",
        {u.id, u.email, u.name, u.password_hash, u.theme, u.language, u.avatar_url,
         u.created_at, u.updated_at, Opt(u.last_login_at), Opt(u.email_verified_at)});
    if (inserted == 0) {
      return Error::Conflict("email_taken", "An account with this email already exists.",
                             "email");
    }
    return {};
  }

  void UpdateUser(const User& u) override {
    c_->Exec(
        "UPDATE users SET name=$2, theme=$3, language=$4, avatar_url=$5, password_hash=$6, "
        "updated_at=$7 WHERE id=$1",
        {u.id, u.name, u.theme, u.language, u.avatar_url, u.password_hash, u.updated_at});
  }

  void AnonymiseUser(const std::string& user_id, UnixTime at) override {
    // "deleted:usr_…" has no @, so no sign-up can take it and the unique index holds.
    c_->Exec(
        "UPDATE users SET email='deleted:' || id, name='Deleted user', password_hash='', "
        "avatar_url='', mfa_enabled=0, updated_at=$2, deleted_at=$2 WHERE id=$1",
        {user_id, at});
    c_->Exec("DELETE FROM account_tokens WHERE user_id=$1", {user_id});
  }

  void MarkEmailVerified(const std::string& user_id, UnixTime at) override {
    c_->Exec("UPDATE users SET email_verified_at=$2 WHERE id=$1 AND email_verified_at IS NULL",
             {user_id, at});
  }

  void InsertAccountToken(const AccountToken& t) override {
    c_->Exec("DELETE FROM account_tokens WHERE user_id=$1 AND expires_at < $2",
             {t.user_id, t.created_at});
    c_->Exec(Sql({"INSERT INTO account_tokens (", kAccountTokenCols,
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7)"}),
             {t.token_hash, PurposeText(t.purpose), t.user_id, t.email, t.created_at,
              t.expires_at, Opt(t.used_at)});
  }

  bool UseAccountToken(const std::string& token_hash, UnixTime at) override {
    return c_->Exec("UPDATE account_tokens SET used_at=$2 WHERE token_hash=$1 AND used_at IS NULL",
                    {token_hash, at}) > 0;
  }

  int RetireAccountTokens(const std::string& user_id, AccountTokenPurpose purpose,
                          UnixTime at) override {
    return static_cast<int>(c_->Exec(
        "UPDATE account_tokens SET used_at=$3 WHERE user_id=$1 AND purpose=$2 AND used_at IS NULL",
        {user_id, PurposeText(purpose), at}));
  }

  void PutPendingTotp(const TotpState& t) override {
    c_->Exec(
        "INSERT INTO user_totp (user_id, secret, confirmed, last_step, created_at) "
        "VALUES ($1,$2,0,0,$3) ON CONFLICT (user_id) DO UPDATE SET secret=excluded.secret, "
        "confirmed=0, last_step=0, created_at=excluded.created_at",
        {t.user_id, Blob{t.secret}, t.created_at});
  }

  bool UseTotpStep(const std::string& user_id, int64_t step) override {
    return c_->Exec("UPDATE user_totp SET last_step=$2 WHERE user_id=$1 AND last_step < $2",
                    {user_id, step}) > 0;
  }

  void ConfirmTotp(const std::string& user_id, const std::vector<std::string>& code_hashes) override {
    c_->Exec("UPDATE user_totp SET confirmed=1 WHERE user_id=$1", {user_id});
    c_->Exec("UPDATE users SET mfa_enabled=1 WHERE id=$1", {user_id});
    c_->Exec("DELETE FROM recovery_codes WHERE user_id=$1", {user_id});
    for (const auto& h : code_hashes) {
      c_->Exec("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1,$2)", {user_id, h});
    }
  }

  void DeleteTotp(const std::string& user_id) override {
    c_->Exec("DELETE FROM user_totp WHERE user_id=$1", {user_id});
    c_->Exec("DELETE FROM recovery_codes WHERE user_id=$1", {user_id});
    c_->Exec("UPDATE users SET mfa_enabled=0 WHERE id=$1", {user_id});
  }

  bool UseRecoveryCode(const std::string& user_id, const std::string& code_hash,
                       UnixTime at) override {
    return c_->Exec(
               "UPDATE recovery_codes SET used_at=$3 WHERE user_id=$1 AND code_hash=$2 AND "
               "used_at IS NULL",
               {user_id, code_hash, at}) > 0;
  }

  void SetUserLastLogin(const std::string& user_id, UnixTime at) override {
    c_->Exec("UPDATE users SET last_login_at=$2 WHERE id=$1", {user_id, at});
  }

  void InsertSession(const Session& s) override {
    c_->Exec(Sql({"INSERT INTO sessions (", kSessionCols,
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)"}),
             {s.id, s.user_id, s.token_hash, s.device, s.browser, s.ip, s.user_agent,
              s.created_at, s.last_active_at, s.idle_expires_at, s.absolute_expires_at,
              Opt(s.revoked_at), s.country, s.method, s.sso_connection_id,
              s.scope_workspace_id});
  }

  bool RevokeSession(const std::string& user_id, const std::string& session_id,
                     UnixTime at) override {
    return c_->Exec(
               "UPDATE sessions SET revoked_at=$3 WHERE id=$1 AND user_id=$2 AND revoked_at IS "
               "NULL",
               {session_id, user_id, at}) > 0;
  }

  int RevokeOtherSessions(const std::string& user_id, const std::string& keep,
                          UnixTime at) override {
    return static_cast<int>(c_->Exec(
        "UPDATE sessions SET revoked_at=$3 WHERE user_id=$1 AND id<>$2 AND revoked_at IS NULL",
        {user_id, keep, at}));
  }

  void RecordSessionActivity(const std::vector<SessionActivity>& batch) override {
    for (const auto& a : batch) {
      c_->Exec(
          "UPDATE sessions SET last_active_at=$2, idle_expires_at=$3 WHERE id=$1 AND "
          "last_active_at < $2",
          {a.session_id, a.last_active_at, a.idle_expires_at});
    }
  }

  void InsertWorkspace(const Workspace& w) override {
    c_->Exec(
        "INSERT INTO workspaces (id, name, region, timezone, language, plan, "
        "subscription_status, audit_retention_days, logo_content_type, logo_updated_at, "
        "created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        {w.id, w.name, w.region, w.timezone, w.language, w.plan, w.subscription_status,
         int64_t{w.audit_retention_days}, w.logo_content_type, w.logo_updated_at, w.created_at,
         w.updated_at});
  }

  void UpdateWorkspace(const Workspace& w) override {
    c_->Exec(
        "UPDATE workspaces SET name=$2, timezone=$3, language=$4, plan=$5, "
        "subscription_status=$6, audit_retention_days=$7, logo_content_type=$8, "
        "logo_updated_at=$9, updated_at=$10, require_mfa=$11, sso_enforced=$12 WHERE id=$1",
        {w.id, w.name, w.timezone, w.language, w.plan, w.subscription_status,
         int64_t{w.audit_retention_days}, w.logo_content_type, w.logo_updated_at, w.updated_at,
         int64_t{w.require_mfa ? 1 : 0}, int64_t{w.sso_enforced ? 1 : 0}});
  }

  void UpdateIpAllowlist(const std::string& id, bool enabled,
                         const std::vector<IpAllowEntry>& entries, UnixTime at) override {
    c_->Exec(
        "UPDATE workspaces SET ip_allowlist_enabled=$2, ip_allowlist=$3, "
        "ip_allowlist_updated_at=$4, updated_at=$4 WHERE id=$1",
        {id, int64_t{enabled ? 1 : 0}, JoinAllowlist(entries), at});
  }

  void DeleteWorkspace(const std::string& id, UnixTime now) override {
    c_->Exec("DELETE FROM workspaces WHERE id=$1", {id});
    // Tombstones are read for seconds after the deletion; a day is a generous margin.
    c_->Exec("DELETE FROM workspace_tombstones WHERE deleted_at < $1", {now - 86400});
    c_->Exec(
        "INSERT INTO workspace_tombstones (id, deleted_at) VALUES ($1,$2) "
        "ON CONFLICT (id) DO UPDATE SET deleted_at=excluded.deleted_at",
        {id, now});
  }

  void PutLogo(const std::string& ws, const Logo& logo) override {
    c_->Exec(
        "INSERT INTO workspace_logos (workspace_id, content_type, bytes, updated_at) "
        "VALUES ($1,$2,$3,$4) ON CONFLICT (workspace_id) DO UPDATE SET "
        "content_type=excluded.content_type, bytes=excluded.bytes, updated_at=excluded.updated_at",
        {ws, logo.content_type, Blob{logo.bytes}, logo.updated_at});
  }

  void InsertMembership(const Membership& m) override {
    c_->Exec(
        "INSERT INTO memberships (id, workspace_id, user_id, role, joined_at, deactivated_at, "
        "directory_managed) VALUES ($1,$2,$3,$4,$5,$6,$7)",
        {m.id, m.workspace_id, m.user_id, m.role, m.joined_at, Opt(m.deactivated_at),
         int64_t{m.directory_managed ? 1 : 0}});
  }

  bool UpdateMemberRole(const std::string& ws, const std::string& user,
                        const std::string& role) override {
    return c_->Exec("UPDATE memberships SET role=$3 WHERE workspace_id=$1 AND user_id=$2",
                    {ws, user, role}) > 0;
  }

  bool DeleteMembership(const std::string& ws, const std::string& user) override {
    // The directory's record of the member goes with the membership.
    c_->Exec("DELETE FROM scim_users WHERE workspace_id=$1 AND user_id=$2", {ws, user});
    c_->Exec(
        "DELETE FROM scim_group_members WHERE user_id=$2 AND group_id IN "
        "(SELECT id FROM scim_groups WHERE workspace_id=$1)",
        {ws, user});
    return c_->Exec("DELETE FROM memberships WHERE workspace_id=$1 AND user_id=$2", {ws, user}) > 0;
  }

  bool SetMembershipState(const std::string& ws, const std::string& user,
                          std::optional<UnixTime> deactivated_at, bool directory_managed) override {
    return c_->Exec(
               "UPDATE memberships SET deactivated_at=$3, directory_managed=$4 "
               "WHERE workspace_id=$1 AND user_id=$2",
               {ws, user, Opt(deactivated_at), int64_t{directory_managed ? 1 : 0}}) > 0;
  }

  bool SetMembershipSuspension(const std::string& ws, const std::string& user,
                               std::optional<UnixTime> suspended_at,
                               const std::string& reason) override {
    return c_->Exec(
               "UPDATE memberships SET suspended_at=$3, suspended_reason=$4 "
               "WHERE workspace_id=$1 AND user_id=$2",
               {ws, user, Opt(suspended_at), reason}) > 0;
  }

  std::vector<ApiKey> HoldKeysOfOwner(const std::string& ws, const std::string& owner,
                                      const std::string& hold, UnixTime at) override {
    return Keys(Sql({"UPDATE api_keys SET owner_hold=$3, updated_at=$4, version=version+1 "
                     "WHERE workspace_id=$1 AND owner_id=$2 AND revoked_at IS NULL "
                     "AND owner_hold<>$3 RETURNING ",
                     kKeyCols}),
                {ws, owner, hold, at});
  }

  // Runs the statement(s) of `f` under a savepoint; false when they broke a unique constraint,
  // which is then undone. On PostgreSQL a failed statement aborts the whole transaction (and
  // its COMMIT then silently rolls back), so catching the violation alone would leave the
  // transaction unusable, where on SQLite it stays usable.
  template <typename F>
  bool WithinUniqueConstraints(F&& f) {
    c_->Exec("SAVEPOINT unique_check");
    try {
      f();
    } catch (const UniqueViolation&) {
      c_->Exec("ROLLBACK TO SAVEPOINT unique_check");
      c_->Exec("RELEASE SAVEPOINT unique_check");
      return false;
    }
    c_->Exec("RELEASE SAVEPOINT unique_check");
    return true;
  }

  Status InsertCustomRole(const CustomRole& r) override {
    bool inserted = WithinUniqueConstraints([&] {
      c_->Exec(Sql({"INSERT INTO custom_roles (", kRoleCols, ") VALUES ($1,$2,$3,$4,$5,$6,$7)"}),
               {r.id, r.workspace_id, r.name, r.description, JoinIds(r.permissions), r.created_at,
                r.updated_at});
    });
    if (!inserted) return RoleNameTaken();
    return {};
  }

  Status UpdateCustomRole(const CustomRole& r) override {
    bool updated = WithinUniqueConstraints([&] {
      c_->Exec(
          "UPDATE custom_roles SET name=$3, description=$4, permissions=$5, updated_at=$6 "
          "WHERE workspace_id=$1 AND id=$2",
          {r.workspace_id, r.id, r.name, r.description, JoinIds(r.permissions), r.updated_at});
    });
    if (!updated) return RoleNameTaken();
    return {};
  }

  bool DeleteCustomRole(const std::string& ws, const std::string& id) override {
    return c_->Exec("DELETE FROM custom_roles WHERE workspace_id=$1 AND id=$2", {ws, id}) > 0;
  }

  Status InsertProject(const Project& p) override {
    bool inserted = WithinUniqueConstraints([&] {
      c_->Exec(Sql({"INSERT INTO projects (", kProjectCols, ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"}),
               {p.id, p.workspace_id, p.name, p.environment, Opt(p.rate_limit_per_minute),
                Opt(p.rate_limit_per_month), p.created_at, p.updated_at});
    });
    if (!inserted) return ProjectNameTaken();
    return {};
  }

  Status UpdateProject(const Project& p) override {
    bool updated = WithinUniqueConstraints([&] {
      c_->Exec(
          "UPDATE projects SET name=$3, environment=$4, rate_limit_per_minute=$5, "
          "rate_limit_per_month=$6, updated_at=$7 WHERE workspace_id=$1 AND id=$2",
          {p.workspace_id, p.id, p.name, p.environment, Opt(p.rate_limit_per_minute),
           Opt(p.rate_limit_per_month), p.updated_at});
    });
    if (!updated) return ProjectNameTaken();
    return {};
  }

  bool DeleteProject(const std::string& ws, const std::string& id) override {
    return c_->Exec("DELETE FROM projects WHERE workspace_id=$1 AND id=$2", {ws, id}) > 0;
  }

  void PutProjectMember(const ProjectMember& m) override {
    c_->Exec(
        "INSERT INTO project_members (project_id, workspace_id, user_id, role, added_at) "
        "VALUES ($1,$2,$3,$4,$5) ON CONFLICT (project_id, user_id) DO UPDATE SET role=excluded.role",
        {m.project_id, m.workspace_id, m.user_id, m.role, m.added_at});
  }

  bool DeleteProjectMember(const std::string& project_id, const std::string& user_id) override {
    return c_->Exec("DELETE FROM project_members WHERE project_id=$1 AND user_id=$2",
                    {project_id, user_id}) > 0;
  }

  void InsertApiKey(const ApiKey& k) override {
    c_->Exec(Sql({"INSERT INTO api_keys (", kKeyCols,
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,"
                  "$19,$20,$21,$22,$23,$24,$25,$26)"}),
             {k.id, k.workspace_id, OptText(k.project_id), EnumText(k.type),
              EnumText(k.environment), k.name, k.service, k.owner_id, k.prefix, k.hash,
              k.publishable_key, JoinIds(k.allow), JoinIds(k.deny), JoinIds(k.methods),
              Opt(k.rate_per_minute), Opt(k.rate_per_month), JoinIds(k.ip_allowlist),
              Opt(k.expires_at), OptText(k.previous_hash), Opt(k.previous_expires_at),
              k.created_at, k.updated_at, Opt(k.revoked_at), Opt(k.last_used_at), k.version,
              k.owner_hold});
  }

  bool UpdateApiKey(ApiKey& k) override {
    auto rows = c_->Query(
        "UPDATE api_keys SET name=$2, hash=$3, allow_patterns=$4, deny_patterns=$5, methods=$6, "
        "rate_per_minute=$7, rate_per_month=$8, ip_allowlist=$9, expires_at=$10, "
        "previous_hash=$11, previous_expires_at=$12, updated_at=$13, revoked_at=$14, prefix=$15, "
        "publishable_key=$16, service=$17, version=version+1 WHERE id=$1 "
        "RETURNING version",
        {k.id, k.name, k.hash, JoinIds(k.allow), JoinIds(k.deny), JoinIds(k.methods),
         Opt(k.rate_per_minute), Opt(k.rate_per_month), JoinIds(k.ip_allowlist),
         Opt(k.expires_at), OptText(k.previous_hash), Opt(k.previous_expires_at), k.updated_at,
         Opt(k.revoked_at), k.prefix, k.publishable_key, k.service});
    if (rows.empty()) return false;
    k.version = rows[0].Int(0);
    return true;
  }

  std::vector<ApiKey> RevokeKeysOfOwner(const std::string& ws, const std::string& owner,
                                        UnixTime at) override {
    return Keys(Sql({"UPDATE api_keys SET revoked_at=$3, updated_at=$3, version=version+1 "
                     "WHERE workspace_id=$1 AND owner_id=$2 AND revoked_at IS NULL RETURNING ",
                     kKeyCols}),
                {ws, owner, at});
  }

  std::vector<ApiKey> TransferKeysOfOwner(const std::string& ws, const std::string& owner,
                                          const std::string& new_owner, UnixTime at) override {
    return Keys(Sql({"UPDATE api_keys SET owner_id=$3, owner_hold='', updated_at=$4, "
                     "version=version+1 "
                     "WHERE workspace_id=$1 AND owner_id=$2 AND revoked_at IS NULL RETURNING ",
                     kKeyCols}),
                {ws, owner, new_owner, at});
  }

  std::vector<ApiKey> RevokeAllKeysOfOwner(const std::string& owner, UnixTime at) override {
    return Keys(Sql({"UPDATE api_keys SET revoked_at=$2, updated_at=$2, version=version+1 "
                     "WHERE owner_id=$1 AND revoked_at IS NULL RETURNING ",
                     kKeyCols}),
                {owner, at});
  }

  std::optional<Workspace> LockWorkspace(const std::string& id) override {
    return One<Workspace>(
        Sql({"SELECT ", kWorkspaceCols, " FROM workspaces w WHERE w.id=$1", for_update_}), {id},
        WorkspaceFrom);
  }

  std::optional<ApiKey> LockApiKey(const std::string& ws, const std::string& id) override {
    return One<ApiKey>(
        Sql({"SELECT ", kKeyCols, " FROM api_keys WHERE workspace_id=$1 AND id=$2", for_update_}),
        {ws, id}, KeyFrom);
  }

  std::optional<User> LockUser(const std::string& id) override {
    return One<User>(Sql({"SELECT ", kUserCols, " FROM users WHERE id=$1", for_update_}), {id},
                     UserFrom);
  }

  std::optional<AccountToken> LockAccountToken(const std::string& hash) override {
    return One<AccountToken>(Sql({"SELECT ", kAccountTokenCols,
                                  " FROM account_tokens WHERE token_hash=$1", for_update_}),
                             {hash}, AccountTokenFrom);
  }

  std::optional<SsoConnection> LockSsoConnection(const std::string& id) override {
    auto c = One<SsoConnection>(
        Sql({"SELECT ", kSsoConnectionCols, " FROM sso_connections WHERE id=$1", for_update_}),
        {id}, SsoConnectionFrom);
    if (c) c->domains = SsoDomainsOf(c->id);
    return c;
  }

  std::optional<SsoRequest> LockSsoRequest(const std::string& id) override {
    return One<SsoRequest>(
        Sql({"SELECT ", kSsoRequestCols, " FROM sso_requests WHERE id=$1", for_update_}), {id},
        SsoRequestFrom);
  }

  std::optional<Invitation> LockInvitation(const std::string& ws, const std::string& id) override {
    return One<Invitation>(Sql({"SELECT ", kInvitationCols,
                                " FROM invitations WHERE workspace_id=$1 AND id=$2", for_update_}),
                           {ws, id}, InvitationFrom);
  }

  // A few statements of up to kUsageRows rows each, not two per key: with 10,000 active keys
  // the flusher otherwise spent a tenth of the server's core (and on PostgreSQL, minutes at
  // shutdown) in round trips. VALUES columns are column1.. on both backends; parameters in
  // VALUES are untyped on PostgreSQL, hence the casts.
  void RecordKeyUsage(const std::vector<KeyUsage>& batch) override {
    constexpr size_t kUsageRows = 200;
    for (size_t start = 0; start < batch.size(); start += kUsageRows) {
      size_t end = std::min(batch.size(), start + kUsageRows);
      std::string used_values, count_values;
      Params used, counts;
      for (size_t i = start; i < end; ++i) {
        const KeyUsage& u = batch[i];
        if (u.last_used_at > 0) {
          used_values += used_values.empty() ? "" : ",";
          used_values += "($" + std::to_string(used.size() + 1) + ",$" +
                         std::to_string(used.size() + 2) + ")";
          used.push_back(u.key_id);
          used.push_back(u.last_used_at);
        }
        if (u.count > 0) {
          count_values += count_values.empty() ? "" : ",";
          count_values += "($" + std::to_string(counts.size() + 1) + ",$" +
                          std::to_string(counts.size() + 2) + ",$" +
                          std::to_string(counts.size() + 3) + ")";
          counts.push_back(u.key_id);
          counts.push_back(u.period);
          counts.push_back(u.count);
        }
      }
      if (!used.empty()) {
        c_->Exec(
            "UPDATE api_keys SET last_used_at = CAST(v.column2 AS BIGINT) FROM (VALUES " +
                used_values +
                ") AS v WHERE api_keys.id = v.column1 AND (api_keys.last_used_at IS NULL OR "
                "api_keys.last_used_at < CAST(v.column2 AS BIGINT))",
            used);
      }
      if (!counts.empty()) {
        c_->Exec(
            "INSERT INTO api_key_usage (key_id, period, count) SELECT v.column1, v.column2, "
            "CAST(v.column3 AS BIGINT) FROM (VALUES " + count_values +
                ") AS v WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = v.column1) "
                "ON CONFLICT (key_id, period) DO UPDATE SET count = api_key_usage.count + "
                "excluded.count",
            counts);
      }
    }
  }

  std::vector<size_t> InsertKeyIps(const std::vector<KeyIpUse>& uses) override {
    constexpr size_t kRows = 200;
    std::vector<size_t> inserted;
    for (size_t start = 0; start < uses.size(); start += kRows) {
      size_t end = std::min(uses.size(), start + kRows);
      std::string values;
      Params params;
      params.reserve((end - start) * 3);
      std::map<std::pair<std::string, std::string>, size_t> position;
      for (size_t i = start; i < end; ++i) {
        const KeyIpUse& u = uses[i];
        values += values.empty() ? "($" : ",($";
        values += std::to_string(params.size() + 1) + ",$" + std::to_string(params.size() + 2) +
                  ",$" + std::to_string(params.size() + 3) + ")";
        params.insert(params.end(), {u.key_id, u.ip, u.at});
        position.emplace(std::pair{u.key_id, u.ip}, i);
      }
      auto rows = c_->Query(
          "INSERT INTO api_key_ips (key_id, ip, first_seen_at) SELECT v.column1, v.column2, "
          "CAST(v.column3 AS BIGINT) FROM (VALUES " + values +
              ") AS v WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = v.column1) "
              "ON CONFLICT (key_id, ip) DO NOTHING RETURNING key_id, ip",
          params);
      size_t first = inserted.size();
      for (const auto& r : rows) inserted.push_back(position.at({r.Text(0), r.Text(1)}));
      std::sort(inserted.begin() + static_cast<std::ptrdiff_t>(first), inserted.end());
    }
    return inserted;
  }

  void InsertInvitation(const Invitation& i) override {
    c_->Exec(Sql({"INSERT INTO invitations (", kInvitationCols,
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)"}),
             {i.id, i.workspace_id, i.email, i.role, JoinIds(i.projects), i.token_hash,
              i.invited_by, i.redirect_url, i.status, i.created_at, i.expires_at,
              Opt(i.accepted_at), Opt(i.revoked_at)});
  }

  void UpdateInvitation(const Invitation& i) override {
    c_->Exec(
        "UPDATE invitations SET status=$2, token_hash=$3, expires_at=$4, accepted_at=$5, "
        "revoked_at=$6 WHERE id=$1",
        {i.id, i.status, i.token_hash, i.expires_at, Opt(i.accepted_at), Opt(i.revoked_at)});
  }

  std::string LockAuditChain(const std::string& chain) override {
    c_->Exec(
        "INSERT INTO audit_chain_heads (chain, last_hash, last_seq) VALUES ($1,'',0) "
        "ON CONFLICT (chain) DO NOTHING",
        {chain});
    // An UPDATE takes the row lock on PostgreSQL (SQLite already holds the write lock), so
    // concurrent writers to one chain line up here.
    auto rows = c_->Query(
        "UPDATE audit_chain_heads SET last_seq=last_seq WHERE chain=$1 RETURNING last_hash",
        {chain});
    if (rows.empty()) throw StoreError("audit chain head vanished");
    return rows[0].Text(0);
  }

  void AppendAuditEvent(AuditEvent& e) override {
    auto rows = c_->Query(
        "INSERT INTO audit_events (id, workspace_id, occurred_at, action, actor_type, actor_id, "
        "actor_name, actor_email, target_type, target_id, target_name, project_id, ip, "
        "user_agent, details, prev_hash, hash, noun) VALUES "
        "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) RETURNING seq",
        {e.id, e.workspace_id, e.occurred_at, e.action, EnumText(e.actor_type), e.actor_id,
         e.actor_name, e.actor_email, e.target_type, e.target_id, e.target_name, e.project_id, e.ip,
         e.user_agent, e.details_json, e.prev_hash, e.hash, NounOf(e.action)});
    e.seq = rows.at(0).Int(0);
    c_->Exec("UPDATE audit_chain_heads SET last_hash=$2, last_seq=$3 WHERE chain=$1",
             {e.workspace_id, e.hash, e.seq});
    CountDaily(e.workspace_id, DayOf(e.occurred_at), e.actor_id, e.action, 1);
  }

  void AppendAuditEvents(std::vector<AuditEvent>& events) override {
    if (events.empty()) return;
    // Multi-row INSERTs of up to 50 events (18 parameters each).
    constexpr size_t kRows = 50;
    constexpr size_t kCols = 18;
    // Daily counters, summed over the batch: (day, actor, action) -> events.
    std::map<std::tuple<std::string, std::string, std::string>, int64_t> counts;
    for (size_t start = 0; start < events.size(); start += kRows) {
      size_t end = std::min(events.size(), start + kRows);
      std::string sql =
          "INSERT INTO audit_events (id, workspace_id, occurred_at, action, actor_type, "
          "actor_id, actor_name, actor_email, target_type, target_id, target_name, project_id, "
          "ip, user_agent, details, prev_hash, hash, noun) VALUES ";
      Params params;
      params.reserve((end - start) * kCols);
      for (size_t i = start; i < end; ++i) {
        const AuditEvent& e = events[i];
        sql += i == start ? "(" : ",(";
        for (size_t k = 1; k <= kCols; ++k) {
          sql += (k > 1 ? ",$" : "$") + std::to_string(params.size() + k);
        }
        sql += ')';
        params.insert(
            params.end(),
            {e.id, e.workspace_id, e.occurred_at, e.action, EnumText(e.actor_type), e.actor_id,
             e.actor_name, e.actor_email, e.target_type, e.target_id, e.target_name, e.project_id,
             e.ip, e.user_agent, e.details_json, e.prev_hash, e.hash, NounOf(e.action)});
        ++counts[{DayOf(e.occurred_at), e.actor_id, e.action}];
      }
      sql += " RETURNING seq, id";
      auto rows = c_->Query(sql, params);
      if (rows.size() != end - start) throw StoreError("batch append lost rows");
      // RETURNING order is not promised: match rows back by id.
      std::map<std::string, int64_t> seq_of;
      for (const auto& r : rows) seq_of[r.Text(1)] = r.Int(0);
      for (size_t i = start; i < end; ++i) events[i].seq = seq_of.at(events[i].id);
    }
    const AuditEvent& last = *std::max_element(
        events.begin(), events.end(),
        [](const AuditEvent& a, const AuditEvent& b) { return a.seq < b.seq; });
    c_->Exec("UPDATE audit_chain_heads SET last_hash=$2, last_seq=$3 WHERE chain=$1",
             {last.workspace_id, last.hash, last.seq});
    CountDailyBatch(last.workspace_id, counts);
  }

  int64_t PurgeAuditDailyCounts(const std::string& chain, const std::string& before_day) override {
    return c_->Exec("DELETE FROM audit_daily_counts WHERE workspace_id=$1 AND day < $2",
                    {chain, before_day});
  }

  int64_t PurgeAuditEvents(const std::string& chain, UnixTime cutoff, int limit) override {
    // The oldest events by seq, so that what remains is always a suffix of the chain.
    auto rows = c_->Query(
        "SELECT seq, occurred_at, hash FROM audit_events WHERE workspace_id=$1 "
        "ORDER BY seq LIMIT $2",
        {chain, int64_t{limit}});
    int64_t through = 0;
    std::string anchor;
    int64_t n = 0;
    for (const auto& r : rows) {
      if (r.Int(1) >= cutoff) break;
      through = r.Int(0);
      anchor = r.Text(2);
      ++n;
    }
    if (n == 0) return 0;
    c_->Exec("DELETE FROM audit_events WHERE workspace_id=$1 AND seq <= $2", {chain, through});
    c_->Exec(
        "UPDATE audit_chain_heads SET anchor_hash=$2, purged_through_seq=$3 WHERE chain=$1",
        {chain, anchor, through});
    return n;
  }

  void InsertMail(const MailMessage& m) override {
    c_->Exec(
        Sql({"INSERT INTO mail (", kMailCols, ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"}),
        {m.id, m.to, m.subject, m.body_text, m.created_at, Opt(m.sent_at), EnumText(m.status),
         m.body_html, int64_t{m.attempts}, m.next_attempt_at, m.last_error});
  }

  bool ClaimMail(const std::string& id, UnixTime now, UnixTime lease_until) override {
    return c_->Exec("UPDATE mail SET next_attempt_at=$3 WHERE id=$1 AND next_attempt_at <= $2",
                    {id, now, lease_until}) > 0;
  }

  void RecordMailAttempt(const MailMessage& m) override {
    c_->Exec(
        "UPDATE mail SET status=$2, attempts=$3, next_attempt_at=$4, last_error=$5, sent_at=$6 "
        "WHERE id=$1",
        {m.id, EnumText(m.status), int64_t{m.attempts}, m.next_attempt_at, m.last_error,
         Opt(m.sent_at)});
  }

  void MarkMail(const std::string& id, MailStatus status,
                std::optional<UnixTime> sent_at) override {
    c_->Exec("UPDATE mail SET status=$2, sent_at=$3 WHERE id=$1",
             {id, EnumText(status), Opt(sent_at)});
  }

  bool SaveIdempotentResponse(const std::string& scope, const std::string& key,
                              const IdempotentResponse& r) override {
    return c_->Exec(
        "INSERT INTO idempotency_keys (scope, idem_key, request_hash, status, content_type, "
        "body, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (scope, idem_key) DO "
        "NOTHING",
        {scope, key, r.request_hash, int64_t{r.status}, r.content_type, r.body, r.created_at}) > 0;
  }

  void CompleteIdempotentResponse(const std::string& scope, const std::string& key,
                                  const IdempotentResponse& r) override {
    c_->Exec(
        "UPDATE idempotency_keys SET status=$3, content_type=$4, body=$5 WHERE scope=$1 AND "
        "idem_key=$2",
        {scope, key, int64_t{r.status}, r.content_type, r.body});
  }

  void DeleteIdempotentResponse(const std::string& scope, const std::string& key) override {
    c_->Exec("DELETE FROM idempotency_keys WHERE scope=$1 AND idem_key=$2", {scope, key});
  }

  int64_t PurgeIdempotentResponses(UnixTime before, int limit) override {
    return c_->Exec(
        "DELETE FROM idempotency_keys WHERE (scope, idem_key) IN (SELECT scope, idem_key FROM "
        "idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
        {before, int64_t{limit}});
  }

  Status InsertSsoConnection(const SsoConnection& c) override {
    c_->Exec(Sql({"INSERT INTO sso_connections (", kSsoConnectionCols,
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"}),
             {c.id, c.workspace_id, c.type, c.provider, c.name, c.status, c.settings,
              c.client_secret, c.settings_version, c.last_test, c.created_at, c.updated_at});
    return PutSsoDomains(c);
  }

  Status UpdateSsoConnection(const SsoConnection& c) override {
    c_->Exec(
        "UPDATE sso_connections SET type=$2, provider=$3, name=$4, status=$5, settings=$6, "
        "client_secret=$7, settings_version=$8, last_test=$9, updated_at=$10 WHERE id=$1",
        {c.id, c.type, c.provider, c.name, c.status, c.settings, c.client_secret,
         c.settings_version, c.last_test, c.updated_at});
    c_->Exec("DELETE FROM sso_domains WHERE connection_id=$1", {c.id});
    return PutSsoDomains(c);
  }

  bool DeleteSsoConnection(const std::string& ws, const std::string& id) override {
    c_->Exec("DELETE FROM sso_domains WHERE connection_id=$1", {id});
    c_->Exec("DELETE FROM sso_requests WHERE connection_id=$1", {id});
    c_->Exec("DELETE FROM sso_assertions WHERE connection_id=$1", {id});
    return c_->Exec("DELETE FROM sso_connections WHERE id=$1 AND workspace_id=$2", {id, ws}) > 0;
  }

  void InsertSsoRequest(const SsoRequest& r) override {
    c_->Exec("DELETE FROM sso_requests WHERE expires_at < $1", {r.created_at});
    c_->Exec(Sql({"INSERT INTO sso_requests (", kSsoRequestCols,
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"}),
             {r.id, r.connection_id, r.browser_hash, r.nonce, r.code_verifier, r.redirect_url,
              int64_t{r.test ? 1 : 0}, r.settings_version, r.created_at, r.expires_at,
              Opt(r.used_at)});
  }

  bool UseSsoRequest(const std::string& id, UnixTime at) override {
    return c_->Exec("UPDATE sso_requests SET used_at=$2 WHERE id=$1 AND used_at IS NULL",
                    {id, at}) > 0;
  }

  bool RememberSsoAssertion(const std::string& connection_id, const std::string& assertion_id,
                            UnixTime expires_at, UnixTime now) override {
    c_->Exec("DELETE FROM sso_assertions WHERE expires_at < $1", {now});
    return c_->Exec(
               "INSERT INTO sso_assertions (connection_id, assertion_id, expires_at) "
               "VALUES ($1,$2,$3) ON CONFLICT (connection_id, assertion_id) DO NOTHING",
               {connection_id, assertion_id, expires_at}) > 0;
  }

  // ON CONFLICT rather than a unique violation: see InsertUser.
  Status PutSsoDomains(const SsoConnection& c) {
    for (const auto& d : c.domains) {
      if (c_->Exec("INSERT INTO sso_domains (domain, connection_id) VALUES ($1,$2) "
                   "ON CONFLICT (domain) DO NOTHING",
                   {d, c.id}) == 0) {
        return Error::Conflict("sso_domain_taken",
                               "The domain " + d + " already routes to another SSO connection.",
                               "domains");
      }
    }
    return {};
  }

  void InsertScimToken(const ScimToken& t) override {
    c_->Exec(Sql({"INSERT INTO scim_tokens (", kScimTokenCols, ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"}),
             {t.id, t.workspace_id, t.name, t.token_hash, t.created_by, t.created_at,
              Opt(t.last_used_at), Opt(t.revoked_at)});
  }

  bool RevokeScimToken(const std::string& ws, const std::string& id, UnixTime at) override {
    return c_->Exec(
               "UPDATE scim_tokens SET revoked_at=$3 WHERE workspace_id=$1 AND id=$2 "
               "AND revoked_at IS NULL",
               {ws, id, at}) > 0;
  }

  void TouchScimToken(const std::string& id, UnixTime at) override {
    c_->Exec("UPDATE scim_tokens SET last_used_at=$2 WHERE id=$1", {id, at});
  }

  void PutScimSettings(const ScimSettings& st) override {
    c_->Exec(
        "INSERT INTO scim_settings (workspace_id, group_mappings, updated_at) VALUES ($1,$2,$3) "
        "ON CONFLICT (workspace_id) DO UPDATE SET group_mappings=excluded.group_mappings, "
        "updated_at=excluded.updated_at",
        {st.workspace_id, st.group_mappings, st.updated_at});
  }

  Status InsertScimUser(const ScimUser& u) override {
    bool inserted = WithinUniqueConstraints([&] {
      c_->Exec(Sql({"INSERT INTO scim_users (", kScimUserCols,
                    ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"}),
               {u.workspace_id, u.user_id, u.user_name, u.external_id,
                int64_t{u.active ? 1 : 0}, u.resource, u.version, u.created_at, u.updated_at});
    });
    if (!inserted) return ScimUserNameTaken();
    return {};
  }

  Status UpdateScimUser(ScimUser& u) override {
    std::vector<Row> rows;
    bool updated = WithinUniqueConstraints([&] {
      rows = c_->Query(
          "UPDATE scim_users SET user_name=$3, external_id=$4, active=$5, resource=$6, "
          "updated_at=$7, version=version+1 WHERE workspace_id=$1 AND user_id=$2 "
          "RETURNING version",
          {u.workspace_id, u.user_id, u.user_name, u.external_id, int64_t{u.active ? 1 : 0},
           u.resource, u.updated_at});
    });
    if (!updated) return ScimUserNameTaken();
    if (!rows.empty()) u.version = rows[0].Int(0);
    return {};
  }

  Status InsertScimGroup(const ScimGroup& g) override {
    bool inserted = WithinUniqueConstraints([&] {
      c_->Exec(
          "INSERT INTO scim_groups (id, workspace_id, display_name, display_key, external_id, "
          "resource, version, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
          {g.id, g.workspace_id, g.display_name, ToLowerAscii(g.display_name), g.external_id,
           g.resource, g.version, g.created_at, g.updated_at});
    });
    if (!inserted) return ScimGroupNameTaken();
    return {};
  }

  Status UpdateScimGroup(ScimGroup& g) override {
    std::vector<Row> rows;
    bool updated = WithinUniqueConstraints([&] {
      rows = c_->Query(
          "UPDATE scim_groups SET display_name=$3, display_key=$4, external_id=$5, resource=$6, "
          "updated_at=$7, version=version+1 WHERE workspace_id=$1 AND id=$2 RETURNING version",
          {g.workspace_id, g.id, g.display_name, ToLowerAscii(g.display_name), g.external_id,
           g.resource, g.updated_at});
    });
    if (!updated) return ScimGroupNameTaken();
    if (!rows.empty()) g.version = rows[0].Int(0);
    return {};
  }

  bool DeleteScimGroup(const std::string& ws, const std::string& id) override {
    c_->Exec(
        "DELETE FROM scim_group_members WHERE group_id IN "
        "(SELECT id FROM scim_groups WHERE workspace_id=$1 AND id=$2)",
        {ws, id});
    return c_->Exec("DELETE FROM scim_groups WHERE workspace_id=$1 AND id=$2", {ws, id}) > 0;
  }

  void AddScimGroupMembers(const std::string& group_id,
                           const std::vector<std::string>& users) override {
    for (const auto& u : users) {
      c_->Exec(
          "INSERT INTO scim_group_members (group_id, user_id) VALUES ($1,$2) "
          "ON CONFLICT (group_id, user_id) DO NOTHING",
          {group_id, u});
    }
  }

  void RemoveScimGroupMembers(const std::string& group_id,
                              const std::vector<std::string>& users) override {
    for (const auto& u : users) {
      c_->Exec("DELETE FROM scim_group_members WHERE group_id=$1 AND user_id=$2", {group_id, u});
    }
  }

  void InsertOutboxEvent(const OutboxEvent& e) override {
    c_->Exec(
        "INSERT INTO outbox_events (id, workspace_id, type, payload, created_at, source) "
        "VALUES ($1,$2,$3,$4,$5,$6)",
        {e.id, e.workspace_id, e.type, e.payload, e.created_at, e.source});
  }

  bool DeleteOutboxEvent(const std::string& id) override {
    return c_->Exec("DELETE FROM outbox_events WHERE id=$1", {id}) > 0;
  }

  void InsertWebhookEndpoint(const WebhookEndpoint& e) override {
    c_->Exec(Sql({"INSERT INTO webhook_endpoints (", kWebhookCols,
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"}),
             {e.id, e.workspace_id, e.url, e.description, JoinIds(e.event_types),
              int64_t{e.enabled ? 1 : 0}, e.disabled_reason, e.secret, e.previous_secret,
              Opt(e.previous_secret_expires_at), e.created_at, e.updated_at, e.kind, e.channel});
  }

  void UpdateWebhookEndpoint(const WebhookEndpoint& e) override {
    c_->Exec(
        "UPDATE webhook_endpoints SET url=$3, description=$4, event_types=$5, enabled=$6, "
        "disabled_reason=$7, secret=$8, previous_secret=$9, previous_secret_expires_at=$10, "
        "updated_at=$11, channel=$12 WHERE workspace_id=$1 AND id=$2",
        {e.workspace_id, e.id, e.url, e.description, JoinIds(e.event_types),
         int64_t{e.enabled ? 1 : 0}, e.disabled_reason, e.secret, e.previous_secret,
         Opt(e.previous_secret_expires_at), e.updated_at, e.channel});
  }

  bool DeleteWebhookEndpoint(const std::string& ws, const std::string& id) override {
    c_->Exec("DELETE FROM webhook_deliveries WHERE endpoint_id=$1 AND workspace_id=$2", {id, ws});
    return c_->Exec("DELETE FROM webhook_endpoints WHERE workspace_id=$1 AND id=$2", {ws, id}) > 0;
  }

  std::optional<WebhookEndpoint> LockWebhookEndpoint(const std::string& ws,
                                                     const std::string& id) override {
    return One<WebhookEndpoint>(Sql({"SELECT ", kWebhookCols,
                                     " FROM webhook_endpoints WHERE workspace_id=$1 AND id=$2",
                                     for_update_}),
                                {ws, id}, WebhookFrom);
  }

  void InsertWebhookDelivery(const WebhookDelivery& d) override {
    c_->Exec(Sql({"INSERT INTO webhook_deliveries (", kDeliveryCols,
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"}),
             {d.id, d.endpoint_id, d.workspace_id, d.event_type, d.payload, d.status,
              int64_t{d.attempts}, Opt(d.last_status_code), d.last_error, Opt(d.next_attempt_at),
              d.created_at, d.updated_at});
  }

  bool ClaimWebhookDelivery(const std::string& id, UnixTime now, UnixTime lease_until) override {
    return c_->Exec(
               "UPDATE webhook_deliveries SET next_attempt_at=$3 WHERE id=$1 AND "
               "status='pending' AND next_attempt_at <= $2",
               {id, now, lease_until}) > 0;
  }

  void RecordWebhookAttempt(const WebhookDelivery& d) override {
    c_->Exec(
        "UPDATE webhook_deliveries SET status=$2, attempts=$3, last_status_code=$4, "
        "last_error=$5, next_attempt_at=$6, updated_at=$7 WHERE id=$1",
        {d.id, d.status, int64_t{d.attempts}, Opt(d.last_status_code), d.last_error,
         Opt(d.next_attempt_at), d.updated_at});
  }

  int64_t PurgeWebhookDeliveries(UnixTime before, int limit) override {
    return c_->Exec(
        "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries "
        "WHERE status<>'pending' AND updated_at < $1 ORDER BY updated_at LIMIT $2)",
        {before, int64_t{limit}});
  }

  void PutNotificationRule(const NotificationRule& r) override {
    c_->Exec(
        "INSERT INTO notification_rules (workspace_id, type, channels, roles, actor, subject, "
        "users, frequency, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) "
        "ON CONFLICT (workspace_id, type) DO UPDATE SET channels=excluded.channels, "
        "roles=excluded.roles, actor=excluded.actor, subject=excluded.subject, "
        "users=excluded.users, frequency=excluded.frequency, updated_at=excluded.updated_at",
        {r.workspace_id, r.type, JoinIds(r.channels), JoinIds(r.roles), int64_t{r.actor ? 1 : 0},
         int64_t{r.subject ? 1 : 0}, JoinIds(r.users), r.frequency, r.updated_at});
  }

  bool DeleteNotificationRule(const std::string& ws, const std::string& type) override {
    return c_->Exec("DELETE FROM notification_rules WHERE workspace_id=$1 AND type=$2",
                    {ws, type}) > 0;
  }

  void PutNotificationPreferences(const std::string& user, const NotificationPreferences& p,
                                  UnixTime now) override {
    c_->Exec(
        "INSERT INTO notification_preferences (user_id, invite_access, security, system, "
        "updated_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (user_id) DO UPDATE SET "
        "invite_access=excluded.invite_access, security=excluded.security, "
        "system=excluded.system, updated_at=excluded.updated_at",
        {user, p.invite_access, p.security, p.system, now});
  }

  void InsertNotification(const Notification& n) override {
    c_->Exec(Sql({"INSERT INTO notifications (", kNotificationCols,
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)"}),
             {n.id, n.user_id, n.workspace_id, n.type, n.category, n.title, n.body, n.created_at,
              Opt(n.read_at), n.link});
  }

  bool MarkNotificationRead(const std::string& user, const std::string& id, UnixTime now) override {
    return c_->Exec("UPDATE notifications SET read_at=$3 WHERE user_id=$1 AND id=$2 AND "
                    "read_at IS NULL",
                    {user, id, now}) > 0;
  }

  int64_t MarkAllNotificationsRead(const std::string& user, const std::string& ws,
                                   UnixTime now) override {
    return c_->Exec("UPDATE notifications SET read_at=$3 WHERE user_id=$1 AND "
                    "($2='' OR workspace_id=$2) AND read_at IS NULL",
                    {user, ws, now});
  }

  void InsertDigestItem(const DigestItem& d) override {
    c_->Exec(
        "INSERT INTO digest_items (id, user_id, workspace_id, type, category, title, created_at, "
        "due_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        {d.id, d.user_id, d.workspace_id, d.type, d.category, d.title, d.created_at, d.due_at});
  }

  std::vector<DigestItem> TakeDigestItems(const std::string& user, const std::string& ws,
                                          std::optional<UnixTime> now) override {
    auto items = All<DigestItem>(
        Sql({"SELECT id, user_id, workspace_id, type, category, title, created_at, due_at "
             "FROM digest_items WHERE user_id=$1 AND workspace_id=$2 AND due_at <= $3 "
             "ORDER BY created_at, id",
             for_update_}),
        {user, ws, now.value_or(std::numeric_limits<int64_t>::max())}, [](const Row& r) {
          return DigestItem{r.Text(0), r.Text(1), r.Text(2), r.Text(3),
                            r.Text(4), r.Text(5), r.Int(6),  r.Int(7)};
        });
    for (const auto& d : items) c_->Exec("DELETE FROM digest_items WHERE id=$1", {d.id});
    return items;
  }

  bool TakeThrottle(const std::string& key, UnixTime now, UnixTime until) override {
    return c_->Exec(
               "INSERT INTO notification_throttle (key, until_at) VALUES ($1,$3) "
               "ON CONFLICT (key) DO UPDATE SET until_at=excluded.until_at "
               "WHERE notification_throttle.until_at <= $2",
               {key, now, until}) > 0;
  }

  int64_t PurgeNotifications(UnixTime before, UnixTime now, int limit) override {
    c_->Exec("DELETE FROM notification_throttle WHERE until_at <= $1", {now});
    return c_->Exec(
        "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications "
        "WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
        {before, int64_t{limit}});
  }

  static Error ScimUserNameTaken() {
    return Error::Conflict("scim_user_name_taken",
                           "The directory has a user with this userName already.", "userName");
  }

  static Error ScimGroupNameTaken() {
    return Error::Conflict("scim_group_name_taken",
                           "The directory has a group with this displayName already.",
                           "displayName");
  }

  static Error ProjectNameTaken() {
    return Error::Conflict("project_name_taken", "A project with this name exists already.",
                           "name");
  }

  static Error RoleNameTaken() {
    return Error::Conflict("role_name_taken", "A role with this name exists already.", "name");
  }

  void Commit() override {
    c_->Exec("COMMIT");
    done_ = true;
  }

 protected:
  Lease ReadConn() override { return Lease(&*c_, {}); }

 private:
  // Keys written by an UPDATE … RETURNING.
  std::vector<ApiKey> Keys(const std::string& sql, const Params& params) {
    auto rows = c_->Query(sql, params);
    std::vector<ApiKey> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(KeyFrom(r));
    return out;
  }

  // Adds `n` events to a workspace's daily counter, in the append's transaction.
  void CountDaily(const std::string& ws, const std::string& day, const std::string& actor,
                  const std::string& action, int64_t n) {
    if (ws.empty()) return;  // account-level events have no workspace baseline
    c_->Exec(
        "INSERT INTO audit_daily_counts (workspace_id, day, actor_id, action, count) "
        "VALUES ($1,$2,$3,$4,$5) ON CONFLICT (workspace_id, day, actor_id, action) "
        "DO UPDATE SET count = audit_daily_counts.count + excluded.count",
        {ws, day, actor, action, n});
  }

  // The batch's counters in multi-row upserts (a batch of 1,000 events touches hundreds of
  // (day, actor, action) counters: one statement each was a round trip each on PostgreSQL).
  void CountDailyBatch(
      const std::string& ws,
      const std::map<std::tuple<std::string, std::string, std::string>, int64_t>& counts) {
    if (ws.empty() || counts.empty()) return;
    constexpr size_t kRows = 200;
    auto it = counts.begin();
    while (it != counts.end()) {
      std::string sql =
          "INSERT INTO audit_daily_counts (workspace_id, day, actor_id, action, count) VALUES ";
      Params params;
      for (size_t row = 0; row < kRows && it != counts.end(); ++row, ++it) {
        const auto& [day, actor, action] = it->first;
        size_t k = params.size();
        sql += row == 0 ? "(" : ",(";
        for (size_t col = 1; col <= 5; ++col) {
          sql += (col > 1 ? ",$" : "$") + std::to_string(k + col);
        }
        sql += ')';
        params.insert(params.end(), {ws, day, actor, action, it->second});
      }
      sql += " ON CONFLICT (workspace_id, day, actor_id, action) "
             "DO UPDATE SET count = audit_daily_counts.count + excluded.count";
      c_->Exec(sql, params);
    }
  }

  Lease c_;
  std::string for_update_;  // " FOR UPDATE" where the dialect has it
  bool done_ = false;
};

// The WHERE and ORDER BY of a filtered, newest-first read of audit events (keyset position
// `after` excluded), binding its values after those already in `params`.
std::string FilteredAuditSql(const char* cols, const AuditFilter& f,
                             const std::optional<AuditKey>& after, Params& params) {
  std::string sql = Sql({"SELECT ", cols, " FROM audit_events WHERE workspace_id="});
  auto bind = [&](Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  sql += bind(f.workspace_id);
  if (!f.actor_id.empty()) sql += " AND actor_id=" + bind(f.actor_id);
  if (!f.action.empty()) sql += " AND action=" + bind(f.action);
  if (!f.action_prefix.empty()) {
    // The stored noun: an equality on audit_events_by_noun, whose (occurred_at, seq) tail
    // is the keyset order, so the page needs no sort. Actions have exactly one dot.
    std::string noun = f.action_prefix;
    if (!noun.empty() && noun.back() == '.') noun.pop_back();
    sql += " AND noun=" + bind(noun);
  }
  if (!f.project_id.empty()) sql += " AND project_id=" + bind(f.project_id);
  if (!f.target_id.empty()) sql += " AND target_id=" + bind(f.target_id);
  if (f.from) sql += " AND occurred_at >= " + bind(*f.from);
  if (f.to) sql += " AND occurred_at < " + bind(*f.to);
  if (f.visible_projects) {
    sql += " AND (project_id=''";
    if (!f.visible_projects->empty()) {
      sql += " OR project_id IN (";
      for (size_t i = 0; i < f.visible_projects->size(); ++i) {
        sql += (i ? "," : "") + bind((*f.visible_projects)[i]);
      }
      sql += ')';
    }
    sql += ')';
  }
  if (after) {
    // Written so that both planners see a plain range on occurred_at first.
    std::string t = bind(after->occurred_at);
    std::string q = bind(after->seq);
    sql += " AND occurred_at <= " + t + " AND (occurred_at < " + t + " OR seq < " + q + ")";
  }
  sql += " ORDER BY occurred_at DESC, seq DESC";
  return sql;
}

// What an export shows of an event: no workspace (the filter's), no chain hashes.
constexpr const char* kAuditExportCols =
    "seq, occurred_at, id, action, actor_type, actor_id, actor_name, actor_email, target_type, "
    "target_id, target_name, project_id, ip, user_agent, details";

// Reads a row of kAuditExportCols into `e`, reusing its strings' storage.
void AssignAuditExportRow(const RowView& r, AuditEvent& e) {
  e.seq = r.Int(0);
  e.occurred_at = r.Int(1);
  e.id.assign(r.Text(2));
  e.action.assign(r.Text(3));
  e.actor_type = StoredEnum(ParseActorType, r.Text(4), "audit_events.actor_type", e.id);
  e.actor_id.assign(r.Text(5));
  e.actor_name.assign(r.Text(6));
  e.actor_email.assign(r.Text(7));
  e.target_type.assign(r.Text(8));
  e.target_id.assign(r.Text(9));
  e.target_name.assign(r.Text(10));
  e.project_id.assign(r.Text(11));
  e.ip.assign(r.Text(12));
  e.user_agent.assign(r.Text(13));
  e.details_json.assign(r.Text(14));
}

// One query streamed through a cursor inside a read-only snapshot transaction on a connection
// of its own (see Store::StreamAuditEvents). Once the cursor is exhausted the transaction
// ends and the connection and the stream's slot are given back, before the stream is destroyed.
class SnapshotAuditStream final : public AuditEventStream {
 public:
  SnapshotAuditStream(Db& db, const AuditFilter& f, std::atomic<int>& open)
      : lease_(db.Reader()), open_(open) {
    event_.workspace_id = f.workspace_id;
    (*lease_)->ExecScript(db.BeginSnapshotSql());
    in_tx_ = true;
    try {
      Params params;
      std::string sql = FilteredAuditSql(kAuditExportCols, f, std::nullopt, params);
      cursor_ = (*lease_)->OpenCursor(sql, params);
    } catch (...) {
      try {
        End("ROLLBACK");
      } catch (...) {
      }
      lease_.reset();  // the caller gives the slot back
      throw;
    }
  }

  ~SnapshotAuditStream() override {
    try {
      End("ROLLBACK");
    } catch (...) {  // a broken connection: the pool drops it
    }
    Release();
  }

  int Read(int max, const std::function<void(AuditEvent&)>& fn) override {
    if (!cursor_) return 0;
    int n = cursor_->Fetch(max, [&](const RowView& r) {
      AssignAuditExportRow(r, event_);
      fn(event_);
    });
    if (n < max) {
      End("COMMIT");
      Release();
    }
    return n;
  }

 private:
  void End(const char* sql) {
    cursor_.reset();
    if (in_tx_) {
      in_tx_ = false;
      (*lease_)->ExecScript(sql);
    }
  }

  void Release() {
    if (!lease_) return;
    lease_.reset();
    open_.fetch_sub(1);
  }

  std::optional<Lease> lease_;
  std::atomic<int>& open_;
  std::unique_ptr<Cursor> cursor_;
  bool in_tx_ = false;
  AuditEvent event_;
};

// Pages of FilteredAuditEvents, each read on its own: no snapshot, no connection held. A page
// holds as many events as the Read() that needs it asks for.
class PagedAuditStream final : public AuditEventStream {
 public:
  PagedAuditStream(Store& store, AuditFilter f) : store_(store), filter_(std::move(f)) {}

  int Read(int max, const std::function<void(AuditEvent&)>& fn) override {
    int n = 0;
    while (n < max) {
      if (pos_ == page_.events.size()) {
        if (done_) break;
        page_ = store_.FilteredAuditEvents(filter_, page_.next, std::max(max - n, 1));
        pos_ = 0;
        done_ = !page_.next;
        continue;
      }
      AuditEvent& e = page_.events[pos_++];
      e.prev_hash.clear();
      e.hash.clear();
      fn(e);
      ++n;
    }
    return n;
  }

 private:
  Store& store_;
  AuditFilter filter_;
  AuditFilteredPage page_;
  size_t pos_ = 0;
  bool done_ = false;
};

class SqlStore final : public SqlReads<Store> {
 public:
  explicit SqlStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  std::string Backend() const override { return db_->Backend(); }

  int SchemaVersion() override {
    auto rows = db_->Reader()->Query("SELECT MAX(version) FROM schema_migrations");
    return rows.empty() ? 0 : static_cast<int>(rows[0].Int(0));
  }

  void Ping() override { db_->Reader()->Query("SELECT 1"); }

  std::unique_ptr<WriteTx> Begin() override {
    return std::make_unique<SqlWriteTx>(db_->Writer(), db_->BeginSql(), db_->ForUpdateSql());
  }

  std::unique_ptr<AuditEventStream> StreamAuditEvents(const AuditFilter& f) override {
    if (snapshot_streams_.fetch_add(1) < kAuditSnapshotStreams) {
      try {
        return std::make_unique<SnapshotAuditStream>(*db_, f, snapshot_streams_);
      } catch (...) {
        snapshot_streams_.fetch_sub(1);
        throw;
      }
    }
    snapshot_streams_.fetch_sub(1);
    return std::make_unique<PagedAuditStream>(*this, f);
  }

 protected:
  Lease ReadConn() override { return db_->Reader(); }

 private:
  std::unique_ptr<Db> db_;
  std::atomic<int> snapshot_streams_{0};
};

}  // namespace

std::unique_ptr<Store> MakeSqlStore(std::unique_ptr<Db> db) {
  return std::make_unique<SqlStore>(std::move(db));
}

std::pair<int, int> RunMigrations(Conn& conn, std::string_view begin_sql,
                                  const std::vector<Migration>& migrations) {
  conn.ExecScript(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "applied_at BIGINT NOT NULL)");
  auto current = [&] {
    auto rows = conn.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    return static_cast<int>(rows.at(0).Int(0));
  };
  int latest = migrations.empty() ? 0 : migrations.back().version;
  int from = current();
  if (from > latest) {
    throw StoreError("the store's schema is at version " + std::to_string(from) +
                     ", newer than this gatehouse binary knows (" + std::to_string(latest) +
                     "); run a newer gatehouse or restore a matching backup");
  }
  for (const auto& m : migrations) {
    conn.Exec(begin_sql);
    try {
      if (current() >= m.version) {  // another process got here first
        conn.Exec("COMMIT");
        continue;
      }
      conn.ExecScript(m.sql);
      conn.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                {int64_t{m.version}, int64_t{Clock::System().Now()}});
      conn.Exec("COMMIT");
    } catch (...) {
      try {
        conn.Exec("ROLLBACK");
      } catch (...) {
      }
      throw;
    }
  }
  int to = current();
  for (const auto& m : migrations) {
    if (!m.backfill || m.version > to) continue;
    while (true) {
      conn.Exec(begin_sql);
      try {
        int64_t changed = conn.Exec(m.backfill);
        conn.Exec("COMMIT");
        if (changed == 0) break;
      } catch (...) {
        try {
          conn.Exec("ROLLBACK");
        } catch (...) {
        }
        throw;
      }
    }
  }
  return {from, to};
}

}  // namespace gh::sql
