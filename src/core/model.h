// The domain's records, as the store keeps them and the services use them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/enum_names.h"
#include "core/time.h"

namespace gh {

struct User {
  std::string id;             // usr_…
  std::string email;          // normalised: trimmed, lower case; unique
  std::string name;
  std::string password_hash;  // argon2id PHC string
  std::string theme = "system";
  std::string language = "en";
  std::string avatar_url;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
  std::optional<UnixTime> last_login_at;
  bool mfa_enabled = false;  // TOTP confirmed; written only through the MFA store methods
  // Set when the account was deleted: the row stays, anonymised, so that audit events, keys
  // and invitations still name an id; the email is freed for a new sign-up.
  std::optional<UnixTime> deleted_at;
  // When the owner of `email` proved it (a verification or password reset link, or an
  // invitation accepted by creating the account). Written only through
  // WriteTx::MarkEmailVerified and InsertUser.
  std::optional<UnixTime> email_verified_at;
};

// What a mailed single-use link lets its holder do.
enum class AccountTokenPurpose { kPasswordReset, kEmailVerification };

// A single-use link mailed to a user (`{public_url}/reset-password?token=…`,
// `/verify-email?token=…`). The token itself is never stored, only its SHA-256.
struct AccountToken {
  std::string token_hash;
  AccountTokenPurpose purpose = AccountTokenPurpose::kPasswordReset;
  std::string user_id;
  std::string email;  // the address it was mailed to: the link proves only that one
  UnixTime created_at = 0;
  UnixTime expires_at = 0;
  std::optional<UnixTime> used_at;
};

// A signed-in browser or client. The token itself is never stored, only its SHA-256.
struct Session {
  std::string id;  // ses_…
  std::string user_id;
  std::string token_hash;
  std::string device;
  std::string browser;
  std::string ip;
  std::string country;  // ISO 3166-1 alpha-2 from GeoIP at sign-in; "" when unknown
  std::string user_agent;
  UnixTime created_at = 0;
  UnixTime last_active_at = 0;
  UnixTime idle_expires_at = 0;      // slides forward with activity
  UnixTime absolute_expires_at = 0;  // never moves
  std::optional<UnixTime> revoked_at;
  std::string method = "password";  // how it was made: "password" or "sso"
  // An SSO session: its connection, and the one workspace it is valid in (that of the
  // connection). Empty for password sessions, which are valid wherever the user is a member.
  std::string sso_connection_id;
  std::string scope_workspace_id;
};

// One range of a workspace's IP allowlist.
struct IpAllowEntry {
  std::string cidr;   // canonical, "203.0.113.0/24"
  std::string label;  // "Office"; may be empty

