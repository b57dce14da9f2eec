// Store: everything the domain keeps, in domain words. Two backends implement it (SQLite
// and PostgreSQL) and one conformance suite (tests/store) holds them to the same behaviour.
//
// Reads are methods of Store. Writes happen inside a WriteTx, so that a mutation and its audit
// event commit together or not at all. Unexpected database failures (disk full, connection
// lost) throw StoreError; expected outcomes (a duplicate email) come back as Status values.
// Every method is safe to call from several threads at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/model.h"
#include "core/result.h"

namespace gh {

// An unexpected failure of the database itself.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The first response to a mutating request that carried an Idempotency-Key.
struct IdempotentResponse {
  std::string request_hash;  // method, path and body digest of the first request
  int status = 0;
  std::string content_type;
  std::string body;
  UnixTime created_at = 0;
};

// Activity of a session, recorded in batches off the request path.
struct SessionActivity {
  std::string session_id;
  UnixTime last_active_at = 0;
  UnixTime idle_expires_at = 0;
};

// What a filtered read of one audit chain selects. Empty strings and nullopt mean "any".
struct AuditFilter {
  std::string workspace_id;  // the chain ("" for account-level events)
  std::string actor_id;
  std::string action;         // exact action
  std::string action_prefix;  // "member." matches member.invited, member.removed …
  std::string project_id;
  std::string target_id;
  std::optional<UnixTime> from;  // occurred_at >= from
  std::optional<UnixTime> to;    // occurred_at < to
  // When set, only events of these projects and workspace-level events (no project).
  std::optional<std::vector<std::string>> visible_projects;
};

// The keyset position of an event in newest-first order: (occurred_at, seq) descending.
struct AuditKey {
  UnixTime occurred_at = 0;
  int64_t seq = 0;
};

struct AuditFilteredPage {
  std::vector<AuditEvent> events;
  std::optional<AuditKey> next;  // the last event's key when more may follow
};

// One filter's events newest first by (occurred_at, seq), read a batch at a time: what an
// export pulls. Not thread-safe; destroy it before its Store.
class AuditEventStream {
 public:
  virtual ~AuditEventStream() = default;
  // Calls `fn` with each of the next `max` events at most and returns how many there were,
  // fewer than `max` only once the stream is exhausted. The event passed is one object reused
  // from call to call (`fn` may change it); it carries every field but prev_hash and hash.
  virtual int Read(int max, const std::function<void(AuditEvent&)>& fn) = 0;
};

// Where a chain's verification starts and ends: the retained events lie between them.
struct AuditChainBounds {
  std::string anchor_hash;       // prev_hash of the oldest retained event ("" before a purge)
  int64_t purged_through_seq = 0;  // events with seq <= this were deleted by retention
  std::string last_hash;
  int64_t last_seq = 0;
};

// Events of one actor on one day, by action: the baseline of anomaly detection.
struct AuditDailyCount {
  std::string workspace_id;
  std::string actor_id;
  std::string day;  // "2026-11-30", UTC
  std::string action;
  int64_t count = 0;
};

// What the domain reads, in domain words: the methods of a Store (each a statement on a
// pooled connection, seeing what has committed) and of a WriteTx (on the transaction's own
// connection, seeing its own writes and, after a lock, what others committed before it).
class StoreReader {
 public:
  virtual ~StoreReader() = default;

  virtual std::optional<User> UserById(const std::string& id) = 0;
  virtual std::optional<User> UserByEmail(const std::string& normalized_email) = 0;

  virtual std::optional<Session> SessionByTokenHash(const std::string& token_hash) = 0;
  // Sessions neither revoked nor expired at `now`, most recently active first.
  virtual std::vector<Session> LiveSessionsOfUser(const std::string& user_id, UnixTime now) = 0;
  // The user's most recent sessions, revoked and expired ones included, newest first: the
  // sign-in history that new-device and new-location detection compares with.
  virtual std::vector<Session> RecentSessionsOfUser(const std::string& user_id, int limit) = 0;

  virtual std::optional<Workspace> WorkspaceById(const std::string& id) = 0;
  virtual std::vector<WorkspaceWithRole> WorkspacesOfUser(const std::string& user_id) = 0;
  virtual std::optional<Membership> MembershipOf(const std::string& workspace_id,
                                                 const std::string& user_id) = 0;
  virtual int64_t MemberCount(const std::string& workspace_id) = 0;
  // Oldest member first.
  virtual std::vector<Member> Members(const std::string& workspace_id) = 0;
  virtual std::optional<Member> MemberOf(const std::string& workspace_id,
                                         const std::string& user_id) = 0;
  virtual int64_t CountMembersWithRole(const std::string& workspace_id,
                                       const std::string& role) = 0;
  // The same, counting only members who can act: neither deactivated nor suspended (for
  // "the last administrator" rules).
  virtual int64_t CountActiveMembersWithRole(const std::string& workspace_id,
                                             const std::string& role) = 0;

