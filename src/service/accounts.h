// Accounts and sessions: sign up, log in, log out, the caller's profile, and the list of
// signed-in devices.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "core/window_limiter.h"
#include "service/config.h"
#include "service/context.h"
#include "service/geoip.h"
#include "service/mail.h"
#include "service/identity_cache.h"
#include "service/login_throttle.h"
#include "store/store.h"

namespace gh {

// A new session as the caller sees it once: the token goes into the cookie, never the store.
struct NewSession {
  User user;
  Session session;
  std::string token;
  std::string csrf_token;
};

struct SignupInput {
  std::string email;
  std::string password;
  std::string name;
};

struct ProfileChanges {
  std::optional<std::string> name;
  std::optional<std::string> theme;
  std::optional<std::string> language;
};

class Accounts {
 public:
  // `geoip` locates sign-ins (may be null, or hold no database: locations stay unknown); it
  // must outlive the Accounts.
  // `break_glass_role` keeps password sign-in in workspaces that enforce SSO (the owner).
  Accounts(Store& store, const Config& config, MailOutbox& mail, IdentityCache& cache,
           const GeoIp* geoip, LoginThrottle& throttle, std::string break_glass_role,
           const Clock& clock = Clock::System());

  // Creates the account unverified and mails it a verification link (service/
  // email_verification.h). 429 rate_limited past limits.signups_per_ip_per_hour, counted
  // before the slow hashing.
  Result<NewSession> Signup(const SignupInput& in, const ClientInfo& client);
  // With TOTP on, `second_factor` (a current code or an unused recovery code) is required:
  // 401 mfa_required without it or when it is wrong. 403 sso_required (with sso_url) when a
  // workspace of the user enforces SSO and has an active connection for the email's domain;
  // the break-glass role signs in anyway, audited as sso.break_glass in that workspace.

  Result<NewSession> Login(const std::string& email, const std::string& password,
                           const ClientInfo& client, const std::string& second_factor = "");
  Status Logout(const Principal& p);

  // The caller behind a session token, or 401. Records activity (batched, not per request).
  Result<Principal> Authenticate(const std::string& token, const ClientInfo& client);

  Result<User> UpdateProfile(const Principal& p, const ProfileChanges& changes);

  // Changes the caller's password: checks the current one (403 invalid_current_password,
  // throttled like failed logins), the new one as at sign-up (422 invalid_password on
  // new_password), signs out every other session and mails the user. Returns how many
  // sessions were signed out. Needs a session, not an API key.
  Result<int> ChangePassword(const Principal& p, const std::string& current_password,
                             const std::string& new_password);

  // Checks the caller's password before a sensitive change: 403 invalid_current_password
  // naming `field`, counted as a failed sign-in (429 too_many_attempts after repeated ones).
  Status ConfirmPassword(const Principal& p, const std::string& password, const char* field);

  std::vector<Session> Sessions(const Principal& p);
  Status RevokeSession(const Principal& p, const std::string& session_id);
  int RevokeOtherSessions(const Principal& p);

  // The user's workspaces and memberships (cached briefly; see IdentityCache).
  IdentityCache::Ptr<std::vector<WorkspaceWithRole>> Memberships(const std::string& user_id);

  // The CSRF token that belongs to a session token: derived, so nothing more is stored.
  static std::string CsrfTokenFor(const std::string& session_token);

  // Writes pending session activity to the store; called by a background job.
  void FlushActivity();

  // Building blocks for flows that create an account inside a larger transaction (accepting
  // an invitation): validate and hash a new user; make a session for a user; write both.
  Result<User> NewUser(const SignupInput& in, UnixTime now) const;
  NewSession MakeSession(const User& user, const ClientInfo& client, UnixTime now) const;
  Status RecordSession(WriteTx& tx, NewSession& s, const ClientInfo& client, UnixTime now,
                       const char* action, bool new_user);

 private:
  Result<NewSession> StartSession(const User& user, const ClientInfo& client, UnixTime now,
                                  const char* action, bool new_user,
                                  const std::vector<std::string>& break_glass = {});
  void NoteActivity(const Session& s, UnixTime now);
  void RaiseNewSignIn(WriteTx& tx, const NewSession& s, bool new_device, bool new_location,
                      UnixTime now);
  void QueueNewSignInMail(WriteTx& tx, const NewSession& s, UnixTime now);
  void ForgetUserAfterCommit(WriteTx& tx, const std::string& user_id);

  Store& store_;
  const Config& config_;
  MailOutbox& mail_;
  IdentityCache& cache_;
  const GeoIp* const geoip_;
  const Clock& clock_;
  LoginThrottle& throttle_;
  const std::string break_glass_role_;
  WindowLimiter signups_;  // per AddressRateKey(ip)

  std::mutex activity_mu_;
  std::unordered_map<std::string, SessionActivity> pending_activity_;
};

}  // namespace gh