  bool operator==(const IpAllowEntry&) const = default;
};

struct Workspace {
  std::string id;  // ws_…
  std::string name;
  std::string region;
  std::string timezone = "UTC";
  std::string language = "en";
  std::string plan;
  std::string subscription_status = "trialing";
  int audit_retention_days = 365;
  bool require_mfa = false;  // members without two-factor authentication cannot act here
  std::string logo_content_type;  // empty when no logo
  UnixTime logo_updated_at = 0;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
  // The IP allowlist ("block all other IPs" when enabled): written only through
  // WriteTx::UpdateIpAllowlist, so that a concurrent PATCH of other fields never reverts it.
  bool ip_allowlist_enabled = false;
  std::vector<IpAllowEntry> ip_allowlist;
  UnixTime ip_allowlist_updated_at = 0;  // 0: never set
  // Single sign-on is required of the members (the owner keeps password access: break-glass).
  bool sso_enforced = false;
};

// A single sign-on connection of a workspace: a SAML 2.0 IdP, an OpenID Provider or an OAuth
// provider preset. What a login checks lives in `settings` (JSON, validated by service/sso);
// the store keeps it as given.
struct SsoConnection {
  std::string id;  // sso_…
  std::string workspace_id;
  std::string type;      // "saml", "oidc" or "oauth"
  std::string provider;  // okta, entra, google_workspace, onelogin, custom, github, gitlab, …
  std::string name;
  std::string status = "draft";      // draft, active or inactive
  std::vector<std::string> domains;  // lower case; each routes to one connection only
  std::string settings;              // JSON object
  std::string client_secret;         // OIDC/OAuth: sent to the token endpoint, never rendered
  int64_t settings_version = 1;      // moved by every change a login depends on
  std::string last_test;             // JSON object, "" before the first test
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};

// A bearer token a workspace's directory (Okta, Entra ID) provisions with. Only its SHA-256
// is kept.
struct ScimToken {
  std::string id;  // scim_…
  std::string workspace_id;
  std::string name;
  std::string token_hash;
  std::string created_by;  // user id
  UnixTime created_at = 0;
  std::optional<UnixTime> last_used_at;
  std::optional<UnixTime> revoked_at;
};

// The directory's record of one member: the SCIM User resource as last written (attributes
// Gatehouse does not act on included), and the values it is looked up by.
struct ScimUser {
  std::string workspace_id;
  std::string user_id;    // the member it provisions; also the resource's id
  std::string user_name;  // lower case (userName is matched case-insensitively)
  std::string external_id;
  bool active = true;
  std::string resource;  // JSON, without id, meta and groups (derived when read)
  int64_t version = 1;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};

// A directory group. Its members are users of the workspace (ScimGroupMembers).
struct ScimGroup {
  std::string id;  // dgr_…
  std::string workspace_id;
  std::string display_name;
  std::string external_id;
  std::string resource;  // JSON, without id, meta and members
  int64_t version = 1;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};

// A workspace's directory settings: which group gives which role and projects, as a JSON
// array `[{group, role, projects: [{project_id, role}]}]` validated by service/directory.
struct ScimSettings {
  std::string workspace_id;
  std::string group_mappings = "[]";
  UnixTime updated_at = 0;
};

// An event on the bus, written in the transaction of the change it tells of and fanned out
// by the dispatcher (to webhook deliveries); deleted once dispatched.
struct OutboxEvent {
  std::string id;  // the audit event's id
  std::string workspace_id;
  std::string type;     // the audit action: member.removed, api_key.revoked, …
  std::string payload;  // JSON: the webhook body {type, timestamp, data}
  UnixTime created_at = 0;
  std::string source = "audit";  // or "notification": a notification type, no audit action
};

// A workspace's webhook endpoint. The secrets are HMAC keys the deliveries are signed with, so
// they are stored as given (never rendered after creation or rotation).
struct WebhookEndpoint {
  std::string id;  // whk_…
  std::string workspace_id;
  std::string url;
  std::string description;
  std::vector<std::string> event_types;  // empty: every type
  bool enabled = true;
  std::string disabled_reason;  // "" or why the server disabled it (a 410)
  std::string secret;           // whsec_…
  std::string previous_secret;  // during a rotation's overlap
  std::optional<UnixTime> previous_secret_expires_at;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
  std::string kind = "webhook";  // or "slack": the workspace's Slack incoming webhook (slk_…)
  std::string channel;           // Slack: the channel to post to ("" for the hook's own)
};

// One message to one endpoint, with its attempts.
struct WebhookDelivery {
  std::string id;  // msg_… (the webhook-id header, the same on every attempt)
  std::string endpoint_id;
  std::string workspace_id;
  std::string event_type;
  std::string payload;
  std::string status = "pending";  // pending, succeeded, failed
  int attempts = 0;
  std::optional<int64_t> last_status_code;
  std::string last_error;
  std::optional<UnixTime> next_attempt_at;  // pending only
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};

// A workspace's rule for one notification type: which channels, to whom, how often.
struct NotificationRule {
  std::string workspace_id;
  std::string type;
  std::vector<std::string> channels;  // email, slack, webhook, in_app
  std::vector<std::string> roles;     // members holding one of these roles
  bool actor = false;    // the person who did it (else excluded from the roles' members)
  bool subject = false;  // the member the event is about (whose role changed, …)
  std::vector<std::string> users;  // usr_… named members
  std::string frequency = "immediate";  // or daily_digest (email only)
  UnixTime updated_at = 0;
};

// How a user wants notification mail per category: immediate, daily_digest or off.
struct NotificationPreferences {
  std::string invite_access = "immediate";
  std::string security = "immediate";
  std::string system = "immediate";
};

// One in-app notification of one user.
struct Notification {
  std::string id;  // ntf_…
  std::string user_id;
  std::string workspace_id;
  std::string type;
  std::string category;
  std::string title;
  std::string body;
  UnixTime created_at = 0;
  std::optional<UnixTime> read_at;
  std::string link;  // the dashboard page it leads to ("/w/ws_…/api-keys"), "" for none
};

// A line waiting for its recipient's daily digest.
struct DigestItem {
  std::string id;
  std::string user_id;
  std::string workspace_id;
  std::string type;
  std::string category;
  std::string title;
  UnixTime created_at = 0;
  UnixTime due_at = 0;
};

// A login on its way from GET /v1/sso/authorize to the ACS or the OIDC callback.
struct SsoRequest {
  std::string id;  // the SAML AuthnRequest ID, or the SHA-256 (hex) of the OIDC state
  std::string connection_id;
  std::string browser_hash;   // SHA-256 of the cookie set at authorize ("" when none)
  std::string nonce;          // OIDC
  std::string code_verifier;  // OIDC PKCE
  std::string redirect_url;   // where to land after the login ("" for the dashboard)
  bool test = false;          // a test login: record the outcome, sign nobody in
  int64_t settings_version = 0;
  UnixTime created_at = 0;
  UnixTime expires_at = 0;
  std::optional<UnixTime> used_at;
};

struct Membership {
  std::string id;  // mem_…
  std::string workspace_id;
  std::string user_id;
  std::string role;  // built-in role name or role_… id
  UnixTime joined_at = 0;
  // Set while the directory (SCIM `active: false`) has deactivated the member: every request
  // of theirs to the workspace is refused and their keys there verify REVOKED, until the
  // directory (or an admin, saying so) reactivates them.
  std::optional<UnixTime> deactivated_at;
  bool directory_managed = false;  // provisioned by the workspace's directory (SCIM)
  // Set while an admin has suspended the member: refused in the workspace, keys there verify
  // SUSPENDED, until unsuspended. The directory's deactivation is the stronger state.
  std::optional<UnixTime> suspended_at;
  std::string suspended_reason;