  virtual std::vector<CustomRole> CustomRoles(const std::string& workspace_id) = 0;
  virtual std::optional<CustomRole> CustomRoleById(const std::string& workspace_id,
                                                   const std::string& role_id) = 0;

  virtual std::vector<Project> Projects(const std::string& workspace_id) = 0;  // by name
  virtual std::optional<Project> ProjectById(const std::string& workspace_id,
                                             const std::string& project_id) = 0;
  virtual std::vector<ProjectMember> ProjectMembers(const std::string& workspace_id) = 0;

  virtual std::vector<ApiKey> ApiKeys(const std::string& workspace_id) = 0;  // oldest first
  virtual std::optional<ApiKey> ApiKeyById(const std::string& workspace_id,
                                           const std::string& key_id) = 0;
  // Every key of every workspace, for the verification index; `after_id` pages by id.
  virtual std::vector<ApiKey> AllApiKeys(const std::string& after_id, int limit) = 0;
  // What changed at or after `since` (seconds), for processes that follow each other's
  // changes: keys, workspaces whose row or one of whose projects changed, deleted workspaces.
  virtual std::vector<ApiKey> ApiKeysUpdatedSince(UnixTime since) = 0;
  virtual std::optional<TotpState> TotpOf(const std::string& user_id) = 0;
  virtual int RecoveryCodesLeft(const std::string& user_id) = 0;
  virtual std::vector<std::string> WorkspacesChangedSince(UnixTime since) = 0;
  virtual std::vector<std::string> WorkspacesDeletedSince(UnixTime since) = 0;
  // (key id, ip) pairs after the given pair, in that order.
  virtual std::vector<std::pair<std::string, std::string>> AllKeyIps(const std::string& after_key,
                                                                     const std::string& after_ip,
                                                                     int limit) = 0;
  // Verifications of each key in `period` ("2026-11").
  virtual std::vector<std::pair<std::string, int64_t>> KeyUsageIn(const std::string& period) = 0;

  // A mailed single-use link by the SHA-256 of its token, used or not, expired or not.
  virtual std::optional<AccountToken> AccountTokenByHash(const std::string& token_hash) = 0;

  virtual std::optional<Invitation> InvitationById(const std::string& workspace_id,
                                                   const std::string& invitation_id) = 0;
  virtual std::optional<Invitation> InvitationByTokenHash(const std::string& token_hash) = 0;
  // Newest first; with `pending_only`, only pending invitations not expired at `now`.
  virtual std::vector<Invitation> Invitations(const std::string& workspace_id, bool pending_only,
                                              UnixTime now) = 0;
  virtual int64_t CountPendingInvitations(const std::string& workspace_id, UnixTime now) = 0;
  virtual std::optional<Invitation> PendingInvitationFor(const std::string& workspace_id,
                                                         const std::string& email,
                                                         UnixTime now) = 0;
  virtual std::optional<Logo> LogoOf(const std::string& workspace_id) = 0;

  // Newest first; `before_seq` excludes it and everything newer.
  virtual AuditPage AuditEvents(const std::string& chain, std::optional<int64_t> before_seq,
                                int limit) = 0;
  // Newest first by (occurred_at, seq), matching `filter`, strictly after `after` in that
  // order when given.
  virtual AuditFilteredPage FilteredAuditEvents(const AuditFilter& filter,
                                                std::optional<AuditKey> after, int limit) = 0;
  // The anchor and head of a chain (all empty/zero for a chain without events).
  virtual AuditChainBounds AuditBounds(const std::string& chain) = 0;
  // Every chain with its workspace's retention in days (365 for chains without a workspace).
  virtual std::vector<std::pair<std::string, int>> AuditRetentions() = 0;
  // Daily counters of `workspace_id` for days in [from_day, to_day] ("YYYY-MM-DD").
  virtual std::vector<AuditDailyCount> AuditDailyCounts(const std::string& workspace_id,
                                                        const std::string& from_day,
                                                        const std::string& to_day) = 0;
  // Oldest first, for verification: events with seq > after_seq.
  virtual std::vector<AuditEvent> AuditChainSegment(const std::string& chain, int64_t after_seq,
                                                    int limit) = 0;

