// PostgreSQL schema, forward-only. Never edit a released migration; add the next one.
#include "store/sql/sql_db.h"

namespace gh::sql {

const std::vector<Migration>& PostgresMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  theme TEXT NOT NULL,
  language TEXT NOT NULL,
  avatar_url TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_login_at BIGINT
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  device TEXT NOT NULL,
  browser TEXT NOT NULL,
  ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_active_at BIGINT NOT NULL,
  idle_expires_at BIGINT NOT NULL,
  absolute_expires_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE TABLE workspaces (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  region TEXT NOT NULL,
  timezone TEXT NOT NULL,
  language TEXT NOT NULL,
  plan TEXT NOT NULL,
  subscription_status TEXT NOT NULL,
  audit_retention_days BIGINT NOT NULL,
  logo_content_type TEXT NOT NULL DEFAULT '',
  logo_updated_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE workspace_logos (
  workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  content_type TEXT NOT NULL,
  bytes BYTEA NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE memberships (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  joined_at BIGINT NOT NULL,
  UNIQUE (workspace_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id);
-- The audit log outlives the workspace it describes: no foreign key on workspace_id.
CREATE TABLE audit_events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  workspace_id TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  action TEXT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  actor_name TEXT NOT NULL,
  actor_email TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  target_name TEXT NOT NULL,
  project_id TEXT NOT NULL,
  ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_events_by_chain ON audit_events(workspace_id, seq);
CREATE TABLE audit_chain_heads (
  chain TEXT PRIMARY KEY,
  last_hash TEXT NOT NULL,
  last_seq BIGINT NOT NULL
);
CREATE TABLE mail (
  id TEXT PRIMARY KEY,
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL,
  body_text TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT,
  status TEXT NOT NULL
);
CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status BIGINT NOT NULL,
  content_type TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (scope, idem_key)
);
)sql"},
      {2, R"sql(
CREATE TABLE custom_roles (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  permissions TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (workspace_id, name)
);
CREATE TABLE invitations (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  role TEXT NOT NULL,
  projects TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  invited_by TEXT NOT NULL,
  redirect_url TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  accepted_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX invitations_by_workspace ON invitations(workspace_id, status);
ALTER TABLE mail ADD COLUMN body_html TEXT NOT NULL DEFAULT '';
ALTER TABLE mail ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mail ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mail ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
CREATE INDEX mail_due ON mail(status, next_attempt_at);
)sql"},
      {3, R"sql(
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  environment TEXT NOT NULL,
  rate_limit_per_minute BIGINT,
  rate_limit_per_month BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (workspace_id, name)
);
CREATE TABLE project_members (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  workspace_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  added_at BIGINT NOT NULL,
  PRIMARY KEY (project_id, user_id),
  FOREIGN KEY (workspace_id, user_id) REFERENCES memberships(workspace_id, user_id) ON DELETE CASCADE
);
CREATE INDEX project_members_by_user ON project_members(workspace_id, user_id);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  project_id TEXT REFERENCES projects(id) ON DELETE SET NULL,
  type TEXT NOT NULL,
  environment TEXT NOT NULL,
  name TEXT NOT NULL,
  service TEXT NOT NULL,
  owner_id TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  publishable_key TEXT NOT NULL,
  allow_patterns TEXT NOT NULL,
  deny_patterns TEXT NOT NULL,
  methods TEXT NOT NULL,
  rate_per_minute BIGINT,
  rate_per_month BIGINT,
  ip_allowlist TEXT NOT NULL,
  expires_at BIGINT,
  previous_hash TEXT,
  previous_expires_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  revoked_at BIGINT,
  last_used_at BIGINT
);
CREATE INDEX api_keys_by_workspace ON api_keys(workspace_id, created_at);
CREATE UNIQUE INDEX api_keys_previous_hash ON api_keys(previous_hash);
CREATE TABLE api_key_ips (
  key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  ip TEXT NOT NULL,
  first_seen_at BIGINT NOT NULL,
  PRIMARY KEY (key_id, ip)
);
CREATE TABLE api_key_usage (
  key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  period TEXT NOT NULL,
  count BIGINT NOT NULL,
  PRIMARY KEY (key_id, period)
);
)sql"},
      {4, R"sql(
-- Other processes follow changes to keys, projects and workspaces by time (see KeyIndex):
-- indexes for "changed since", and tombstones for deleted workspaces, whose rows are gone.
CREATE INDEX api_keys_by_updated ON api_keys(updated_at);
CREATE INDEX projects_by_updated ON projects(updated_at);
CREATE INDEX workspaces_by_updated ON workspaces(updated_at);
CREATE TABLE workspace_tombstones (
  id TEXT PRIMARY KEY,
  deleted_at BIGINT NOT NULL
);
CREATE INDEX workspace_tombstones_by_time ON workspace_tombstones(deleted_at);
)sql"},
      {5, R"sql(
-- Audit log at scale: one index per filter, each ending in the (occurred_at, seq) keyset
-- so that a filtered page is an index range scan; the retention anchor; daily counters.
ALTER TABLE audit_events ALTER COLUMN action SET DATA TYPE TEXT COLLATE "C";
ALTER TABLE audit_chain_heads ADD COLUMN anchor_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_chain_heads ADD COLUMN purged_through_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX audit_events_by_time ON audit_events(workspace_id, occurred_at, seq);
CREATE INDEX audit_events_by_actor ON audit_events(workspace_id, actor_id, occurred_at, seq);
CREATE INDEX audit_events_by_action ON audit_events(workspace_id, action, occurred_at, seq);
CREATE INDEX audit_events_by_project ON audit_events(workspace_id, project_id, occurred_at, seq);
CREATE INDEX audit_events_by_target ON audit_events(workspace_id, target_id, occurred_at, seq);
CREATE TABLE audit_daily_counts (
  workspace_id TEXT NOT NULL,
  day TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  action TEXT NOT NULL,
  count BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, day, actor_id, action)
);
)sql"},
      {6, R"sql(
-- Two-factor authentication: TOTP secrets, single-use recovery codes (hashes only), and the
-- workspace setting that requires it.
ALTER TABLE users ADD COLUMN mfa_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workspaces ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;
CREATE TABLE user_totp (
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret BYTEA NOT NULL,
  confirmed INTEGER NOT NULL DEFAULT 0,
  last_step BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE TABLE recovery_codes (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  used_at BIGINT,
  PRIMARY KEY (user_id, code_hash)
);
)sql"},
      {7, R"sql(
-- The workspace IP allowlist: "block all other IPs", and its ranges as lines of
-- "<cidr> <label>" (a CIDR holds no space; labels hold no control characters).
ALTER TABLE workspaces ADD COLUMN ip_allowlist_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workspaces ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN ip_allowlist_updated_at BIGINT NOT NULL DEFAULT 0;
)sql"},
      {8, R"sql(
-- Sign-in history and account deletion: the country GeoIP gave each session (new-location
-- detection), and when a user deleted their account (the row stays, anonymised).
ALTER TABLE sessions ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
CREATE INDEX sessions_by_user_created ON sessions(user_id, created_at);
)sql"},
      {9, R"sql(
-- The `noun.*` action filter: the noun (the action up to its dot) as a column with its own
-- (workspace, noun, time, seq) index, so that a prefix filter is an index range in keyset
-- order instead of a range over actions followed by a sort. Existing rows are filled in
-- batches by the backfill below; the partial index finds the rows still to fill.
ALTER TABLE audit_events ADD COLUMN noun TEXT COLLATE "C";
CREATE INDEX audit_events_noun_pending ON audit_events(seq) WHERE noun IS NULL;
CREATE INDEX audit_events_by_noun ON audit_events(workspace_id, noun, occurred_at, seq);
)sql",
       R"sql(UPDATE audit_events SET noun = split_part(action, '.', 1)
WHERE seq IN (SELECT seq FROM audit_events WHERE noun IS NULL ORDER BY seq LIMIT 5000))sql"},
      {10, R"sql(
-- Idempotency-Key answers are kept for 24 hours: the index finds the older ones to purge.
CREATE INDEX idempotency_keys_by_time ON idempotency_keys(created_at);
)sql"},
      {11, R"sql(
-- A key's version, moved by every write of the key: the in-memory index applies a key's
-- changes in version order, so a revocation's after-commit update is never overwritten by
-- that of an edit that committed before it (see KeyIndex::Put).
ALTER TABLE api_keys ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
)sql"},
      {12, R"sql(
-- Email verification and password reset: when a user proved their address, and the
-- single-use links mailed to them (hashes only; `used_at` is set inside the transaction that
-- uses one, under its row lock, so a link works once however many requests race).
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
-- Accounts made before verification existed count as verified: they signed up under the old
-- rules, many joined through a mailed invitation (which proves the address), and marking
-- them unverified would lock every existing user out of accepting invitations at upgrade.
-- An address squatted before the upgrade is recovered the way any is: a password reset
-- (mailed to the real owner) takes the account over and signs the squatter out.
UPDATE users SET email_verified_at = created_at WHERE deleted_at IS NULL;
CREATE TABLE account_tokens (
  token_hash TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX account_tokens_by_user ON account_tokens(user_id, purpose);
)sql"},
      {13, R"sql(
-- Single sign-on. A connection's settings (IdP values, mappings) are one JSON document: the
-- store only keeps it, the service validates it. The client secret of an OIDC/OAuth
-- connection must be sent to the provider, so it is stored as given (never rendered).
-- `settings_version` moves with every change a login depends on: a test login counts for
-- enabling only while its version is current.
CREATE TABLE sso_connections (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  provider TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  settings TEXT NOT NULL,
  client_secret TEXT NOT NULL DEFAULT '',
  settings_version BIGINT NOT NULL DEFAULT 1,
  last_test TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX sso_connections_by_workspace ON sso_connections(workspace_id);
-- Each email domain routes to one connection: the primary key makes a second claim fail.
CREATE TABLE sso_domains (
  domain TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE
);
CREATE INDEX sso_domains_by_connection ON sso_domains(connection_id);
-- Logins on their way (the SAML AuthnRequest ID, or the SHA-256 of the OIDC state): used
-- once, under a row lock, within their lifetime.
CREATE TABLE sso_requests (
  id TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
  browser_hash TEXT NOT NULL,
  nonce TEXT NOT NULL,
  code_verifier TEXT NOT NULL,
  redirect_url TEXT NOT NULL,
  test INTEGER NOT NULL,
  settings_version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX sso_requests_by_expiry ON sso_requests(expires_at);
-- SAML assertion IDs seen, until they expire: each is accepted once, on every node.
CREATE TABLE sso_assertions (
  connection_id TEXT NOT NULL,
  assertion_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX sso_assertions_by_expiry ON sso_assertions(expires_at);
ALTER TABLE workspaces ADD COLUMN sso_enforced INTEGER NOT NULL DEFAULT 0;
-- How a session was made ("password" or "sso"); an SSO session names its connection and is
-- valid only in that connection's workspace.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
ALTER TABLE sessions ADD COLUMN sso_connection_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN scope_workspace_id TEXT NOT NULL DEFAULT '';
)sql"},
      {14, R"sql(
-- Directory sync (SCIM 2.0). Tokens are kept as SHA-256 only.
CREATE TABLE scim_tokens (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX scim_tokens_by_workspace ON scim_tokens(workspace_id);
-- The directory's record of a member: one per (workspace, user), found by userName (lower
-- case, unique in the workspace) or externalId. It goes with the membership.
CREATE TABLE scim_users (
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  external_id TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL,
  resource TEXT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, user_id),
  UNIQUE (workspace_id, user_name)
);
CREATE INDEX scim_users_by_external_id ON scim_users(workspace_id, external_id);
-- Directory groups; a display name (lower case) names one group of the workspace, which is
-- what group mappings match.
CREATE TABLE scim_groups (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  display_key TEXT NOT NULL,
  external_id TEXT NOT NULL DEFAULT '',
  resource TEXT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (workspace_id, display_key)
);
CREATE INDEX scim_groups_by_external_id ON scim_groups(workspace_id, external_id);
CREATE TABLE scim_group_members (
  group_id TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_by_user ON scim_group_members(user_id, group_id);
CREATE TABLE scim_settings (
  workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  group_mappings TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
ALTER TABLE memberships ADD COLUMN deactivated_at BIGINT;
ALTER TABLE memberships ADD COLUMN directory_managed INTEGER NOT NULL DEFAULT 0;
-- Why a key is held with its owner's membership ('' when it is not): verification answers
-- REVOKED while it is.
ALTER TABLE api_keys ADD COLUMN owner_hold TEXT NOT NULL DEFAULT '';
)sql"},
      {15, R"sql(
-- The event bus: one row per workspace event, written with the change, fanned out by the
-- dispatcher and deleted once dispatched.
CREATE TABLE outbox_events (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX outbox_events_by_time ON outbox_events(created_at, id);
-- Webhook endpoints. Secrets sign deliveries (HMAC keys), so they are stored as given.
CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  event_types TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT NOT NULL DEFAULT '',
  secret TEXT NOT NULL,
  previous_secret TEXT NOT NULL DEFAULT '',
  previous_secret_expires_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_by_workspace ON webhook_endpoints(workspace_id);
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  workspace_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status_code INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  next_attempt_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries(endpoint_id, created_at);
)sql"},
      {16, R"sql(
-- Where an event of the bus comes from: 'audit' (an audited change, its type the action) or
-- 'notification' (a notification type that is no audit action: a sign-in from a new device,
-- a key over its rate limit, the host's own).
ALTER TABLE outbox_events ADD COLUMN source TEXT NOT NULL DEFAULT 'audit';
-- A workspace's Slack incoming webhook is an endpoint of kind 'slack' (at most one), so that
-- its messages share the deliveries' queue, retries and log.
ALTER TABLE webhook_endpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE webhook_endpoints ADD COLUMN channel TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX webhook_endpoints_one_slack ON webhook_endpoints(workspace_id)
  WHERE kind = 'slack';
-- A workspace's rule for one notification type (the defaults are not stored).
CREATE TABLE notification_rules (
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  channels TEXT NOT NULL,
  roles TEXT NOT NULL,
  actor INTEGER NOT NULL,
  subject INTEGER NOT NULL,
  users TEXT NOT NULL,
  frequency TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, type)
);
CREATE TABLE notification_preferences (
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  invite_access TEXT NOT NULL,
  security TEXT NOT NULL,
  system TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
-- The in-app inbox.
CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  category TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  read_at BIGINT
);
CREATE INDEX notifications_by_user ON notifications(user_id, id);
CREATE INDEX notifications_by_time ON notifications(created_at);
-- Lines waiting for a recipient's daily digest mail, due at 09:00 in the workspace's zone.
CREATE TABLE digest_items (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  category TEXT NOT NULL,
  title TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL
);
CREATE INDEX digest_items_due ON digest_items(due_at);
CREATE INDEX digest_items_by_user ON digest_items(user_id, workspace_id);
-- "At most once per … per hour" across every node: a key and when it may fire again.
CREATE TABLE notification_throttle (
  key TEXT PRIMARY KEY,
  until_at BIGINT NOT NULL
);
)sql"},
      {17, R"sql(
-- A member suspended by an admin (or from an anomaly): refused in the workspace and their keys
-- there verify SUSPENDED, until unsuspended. Distinct from removal and from the directory's
-- deactivation; keys are held with owner_hold = 'suspended'.
ALTER TABLE memberships ADD COLUMN suspended_at BIGINT;
ALTER TABLE memberships ADD COLUMN suspended_reason TEXT NOT NULL DEFAULT '';
-- Where an in-app notification leads in the dashboard (a path such as /w/ws_…/api-keys).
ALTER TABLE notifications ADD COLUMN link TEXT NOT NULL DEFAULT '';
)sql"},
  };
  return kMigrations;
}

}  // namespace gh::sql