  std::string_view status() const {
    return deactivated_at ? "deactivated" : suspended_at ? "suspended" : "active";
  }
  // The hold its keys carry (ApiKey::owner_hold) in this state.
  std::string KeyHold() const {
    return deactivated_at ? "deactivated" : suspended_at ? "suspended" : "";
  }
};

// A workspace together with the user's membership of it.
struct WorkspaceWithRole {
  Workspace workspace;
  Membership membership;
};

struct Logo {
  std::string content_type;
  std::string bytes;
  UnixTime updated_at = 0;
};

// Who did what an audit event records: a signed-in user, an API key (acting for its owner),
// or Gatehouse itself (retention, mail delivery, …).
enum class ActorType { kUser, kApiKey, kSystem };
inline constexpr EnumName<ActorType> kActorTypeNames[] = {
    {ActorType::kUser, "user"}, {ActorType::kApiKey, "api_key"}, {ActorType::kSystem, "system"}};
static_assert(InEnumeratorOrder(kActorTypeNames));
constexpr std::string_view ToString(ActorType t) { return NameOf(kActorTypeNames, t); }
constexpr std::optional<ActorType> ParseActorType(std::string_view s) {
  return ParseName(kActorTypeNames, s);
}

// One entry of the append-only audit log. `hash` chains each event to the previous event of
// the same chain (the workspace, or "" for account-level events).
struct AuditEvent {
  std::string id;  // evt_…
  int64_t seq = 0;  // store-assigned, increasing; the pagination key
  std::string workspace_id;  // "" for account-level events
  UnixTime occurred_at = 0;
  std::string action;      // noun.verb, e.g. workspace.updated
  ActorType actor_type = ActorType::kSystem;
  std::string actor_id;
  std::string actor_name;
  std::string actor_email;
  std::string target_type;
  std::string target_id;
  std::string target_name;
  std::string project_id;
  std::string ip;
  std::string user_agent;
  std::string details_json = "{}";  // a JSON object, serialised
  std::string prev_hash;
  std::string hash;
};

struct AuditPage {
  std::vector<AuditEvent> events;
  std::optional<int64_t> next_seq;  // where the next page starts (exclusive), if any
};

// Where a mail is: kept in the store for `gatehouse mail list` (no SMTP server configured),
// queued for delivery, delivered, or given up on.
enum class MailStatus { kStored, kQueued, kSent, kFailed };
inline constexpr EnumName<MailStatus> kMailStatusNames[] = {{MailStatus::kStored, "stored"},
                                                            {MailStatus::kQueued, "queued"},
                                                            {MailStatus::kSent, "sent"},
                                                            {MailStatus::kFailed, "failed"}};
static_assert(InEnumeratorOrder(kMailStatusNames));
constexpr std::string_view ToString(MailStatus s) { return NameOf(kMailStatusNames, s); }
constexpr std::optional<MailStatus> ParseMailStatus(std::string_view s) {
  return ParseName(kMailStatusNames, s);
}

// Mail kept in the store: the outbox when SMTP is configured, the mailbox when it is not.
struct MailMessage {
  std::string id;
  std::string to;
  std::string subject;
  std::string body_text;
  UnixTime created_at = 0;
  std::optional<UnixTime> sent_at;
  MailStatus status = MailStatus::kStored;
  std::string body_html;
  int attempts = 0;
  UnixTime next_attempt_at = 0;
  std::string last_error;
};

// A role a workspace defines from catalogue permissions.
struct CustomRole {
  std::string id;  // role_…
  std::string workspace_id;
  std::string name;
  std::string description;
  std::vector<std::string> permissions;  // catalogue permission ids
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};

struct Project {
  std::string id;  // prj_…
  std::string workspace_id;
  std::string name;
  std::string environment = "development";  // development | staging | production
  std::optional<int64_t> rate_limit_per_minute;  // defaults for keys of the project
  std::optional<int64_t> rate_limit_per_month;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
};

// A member's role inside one project (overrides their workspace role there).
struct ProjectMember {
  std::string project_id;
  std::string workspace_id;
  std::string user_id;
  std::string role;
  UnixTime added_at = 0;
};

// Secret keys authenticate servers (management calls, verification, permissions in
// POST /v1/check); publishable keys are public by design and reach only the catalogue's
// publishable endpoints.
enum class KeyType { kSecret, kPublishable };
inline constexpr EnumName<KeyType> kKeyTypeNames[] = {{KeyType::kSecret, "secret"},
                                                      {KeyType::kPublishable, "publishable"}};
static_assert(InEnumeratorOrder(kKeyTypeNames));
constexpr std::string_view ToString(KeyType t) { return NameOf(kKeyTypeNames, t); }
constexpr std::optional<KeyType> ParseKeyType(std::string_view s) {
  return ParseName(kKeyTypeNames, s);
}

// Live keys are for production traffic, test keys for everything else; the gateway is told
// which in every verification.
enum class KeyEnvironment { kLive, kTest };
inline constexpr EnumName<KeyEnvironment> kKeyEnvironmentNames[] = {
    {KeyEnvironment::kLive, "live"}, {KeyEnvironment::kTest, "test"}};
static_assert(InEnumeratorOrder(kKeyEnvironmentNames));
constexpr std::string_view ToString(KeyEnvironment e) { return NameOf(kKeyEnvironmentNames, e); }
constexpr std::optional<KeyEnvironment> ParseKeyEnvironment(std::string_view s) {
  return ParseName(kKeyEnvironmentNames, s);
}

// An API key. Secret keys are kept only as the SHA-256 of the key; publishable keys are
// public by design and kept whole so that people allowed to see keys can copy them.
struct ApiKey {
  std::string id;  // key_…
  std::string workspace_id;
  std::string project_id;  // "" for workspace-wide keys
  KeyType type = KeyType::kSecret;
  KeyEnvironment environment = KeyEnvironment::kLive;
  std::string name;
  std::string service;
  std::string owner_id;  // the user who created it
  std::string prefix;    // the first characters, for people to recognise it
  std::string hash;      // SHA-256 hex of the whole key
  std::string publishable_key;  // the key itself, for publishable keys only
  std::vector<std::string> allow;  // endpoint patterns, trailing * wildcard; empty: all
  std::vector<std::string> deny;
  std::vector<std::string> methods;  // empty: any method
  std::optional<int64_t> rate_per_minute;
  std::optional<int64_t> rate_per_month;
  std::vector<std::string> ip_allowlist;  // CIDRs; empty: any address
  std::optional<UnixTime> expires_at;
  std::string previous_hash;  // the secret before the last rotation, during its grace period
  std::optional<UnixTime> previous_expires_at;
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
  std::optional<UnixTime> revoked_at;
  std::optional<UnixTime> last_used_at;
  // Moved by every write of the key (1 at creation): orders the index's updates.
  int64_t version = 1;
  // Why the key is held while its owner's membership is: "" (it is not), "deactivated".
  // Written with the membership's state (WriteTx::HoldKeysOfOwner), never by UpdateApiKey.
  std::string owner_hold;