  // Newest first.
  virtual std::vector<MailMessage> Mail(int limit) = 0;
  // Mail with `status` (queued, or stored for the log) whose next attempt is due at `now`,
  // oldest first.
  virtual std::vector<MailMessage> DueMail(UnixTime now, int limit,
                                           MailStatus status = MailStatus::kQueued) = 0;

  virtual std::optional<IdempotentResponse> FindIdempotentResponse(const std::string& scope,
                                                                   const std::string& key) = 0;

  // Single sign-on connections: of a workspace (oldest first), by id (any workspace: the
  // ACS and callback routes name only the connection), by one of its email domains.
  virtual std::vector<SsoConnection> SsoConnections(const std::string& workspace_id) = 0;
  virtual std::optional<SsoConnection> SsoConnectionById(const std::string& connection_id) = 0;
  virtual std::optional<SsoConnection> SsoConnectionByDomain(const std::string& domain) = 0;
  virtual std::optional<SsoRequest> SsoRequestById(const std::string& request_id) = 0;
  // Logins on their way that are neither used nor expired at `now`, of one connection.
  virtual int64_t CountSsoRequests(const std::string& connection_id, UnixTime now) = 0;

  // Directory sync. Tokens of a workspace (oldest first), and any token by its SHA-256.
  virtual std::vector<ScimToken> ScimTokens(const std::string& workspace_id) = 0;
  virtual std::optional<ScimToken> ScimTokenByHash(const std::string& token_hash) = 0;
  virtual std::optional<ScimSettings> ScimSettingsOf(const std::string& workspace_id) = 0;
  // Directory users, oldest first; `user_name` is lower case.
  virtual std::optional<ScimUser> ScimUserOf(const std::string& workspace_id,
                                             const std::string& user_id) = 0;
  virtual std::optional<ScimUser> ScimUserByUserName(const std::string& workspace_id,
                                                     const std::string& user_name) = 0;
  virtual std::vector<ScimUser> ScimUsersByExternalId(const std::string& workspace_id,
                                                      const std::string& external_id) = 0;
  virtual std::vector<ScimUser> ScimUsers(const std::string& workspace_id, int64_t offset,
                                          int64_t limit) = 0;
  virtual int64_t CountScimUsers(const std::string& workspace_id) = 0;
  // Directory groups, oldest first; `display_key` is the display name in lower case.
  virtual std::optional<ScimGroup> ScimGroupById(const std::string& workspace_id,
                                                 const std::string& group_id) = 0;
  virtual std::optional<ScimGroup> ScimGroupByDisplayKey(const std::string& workspace_id,
                                                         const std::string& display_key) = 0;
  virtual std::vector<ScimGroup> ScimGroupsByExternalId(const std::string& workspace_id,
                                                        const std::string& external_id) = 0;
  virtual std::vector<ScimGroup> ScimGroups(const std::string& workspace_id, int64_t offset,
                                            int64_t limit) = 0;
  virtual int64_t CountScimGroups(const std::string& workspace_id) = 0;
  // The user ids of a group's members, in id order.
  virtual std::vector<std::string> ScimGroupMembers(const std::string& group_id) = 0;
  // The groups of the workspace that the user is a member of, by display name.
  virtual std::vector<ScimGroup> ScimGroupsOfUser(const std::string& workspace_id,
                                                  const std::string& user_id) = 0;

  // The event bus: events not dispatched yet, oldest first.
  virtual std::vector<OutboxEvent> PendingOutboxEvents(int limit) = 0;
  // Webhook endpoints of a workspace (oldest first) and one by id.
  virtual std::vector<WebhookEndpoint> WebhookEndpoints(const std::string& workspace_id) = 0;
  virtual std::optional<WebhookEndpoint> WebhookEndpointById(const std::string& workspace_id,
                                                             const std::string& endpoint_id) = 0;
  // An endpoint's deliveries, newest first, created strictly before `before` (a delivery id)
  // when given.
  virtual std::vector<WebhookDelivery> WebhookDeliveries(const std::string& endpoint_id,
                                                         const std::string& before_id,
                                                         int limit) = 0;
  virtual std::optional<WebhookDelivery> WebhookDeliveryById(const std::string& endpoint_id,
                                                             const std::string& delivery_id) = 0;
  // Pending deliveries whose next attempt is due at `now`, oldest first.
  virtual std::vector<WebhookDelivery> DueWebhookDeliveries(UnixTime now, int limit) = 0;