  bool operator==(const ApiKey&) const = default;
};

// A user's TOTP secret: pending until a first code confirms it.
struct TotpState {
  std::string user_id;
  std::string secret;  // the raw bytes (20), not base32
  bool confirmed = false;
  int64_t last_step = 0;  // the last time step whose code was accepted
  UnixTime created_at = 0;
};

// Usage of one key, recorded in batches off the verify path.
struct KeyUsage {
  std::string key_id;
  UnixTime last_used_at = 0;  // 0: leave last_used_at as it is
  std::string period;  // "2026-11": the calendar month in the workspace's time zone
  int64_t count = 0;   // verifications to add
};

// A key's first use from an address (api_key_ips).
struct KeyIpUse {
  std::string key_id;
  std::string ip;
  UnixTime at = 0;
};

// A member as the team list shows them.
struct Member {
  Membership membership;
  User user;
};

struct Invitation {
  std::string id;  // inv_…
  std::string workspace_id;
  std::string email;
  std::string role;
  std::vector<std::string> projects;  // project ids, applied on acceptance
  std::string token_hash;             // SHA-256 of the token that only the email carries
  std::string invited_by;             // user id
  std::string redirect_url;
  std::string status = "pending";     // pending | accepted | revoked (expired is derived)
  UnixTime created_at = 0;
  UnixTime expires_at = 0;
  std::optional<UnixTime> accepted_at;
  std::optional<UnixTime> revoked_at;
};

}  // namespace gh