  // Notifications. The stored rules of a workspace (types without one follow the defaults).
  virtual std::vector<NotificationRule> NotificationRules(const std::string& workspace_id) = 0;
  virtual std::optional<NotificationPreferences> NotificationPreferencesOf(
      const std::string& user_id) = 0;
  // A user's in-app notifications, newest first, from the workspaces they are an active
  // member of now (`workspace_id` "" for all of them); strictly older than `before_id` when
  // given.
  virtual std::vector<Notification> NotificationsOf(const std::string& user_id,
                                                    const std::string& workspace_id,
                                                    bool unread_only, const std::string& before_id,
                                                    int limit) = 0;
  virtual int64_t CountUnreadNotifications(const std::string& user_id,
                                           const std::string& workspace_id) = 0;
  virtual std::optional<Notification> NotificationById(const std::string& user_id,
                                                       const std::string& id) = 0;
  // Recipients (user id, workspace id) with digest lines due at `now` (all when `now` is
  // nullopt), at most `limit` of them.
  virtual std::vector<std::pair<std::string, std::string>> DueDigests(std::optional<UnixTime> now,
                                                                      int limit) = 0;
};

// A write transaction: reads (StoreReader) on its own connection, then writes. Destroying it
// without Commit() rolls everything back. Use cases get one from Store::Write.
class WriteTx : public StoreReader {
 public:
  ~WriteTx() override = default;

  // Locking reads. Each returns the row as committed now and keeps anyone else from changing
  // it until this transaction ends (PostgreSQL: SELECT … FOR UPDATE; SQLite: the transaction
  // already holds the database's write lock). The workspace row is the lock of everything
  // whose invariants span a workspace: memberships and their roles (exactly one owner, at
  // least one admin), keys' owners. Take it before reading what such a check reads, and
  // before other locks (workspaces in id order when several).
  virtual std::optional<Workspace> LockWorkspace(const std::string& workspace_id) = 0;
  virtual std::optional<ApiKey> LockApiKey(const std::string& workspace_id,
                                           const std::string& key_id) = 0;
  virtual std::optional<User> LockUser(const std::string& user_id) = 0;
  virtual std::optional<Invitation> LockInvitation(const std::string& workspace_id,
                                                   const std::string& invitation_id) = 0;
  virtual std::optional<AccountToken> LockAccountToken(const std::string& token_hash) = 0;
  virtual std::optional<SsoConnection> LockSsoConnection(const std::string& connection_id) = 0;
  virtual std::optional<SsoRequest> LockSsoRequest(const std::string& request_id) = 0;

  // Runs `fn` after this transaction commits (index and cache updates, waking workers), in
  // registration order; never if it rolls back.
  void AfterCommit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }
  std::vector<std::function<void()>> TakeAfterCommit() { return std::move(after_commit_); }

  // Conflict `email_taken` when the (normalised) email exists already.
  virtual Status InsertUser(const User& user) = 0;
  virtual void UpdateUser(const User& user) = 0;
  // Account deletion: replaces email (with a value no sign-up can produce), name, password
  // hash and avatar, sets deleted_at and deletes the user's mailed links. The id stays for
  // what refers to it.
  virtual void AnonymiseUser(const std::string& user_id, UnixTime at) = 0;
  virtual void SetUserLastLogin(const std::string& user_id, UnixTime at) = 0;
  // Sets email_verified_at when it is not set yet (the first proof is kept).
  virtual void MarkEmailVerified(const std::string& user_id, UnixTime at) = 0;

  // Mailed single-use links (password reset, email verification). Inserting one also deletes
  // the user's links that expired before `token.created_at`, so rows stay bounded by what
  // the limits let a user be mailed within a link's lifetime.
  virtual void InsertAccountToken(const AccountToken& token) = 0;
  // Marks the link used at `at`; false when it was used already (or does not exist). Read it
  // with LockAccountToken in the same transaction first.
  virtual bool UseAccountToken(const std::string& token_hash, UnixTime at) = 0;
  // Marks every unused link of the user with `purpose` used at `at` (one link used retires
  // the others mailed before it); returns how many.
  virtual int RetireAccountTokens(const std::string& user_id, AccountTokenPurpose purpose,
                                  UnixTime at) = 0;

  // Two-factor authentication. A pending secret replaces any earlier pending one; confirming
  // sets users.mfa_enabled and replaces the recovery codes; deleting clears all three.
  virtual void PutPendingTotp(const TotpState& t) = 0;
  // Records `step` as used if it is later than the last used one; false otherwise (replay).
  virtual bool UseTotpStep(const std::string& user_id, int64_t step) = 0;
  virtual void ConfirmTotp(const std::string& user_id,
                           const std::vector<std::string>& recovery_code_hashes) = 0;
  virtual void DeleteTotp(const std::string& user_id) = 0;
  // Marks an unused recovery code used; false if there is none with this hash.
  virtual bool UseRecoveryCode(const std::string& user_id, const std::string& code_hash,
                               UnixTime at) = 0;

  virtual void InsertSession(const Session& session) = 0;
  // Returns false when the session does not exist, belongs to another user or is revoked.
  virtual bool RevokeSession(const std::string& user_id, const std::string& session_id,
                             UnixTime at) = 0;
  // Revokes every live session of the user but `keep_session_id`; returns how many.
  virtual int RevokeOtherSessions(const std::string& user_id, const std::string& keep_session_id,
                                  UnixTime at) = 0;
  virtual void RecordSessionActivity(const std::vector<SessionActivity>& batch) = 0;

  virtual void InsertWorkspace(const Workspace& ws) = 0;
  // Writes the workspace's settings; not its IP allowlist (UpdateIpAllowlist does).
  virtual void UpdateWorkspace(const Workspace& ws) = 0;
  // Replaces the IP allowlist and its switch, and moves updated_at and
  // ip_allowlist_updated_at to `at` (so that other processes' refresh sees the change).
  virtual void UpdateIpAllowlist(const std::string& workspace_id, bool enabled,
                                 const std::vector<IpAllowEntry>& entries, UnixTime at) = 0;
  // Deletes the workspace and what belongs to it (not its audit log), leaving a tombstone
  // dated `now` so that other processes learn of the deletion (WorkspacesDeletedSince).
  virtual void DeleteWorkspace(const std::string& workspace_id, UnixTime now) = 0;
  virtual void PutLogo(const std::string& workspace_id, const Logo& logo) = 0;

  virtual void InsertMembership(const Membership& m) = 0;
  // Return false when the user is not a member.
  virtual bool UpdateMemberRole(const std::string& workspace_id, const std::string& user_id,
                                const std::string& role) = 0;
  // Also deletes the directory's record of the member (its SCIM user and group memberships).
  virtual bool DeleteMembership(const std::string& workspace_id, const std::string& user_id) = 0;
  // Writes deactivated_at and directory_managed; false when the user is not a member.
  virtual bool SetMembershipState(const std::string& workspace_id, const std::string& user_id,
                                  std::optional<UnixTime> deactivated_at,
                                  bool directory_managed) = 0;
  // Suspends (a time) or unsuspends (nullopt) a member; false when there is no such member.
  virtual bool SetMembershipSuspension(const std::string& workspace_id, const std::string& user_id,
                                       std::optional<UnixTime> suspended_at,
                                       const std::string& reason) = 0;

  // Conflict `role_name_taken` when the workspace has a role of that name.
  virtual Status InsertCustomRole(const CustomRole& role) = 0;
  virtual Status UpdateCustomRole(const CustomRole& role) = 0;
  virtual bool DeleteCustomRole(const std::string& workspace_id, const std::string& role_id) = 0;

  // Conflict `project_name_taken` when the workspace has a project of that name.
  virtual Status InsertProject(const Project& p) = 0;
  virtual Status UpdateProject(const Project& p) = 0;
  virtual bool DeleteProject(const std::string& workspace_id, const std::string& project_id) = 0;
  // Inserts or replaces the member's role in the project.
  virtual void PutProjectMember(const ProjectMember& m) = 0;
  virtual bool DeleteProjectMember(const std::string& project_id, const std::string& user_id) = 0;

  // Writes the key with key.version (1 for a new key).
  virtual void InsertApiKey(const ApiKey& key) = 0;
  // Writes every mutable column of the key (name, service, limits, patterns, hashes, the
  // publishable key, expiry, revoked) and moves its version on by one, into key.version.
  // Read the key with LockApiKey in the same transaction first. False when it is gone.
  virtual bool UpdateApiKey(ApiKey& key) = 0;
  // Revokes the live keys `owner_id` holds in the workspace; returns them as written.
  virtual std::vector<ApiKey> RevokeKeysOfOwner(const std::string& workspace_id,
                                                const std::string& owner_id, UnixTime at) = 0;
  // Gives the live keys `owner_id` holds in the workspace to `new_owner_id`; returns them
  // as written.
  virtual std::vector<ApiKey> TransferKeysOfOwner(const std::string& workspace_id,
                                                  const std::string& owner_id,
                                                  const std::string& new_owner_id,
                                                  UnixTime at) = 0;
  // Revokes the live keys `owner_id` holds in any workspace; returns them as written.
  virtual std::vector<ApiKey> RevokeAllKeysOfOwner(const std::string& owner_id,
                                                   UnixTime at) = 0;
  // Sets owner_hold on the live keys `owner_id` holds in the workspace ("" lifts it); returns
  // those whose hold changed, as written.
  virtual std::vector<ApiKey> HoldKeysOfOwner(const std::string& workspace_id,
                                              const std::string& owner_id,
                                              const std::string& hold, UnixTime at) = 0;
  // Adds usage counts and moves last_used_at forward.
  virtual void RecordKeyUsage(const std::vector<KeyUsage>& batch) = 0;
  // Records first uses of keys from addresses, skipping keys that no longer exist and pairs
  // recorded already (by this or another process); returns the positions in `uses` that were
  // new, in ascending order.
  virtual std::vector<size_t> InsertKeyIps(const std::vector<KeyIpUse>& uses) = 0;

  virtual void InsertInvitation(const Invitation& inv) = 0;
  // Writes status, token_hash, expires_at, accepted_at and revoked_at.
  virtual void UpdateInvitation(const Invitation& inv) = 0;

  // Locks the audit chain (a workspace id, or "" for account events) until commit and returns
  // the hash of its last event ("" for a new chain).
  virtual std::string LockAuditChain(const std::string& chain) = 0;
  // Appends an event whose prev_hash and hash are already set; assigns event.seq and moves
  // the chain head. Call LockAuditChain first in the same transaction.
  virtual void AppendAuditEvent(AuditEvent& event) = 0;
  // Appends events of one chain whose hashes are already linked (the batch path of bulk
  // generators); assigns their seq and moves the chain head to the last one. Call
  // LockAuditChain first in the same transaction.
  virtual void AppendAuditEvents(std::vector<AuditEvent>& events) = 0;
  // Retention: deletes, oldest first, at most `limit` events of `chain` that occurred before
  // `cutoff`, stopping at the first younger one, and records the hash the oldest retained
  // event links to as the chain's anchor. Returns how many were deleted. Call LockAuditChain
  // first in the same transaction.
  virtual int64_t PurgeAuditEvents(const std::string& chain, UnixTime cutoff, int limit) = 0;
  // Retention of the daily counters: deletes the chain's counters of days before
  // `before_day` ("2026-01-31"); returns how many rows went.
  virtual int64_t PurgeAuditDailyCounts(const std::string& chain,
                                        const std::string& before_day) = 0;

  virtual void InsertMail(const MailMessage& mail) = 0;
  virtual void MarkMail(const std::string& id, MailStatus status,
                        std::optional<UnixTime> sent_at) = 0;
  // Takes a due message for delivery by pushing its next attempt to `lease_until`, so that
  // other gatehouse processes leave it alone meanwhile. False when another process has it.
  virtual bool ClaimMail(const std::string& id, UnixTime now, UnixTime lease_until) = 0;
  // Records a delivery attempt: status, attempts, next_attempt_at, last_error, sent_at.
  virtual void RecordMailAttempt(const MailMessage& mail) = 0;

  // Conflict `sso_domain_taken` (naming the domain in the message) when one of the
  // connection's domains routes to another connection already.
  virtual Status InsertSsoConnection(const SsoConnection& c) = 0;
  // Writes every column but id, workspace_id and created_at, and replaces the domains (same
  // conflict). Read it with LockSsoConnection in the same transaction first.
  virtual Status UpdateSsoConnection(const SsoConnection& c) = 0;
  virtual bool DeleteSsoConnection(const std::string& workspace_id,
                                   const std::string& connection_id) = 0;
  // Also deletes the requests that expired before `r.created_at` (of every connection), so
  // that rows stay bounded by what the authorize limits let strangers start.
  virtual void InsertSsoRequest(const SsoRequest& r) = 0;
  // Marks the request used at `at`; false when it was used already or does not exist.
  virtual bool UseSsoRequest(const std::string& request_id, UnixTime at) = 0;
  // Remembers a SAML assertion ID until `expires_at`; false when the connection saw it
  // already (a replay, from this process or another). Forgets expired ones as it goes.
  virtual bool RememberSsoAssertion(const std::string& connection_id,
                                    const std::string& assertion_id, UnixTime expires_at,
                                    UnixTime now) = 0;

  // Directory sync. A revoked token stays revoked (false when it was, or is not the
  // workspace's); Touch moves last_used_at.
  virtual void InsertScimToken(const ScimToken& t) = 0;
  virtual bool RevokeScimToken(const std::string& workspace_id, const std::string& token_id,
                               UnixTime at) = 0;
  virtual void TouchScimToken(const std::string& token_id, UnixTime at) = 0;
  virtual void PutScimSettings(const ScimSettings& s) = 0;
  // Conflict `scim_user_name_taken` when the workspace has a directory user of that user_name.
  // Update writes every column but the keys and created_at, and moves version on by one.
  virtual Status InsertScimUser(const ScimUser& u) = 0;
  virtual Status UpdateScimUser(ScimUser& u) = 0;
  // Conflict `scim_group_name_taken` when the workspace has a group of that display name.
  virtual Status InsertScimGroup(const ScimGroup& g) = 0;
  virtual Status UpdateScimGroup(ScimGroup& g) = 0;
  virtual bool DeleteScimGroup(const std::string& workspace_id, const std::string& group_id) = 0;
  // Adds (skipping present ones) or removes members of a group.
  virtual void AddScimGroupMembers(const std::string& group_id,
                                   const std::vector<std::string>& user_ids) = 0;
  virtual void RemoveScimGroupMembers(const std::string& group_id,
                                      const std::vector<std::string>& user_ids) = 0;

  // The event bus. Dispatching deletes the event in the transaction that fans it out.
  virtual void InsertOutboxEvent(const OutboxEvent& e) = 0;
  virtual bool DeleteOutboxEvent(const std::string& id) = 0;
  // Webhooks. Update writes every column but id, workspace_id and created_at.
  virtual void InsertWebhookEndpoint(const WebhookEndpoint& e) = 0;
  virtual void UpdateWebhookEndpoint(const WebhookEndpoint& e) = 0;
  virtual bool DeleteWebhookEndpoint(const std::string& workspace_id,
                                     const std::string& endpoint_id) = 0;
  virtual std::optional<WebhookEndpoint> LockWebhookEndpoint(const std::string& workspace_id,
                                                             const std::string& endpoint_id) = 0;
  virtual void InsertWebhookDelivery(const WebhookDelivery& d) = 0;
  // Takes a due delivery for an attempt by pushing its next attempt to `lease_until`, so that
  // other processes leave it alone meanwhile. False when another process has it.
  virtual bool ClaimWebhookDelivery(const std::string& id, UnixTime now, UnixTime lease_until) = 0;
  // Records an attempt (or a manual retry): status, attempts, last_status_code, last_error,
  // next_attempt_at, updated_at.
  virtual void RecordWebhookAttempt(const WebhookDelivery& d) = 0;
  // Retention of the delivery log: deletes up to `limit` finished (succeeded or failed)
  // deliveries last updated before `before`; returns how many.
  virtual int64_t PurgeWebhookDeliveries(UnixTime before, int limit) = 0;

  // Notifications.
  virtual void PutNotificationRule(const NotificationRule& r) = 0;
  virtual bool DeleteNotificationRule(const std::string& workspace_id, const std::string& type) = 0;
  virtual void PutNotificationPreferences(const std::string& user_id,
                                          const NotificationPreferences& p, UnixTime now) = 0;
  virtual void InsertNotification(const Notification& n) = 0;
  virtual bool MarkNotificationRead(const std::string& user_id, const std::string& id,
                                    UnixTime now) = 0;
  // Marks every unread notification of the user (in `workspace_id`, or everywhere for "")
  // read; returns how many.
  virtual int64_t MarkAllNotificationsRead(const std::string& user_id,
                                           const std::string& workspace_id, UnixTime now) = 0;
  virtual void InsertDigestItem(const DigestItem& d) = 0;
  // Removes and returns the recipient's digest lines of the workspace due at `now` (every one
  // when nullopt), oldest first.
  virtual std::vector<DigestItem> TakeDigestItems(const std::string& user_id,
                                                  const std::string& workspace_id,
                                                  std::optional<UnixTime> now) = 0;
  // True (and `key` now held until `until`) when `key` was free at `now`: "at most once per
  // period" across processes.
  virtual bool TakeThrottle(const std::string& key, UnixTime now, UnixTime until) = 0;
  // Retention: in-app notifications created before `before` (up to `limit`), and throttle
  // keys expired at `now`; returns how many notifications went.
  virtual int64_t PurgeNotifications(UnixTime before, UnixTime now, int limit) = 0;

  // Saves the response of a key used for the first time; returns false (and changes nothing)
  // when the key exists already. A response with status 0 reserves the key while its request
  // runs.
  virtual bool SaveIdempotentResponse(const std::string& scope, const std::string& key,
                                      const IdempotentResponse& response) = 0;
  // Replaces a reservation with the final response.
  virtual void CompleteIdempotentResponse(const std::string& scope, const std::string& key,
                                          const IdempotentResponse& response) = 0;
  virtual void DeleteIdempotentResponse(const std::string& scope, const std::string& key) = 0;
  // Deletes up to `limit` saved responses (or reservations) created before `before`, oldest
  // first; returns how many.
  virtual int64_t PurgeIdempotentResponses(UnixTime before, int limit) = 0;

  virtual void Commit() = 0;

 private:
  std::vector<std::function<void()>> after_commit_;
};

// An error of a transaction that lost a race with another (a PostgreSQL serialization failure
// or deadlock, SQLite busy past its timeout): nothing was written, and the same transaction
// may simply run again. Store::Write does.
class RetryableStoreError : public StoreError {
 public:
  using StoreError::StoreError;
};

class Store : public StoreReader {
 public:
  virtual ~Store() = default;

  // "sqlite" or "postgres".
  virtual std::string Backend() const = 0;
  // The schema version the store is at.
  virtual int SchemaVersion() = 0;
  // Throws StoreError when the database does not answer.
  virtual void Ping() = 0;

  // A bare transaction, for the store's own tests and bulk tools. Use cases call Write.
  virtual std::unique_ptr<WriteTx> Begin() = 0;

  // One unit of work: runs `fn` inside a write transaction and commits when it returns a
  // successful Result (or Status), rolls back when it returns an error or throws. `fn` reads
  // through the transaction what it checks, so nothing it checked can change before it
  // writes: on SQLite the transaction holds the database's write lock from its start
  // (BEGIN IMMEDIATE); on PostgreSQL `fn` takes row locks (WriteTx::Lock…) before reading
  // what its invariants depend on. When the transaction loses a race (RetryableStoreError),
  // `fn` runs again on a new transaction, up to kWriteAttempts times in all, so it must have
  // no effect outside the transaction but through WriteTx::AfterCommit. The callbacks that
  // `fn` registered there run, in order, once the commit succeeded, after the transaction's
  // connection is released; never for a rolled-back attempt.
  // Must not be called from inside another Write on the same store (SQLite has one writer).
  static constexpr int kWriteAttempts = 5;
  template <typename F>
  auto Write(F&& fn) -> std::invoke_result_t<F&, WriteTx&>;

  // Every event FilteredAuditEvents would page through, as one stream. Up to
  // kAuditSnapshotStreams streams at a time each hold a connection and one read-only
  // transaction from their start until they are exhausted or destroyed, and so read a single
  // snapshot of the log (events appended or purged meanwhile do not change what they return).
  // Further streams page with FilteredAuditEvents instead, so that exports cannot take every
  // connection of the pool.
  static constexpr int kAuditSnapshotStreams = 4;
  virtual std::unique_ptr<AuditEventStream> StreamAuditEvents(const AuditFilter& filter) = 0;
};

// Opens (and migrates) a store from a URL: "sqlite:./data/gatehouse.db",
// "sqlite::memory:" or "postgres://user@host:port/db". Throws StoreError with a message a
// person can act on (unknown scheme, unreachable server, schema newer than this binary).
std::unique_ptr<Store> OpenStore(const std::string& url);

// Brings the store's schema up to date and returns {from, to} versions.
std::pair<int, int> MigrateStore(const std::string& url);

namespace store_detail {
// A short random pause before a lost race runs again, growing with `attempt`.
void BackOff(int attempt);
// Whether a unit of work's result says to commit: an ok() Result or Status; any other value.
template <typename R>
bool Succeeded(const R& r) {
  if constexpr (requires { r.ok(); }) {
    return r.ok();
  } else {
    return true;
  }
}
}  // namespace store_detail

template <typename F>
auto Store::Write(F&& fn) -> std::invoke_result_t<F&, WriteTx&> {
  using R = std::invoke_result_t<F&, WriteTx&>;
  for (int attempt = 1;; ++attempt) {
    bool committed = false;
    try {
      std::unique_ptr<WriteTx> tx = Begin();
      auto finish = [&] {
        tx->Commit();
        committed = true;
        auto after = tx->TakeAfterCommit();
        tx.reset();  // the connection goes back before the callbacks run
        for (auto& cb : after) cb();
      };
      if constexpr (std::is_void_v<R>) {
        fn(*tx);
        finish();
        return;
      } else {
        R result = fn(*tx);
        if (!store_detail::Succeeded(result)) return result;  // tx's destructor rolls back
        finish();
        return result;
      }
    } catch (const RetryableStoreError&) {
      if (committed || attempt >= kWriteAttempts) throw;
    }
    store_detail::BackOff(attempt);
  }
}

}  // namespace gh
