#include "service/accounts.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/user_agent.h"
#include "core/validation.h"
#include "core/time.h"
#include "service/audit.h"
#include "service/email_verification.h"
#include "service/mail.h"
#include "service/notifications.h"
#include "service/mfa.h"

namespace gh {
namespace {

// Activity is written at most once a minute per session: enough for "last active" and for
// sliding expiry measured in days.
constexpr UnixTime kActivityGranularity = 60;

crypto::PasswordParams ParamsOf(const Config& c) {
  return {static_cast<uint64_t>(c.argon2_ops), static_cast<size_t>(c.argon2_mem_kib) * 1024};
}

Error InvalidCredentials() {
  return Error::Unauthenticated("invalid_credentials", "The email or password is incorrect.");
}

// How far back new-device / new-location detection looks: the latest sign-ins are what a
// person recognises, and the read stays small for accounts with thousands of sessions.
constexpr int kSignInHistory = 200;

// "Chrome 120" -> "Chrome": a browser update is not a new device.
std::string BrowserFamily(const std::string& browser) {
  size_t sp = browser.rfind(' ');
  if (sp == std::string::npos || sp + 1 == browser.size()) return browser;
  for (size_t i = sp + 1; i < browser.size(); ++i) {
    if (browser[i] < '0' || browser[i] > '9') return browser;
  }
  return browser.substr(0, sp);
}

// Where a sign-in comes from, for comparison: the country when GeoIP knows it, else the IP.
bool SameLocation(const Session& a, const Session& b) {
  if (!a.country.empty() || !b.country.empty()) return a.country == b.country;
  return a.ip == b.ip;
}

std::string LocationText(const std::string& country) {
  return country.empty() ? "Unknown" : GeoIp::CountryName(country) + " (" + country + ")";
}

}  // namespace

Accounts::Accounts(Store& store, const Config& config, MailOutbox& mail, IdentityCache& cache,
                   const GeoIp* geoip, LoginThrottle& throttle, std::string break_glass_role,
                   const Clock& clock)
    : store_(store),
      config_(config),
      mail_(mail),
      cache_(cache),
      geoip_(geoip),
      clock_(clock),
      throttle_(throttle),
      break_glass_role_(std::move(break_glass_role)),
      signups_(config.limits.signups_per_ip_per_hour, 3600) {}

std::string Accounts::CsrfTokenFor(const std::string& session_token) {
  return crypto::Sha256Hex("gatehouse-csrf-v1:" + session_token).substr(0, 43);
}

NewSession Accounts::MakeSession(const User& user, const ClientInfo& client, UnixTime now) const {
  DeviceInfo dev = ParseUserAgent(client.user_agent);
  NewSession out;
  out.token = crypto::NewToken();
  out.csrf_token = CsrfTokenFor(out.token);
  Session& s = out.session;
  s.id = NewId("ses");
  s.user_id = user.id;
  s.token_hash = crypto::Sha256Hex(out.token);
  s.device = dev.device;
  s.browser = dev.browser;
  s.ip = client.ip;
  if (geoip_) s.country = geoip_->Lookup(client.ip).code;
  s.user_agent = client.user_agent.substr(0, 512);
  s.created_at = now;
  s.last_active_at = now;
  s.idle_expires_at = now + UnixTime{config_.session_idle_days} * 86400;
  s.absolute_expires_at = now + UnixTime{config_.session_absolute_days} * 86400;
  out.user = user;
  return out;
}

Status Accounts::RecordSession(WriteTx& tx, NewSession& s, const ClientInfo& client,
                               UnixTime now, const char* action, bool new_user) {
  // Compared with the user's earlier sign-ins: a device is its device and browser family, a
  // location its country (or, when GeoIP does not know it, its IP address).
  std::vector<Session> history;
  if (!new_user) history = tx.RecentSessionsOfUser(s.user.id, kSignInHistory);
  bool new_device = true, new_location = true;
  for (const auto& h : history) {
    if (h.device == s.session.device &&
        BrowserFamily(h.browser) == BrowserFamily(s.session.browser)) {
      new_device = false;
    }
    if (SameLocation(h, s.session)) new_location = false;
  }
  if (new_user) {
    if (Status st = tx.InsertUser(s.user); !st.ok()) return st;
  } else {
    tx.SetUserLastLogin(s.user.id, now);
    s.user.last_login_at = now;
  }
  tx.InsertSession(s.session);
  Principal actor{s.user, s.session.id, client};
  nlohmann::json details = {
      {"session_id", s.session.id},
      {"device", s.session.device},
      {"browser", s.session.browser},
      {"ip", s.session.ip},
      {"country", s.session.country.empty() ? nlohmann::json(nullptr)
                                            : nlohmann::json(s.session.country)},
      {"new_device", new_device},
      {"new_location", new_location}};
  AppendAudit(tx, actor, {"", action, "user", s.user.id, s.user.email, "", details.dump()}, now);
  // The first sign-in of an account is new by definition; there is nothing to warn about.
  if (!history.empty() && (new_device || new_location)) {
    QueueNewSignInMail(tx, s, now);
    RaiseNewSignIn(tx, s, new_device, new_location, now);
  }
  return {};
}

void Accounts::RaiseNewSignIn(WriteTx& tx, const NewSession& s, bool new_device,
                              bool new_location, UnixTime now) {
  // Each workspace of the member hears of it through its own rules (by default, its admins'
  // inboxes); the member has had the mail above already.
  const Session& ses = s.session;
  nlohmann::json details = {{"device", ses.device},
                            {"browser", ses.browser},
                            {"ip", ses.ip},
                            {"country", ses.country}};
  std::string device = ses.device + (ses.browser.empty() ? "" : ", " + ses.browser);
  for (const auto& w : tx.WorkspacesOfUser(s.user.id)) {
    if (w.membership.status() != "active") continue;
    // A session single sign-on made for one workspace is that workspace's business only.
    if (!ses.scope_workspace_id.empty() && w.workspace.id != ses.scope_workspace_id) continue;
    if (new_location) {
      RaiseNotification(tx, w.workspace.id, "session.new_location", s.user.id, s.user.id,
                        s.user.name + " signed in from a new location",
                        LocationText(ses.country) + " (" + ses.ip + "), " + device,
                        details.dump(), now);
    }
    if (new_device) {
      RaiseNotification(tx, w.workspace.id, "session.new_device", s.user.id, s.user.id,
                        s.user.name + " signed in from a new device",
                        device + ", " + LocationText(ses.country), details.dump(), now);
    }
  }
}

void Accounts::QueueNewSignInMail(WriteTx& tx, const NewSession& s, UnixTime now) {
  const Session& ses = s.session;
  QueueNotice(
      tx, mail_, s.user.email, "New sign-in to your account",
      {"Hello " + s.user.name + ",",
       "",
       "Someone just signed in to your Gatehouse account " + s.user.email +
           " from a new device or location:",
       "",
       "Device: " + ses.device,
       "Browser: " + ses.browser,
       "IP address: " + ses.ip,
       "Location: " + LocationText(ses.country),
       "Time: " + FormatRfc3339(now) + " (UTC)",
       "",
       "If this was you, there is nothing to do.",
       "If it was not you, sign in at " + config_.PublicUrl() +
           " now, change your password under Account (it signs out every other session) and "
           "turn on two-factor authentication."},
      now);
}

Result<NewSession> Accounts::StartSession(const User& user, const ClientInfo& client,
                                          UnixTime now, const char* action, bool new_user,
                                          const std::vector<std::string>& break_glass) {
  return store_.Write([&](WriteTx& tx) -> Result<NewSession> {
    NewSession out = MakeSession(user, client, now);
    if (Status st = RecordSession(tx, out, client, now, action, new_user); !st.ok()) {
      return st.error();
    }
    Principal actor{out.user, out.session.id, client};
    for (const auto& ws : break_glass) {
      nlohmann::json details = {{"session_id", out.session.id}, {"method", "password"}};
      AppendAudit(tx, actor, {ws, "sso.break_glass", "user", user.id, user.name, "",
                              details.dump()},
                  now);
    }
    return out;
  });
}

Result<User> Accounts::NewUser(const SignupInput& in, UnixTime now) const {
  auto email = validation::NormalizeEmail(in.email);
  if (!email) return email.error();
  if (Status st = validation::CheckPassword(in.password); !st.ok()) return st.error();
  auto name = validation::PersonName(in.name);
  if (!name) return name.error();
  User u;
  u.id = NewId("usr");
  u.email = *email;
  u.name = *name;
  u.password_hash = crypto::HashPassword(in.password, ParamsOf(config_));
  u.created_at = now;
  u.updated_at = now;
  u.last_login_at = now;
  return u;
}

Result<NewSession> Accounts::Signup(const SignupInput& in, const ClientInfo& client) {
  UnixTime now = clock_.Now();
  // Every attempt counts, refused ones too: each may cost a hash, and email_taken answers
  // tell registered addresses apart.
  if (int wait = signups_.Acquire(AddressRateKey(client.ip), now); wait > 0) {
    Error e{ErrorKind::kRateLimited, "rate_limited",
            "Too many sign-ups from your network. Try again later.", {}};
    e.retry_after_seconds = wait;
    return e;
  }
  if (auto email = validation::NormalizeEmail(in.email); email && store_.UserByEmail(*email)) {
    return Error::Conflict("email_taken", "An account with this email already exists.", "email");
  }
  auto u = NewUser(in, now);
  if (!u) return u.error();
  return store_.Write([&](WriteTx& tx) -> Result<NewSession> {
    NewSession out = MakeSession(*u, client, now);
    if (Status st = RecordSession(tx, out, client, now, "user.signed_up", true); !st.ok()) {
      return st.error();
    }
    QueueEmailVerification(tx, mail_, config_, out.user, now);
    return out;
  });
}

Result<NewSession> Accounts::Login(const std::string& email_in, const std::string& password,
                                   const ClientInfo& client, const std::string& second_factor) {
  UnixTime now = clock_.Now();
  std::string account = validation::Trim(email_in);
  for (auto& c : account) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  LoginThrottle::Attempt attempt;
  if (int wait = throttle_.Begin(account, client.ip, now, attempt); wait > 0) {
    return TooManyAttempts("Too many failed sign-in attempts. Try again later.", wait);
  }
  auto email = validation::NormalizeEmail(email_in);
  std::optional<User> user;
  if (email) user = store_.UserByEmail(*email);
  bool ok = false;
  if (user) {
    ok = crypto::VerifyPassword(password, user->password_hash);
  } else {
    // Same cost whether or not the account exists.
    crypto::VerifyPasswordDummy(password, ParamsOf(config_));
  }
  if (!ok) return InvalidCredentials();  // the attempt stays counted
  if (user->mfa_enabled && !Mfa::UseSecondFactor(store_, user->id, second_factor, now)) {
    // A wrong code counts as a failed attempt; a missing one is the first step of the flow.
    if (second_factor.empty()) throttle_.Withdrawn(attempt);
    return Error::Unauthenticated(
        "mfa_required",
        second_factor.empty()
            ? "Enter the code from your authenticator app (totp_code) or a recovery code."
            : "The two-factor code is not valid.");
  }
  throttle_.Succeeded(attempt);
  // Single sign-on enforced by a workspace of the user: checked after the credentials, so
  // that only the person learns which of their workspaces require it.
  std::vector<std::string> break_glass;
  std::string domain = user->email.substr(user->email.rfind('@') + 1);
  for (const auto& w : store_.WorkspacesOfUser(user->id)) {
    if (!w.workspace.sso_enforced) continue;
    if (w.membership.role == break_glass_role_) {
      break_glass.push_back(w.workspace.id);
      continue;
    }
    for (const auto& c : store_.SsoConnections(w.workspace.id)) {
      if (c.status != "active") continue;
      if (std::find(c.domains.begin(), c.domains.end(), domain) == c.domains.end()) continue;
      Error e{ErrorKind::kForbidden, "sso_required",
              "Your workspace " + w.workspace.name +
                  " requires single sign-on. Sign in through your identity provider.",
              {}};
      e.extensions = {{"sso_url", config_.PublicUrl() + "/v1/sso/authorize?connection=" + c.id}};
      return e;
    }
  }
  return StartSession(*user, client, now, "session.created", false, break_glass);
}

Status Accounts::Logout(const Principal& p) {
  UnixTime now = clock_.Now();
  store_.Write([&](WriteTx& tx) {
    tx.RevokeSession(p.user.id, p.session_id, now);
    AppendAudit(tx, p, {"", "session.revoked", "session", p.session_id, "", "",
                        R"({"reason":"logout"})"},
                now);
    ForgetUserAfterCommit(tx, p.user.id);
  });
  return {};
}

Result<Principal> Accounts::Authenticate(const std::string& token, const ClientInfo& client) {
  auto unauth = [] {
    return Error::Unauthenticated("unauthenticated", "Sign in to continue.");
  };
  if (token.empty() || token.size() > 128) return unauth();
  std::string hash = crypto::Sha256Hex(token);
  UnixTime now = clock_.Now();
  auto identity = cache_.Session(hash, now);
  if (!identity) {
    auto s = store_.SessionByTokenHash(hash);
    if (!s) return unauth();
    auto user = store_.UserById(s->user_id);
    if (!user) return unauth();
    identity = std::make_shared<const IdentityCache::Identity>(
        IdentityCache::Identity{std::move(*s), std::move(*user)});
    cache_.PutSession(hash, identity, now);
  }
  const Session& s = identity->session;
  if (s.revoked_at || s.idle_expires_at <= now || s.absolute_expires_at <= now) return unauth();
  NoteActivity(s, now);
  Principal p{identity->user, s.id, client};
  p.sso_connection_id = s.sso_connection_id;
  p.scope_workspace_id = s.scope_workspace_id;
  return p;
}

void Accounts::NoteActivity(const Session& s, UnixTime now) {
  if (now - s.last_active_at < kActivityGranularity) return;
  UnixTime idle = std::min(now + UnixTime{config_.session_idle_days} * 86400, s.absolute_expires_at);
  std::lock_guard lock(activity_mu_);
  pending_activity_[s.id] = {s.id, now, idle};
}

void Accounts::FlushActivity() {
  std::vector<SessionActivity> batch;
  {
    std::lock_guard lock(activity_mu_);
    for (auto& [id, a] : pending_activity_) batch.push_back(a);
    pending_activity_.clear();
  }
  if (batch.empty()) return;
  store_.Write([&](WriteTx& tx) { tx.RecordSessionActivity(batch); });
}

Result<User> Accounts::UpdateProfile(const Principal& p, const ProfileChanges& ch) {
  std::optional<std::string> name;
  if (ch.name) {
    auto valid = validation::PersonName(*ch.name);
    if (!valid) return valid.error();
    name = *valid;
  }
  if (ch.theme && !validation::IsTheme(*ch.theme)) {
    return Error::Invalid("invalid_theme", "theme", "Theme must be light, dark or system.");
  }
  if (ch.language && !validation::IsLanguageTag(*ch.language)) {
    return Error::Invalid("invalid_language", "language",
                          "Language must be a BCP 47 tag such as en or pt-BR.");
  }
  return store_.Write([&](WriteTx& tx) -> Result<User> {
    // The row as it is now, locked: the principal may be a cached copy, and writing it back
    // whole would undo a password change that committed meanwhile.
    auto current = tx.LockUser(p.user.id);
    if (!current) return Error::NotFound("user");
    User u = *current;
    nlohmann::json changes = nlohmann::json::object();
    auto change = [&](const char* field, std::string& value, const std::optional<std::string>& to) {
      if (!to || *to == value) return;
      changes[field] = {{"from", value}, {"to", *to}};
      value = *to;
    };
    change("name", u.name, name);
    change("theme", u.theme, ch.theme);
    change("language", u.language, ch.language);
    if (changes.empty()) return u;
    UnixTime now = clock_.Now();
    u.updated_at = now;
    tx.UpdateUser(u);
    AppendAudit(tx, p, {"", "user.updated", "user", u.id, u.email, "",
                        nlohmann::json{{"changes", changes}}.dump()},
                now);
    ForgetUserAfterCommit(tx, u.id);
    return u;
  });
}

void Accounts::ForgetUserAfterCommit(WriteTx& tx, const std::string& user_id) {
  tx.AfterCommit([this, user_id] { cache_.ForgetUser(user_id); });
}

IdentityCache::Ptr<std::vector<WorkspaceWithRole>> Accounts::Memberships(
    const std::string& user_id) {
  UnixTime now = clock_.Now();
  if (auto cached = cache_.Memberships(user_id, now)) return cached;
  auto list = std::make_shared<const std::vector<WorkspaceWithRole>>(store_.WorkspacesOfUser(user_id));
  cache_.PutMemberships(user_id, list, now);
  return list;
}

Status Accounts::ConfirmPassword(const Principal& p, const std::string& password,
                                 const char* field) {
  if (p.session_id.empty()) {
    return Error::Forbidden("This change needs a signed-in session; API keys cannot make it.");
  }
  UnixTime now = clock_.Now();
  LoginThrottle::Attempt attempt;
  if (int wait = throttle_.Begin(p.user.email, p.client.ip, now, attempt); wait > 0) {
    return TooManyAttempts("Too many failed password attempts. Try again later.", wait);
  }
  // The hash from the store, not the (possibly cached) principal: it may have just changed.
  auto user = store_.UserById(p.user.id);
  if (!user || !crypto::VerifyPassword(password, user->password_hash)) {
    return Error{ErrorKind::kForbidden, "invalid_current_password",
                 "The current password is incorrect.", field};
  }
  throttle_.Succeeded(attempt);
  return {};
}

Result<int> Accounts::ChangePassword(const Principal& p, const std::string& current_password,
                                     const std::string& new_password) {
  if (Status st = validation::CheckPassword(new_password); !st.ok()) {
    Error e = st.error();
    e.field = "new_password";
    return e;
  }
  if (Status st = ConfirmPassword(p, current_password, "current_password"); !st.ok()) {
    return st.error();
  }
  std::string hash = crypto::HashPassword(new_password, ParamsOf(config_));
  return store_.Write([&](WriteTx& tx) -> Result<int> {
    UnixTime now = clock_.Now();
    auto user = tx.LockUser(p.user.id);
    if (!user) return Error::NotFound("user");
    user->password_hash = hash;
    user->updated_at = now;
    tx.UpdateUser(*user);
    int revoked = tx.RevokeOtherSessions(user->id, p.session_id, now);
    AppendAudit(tx, p, {"", "user.password_changed", "user", user->id, user->email, "",
                        nlohmann::json{{"revoked_sessions", revoked}}.dump()},
                now);
    QueueNotice(tx, mail_, user->email, "Your password was changed",
                {"Hello " + user->name + ",",
                 "",
                 "The password of your Gatehouse account " + user->email + " was changed at " +
                     FormatRfc3339(now) + " (UTC) from " + p.client.ip + ".",
                 std::to_string(revoked) + " other " +
                     (revoked == 1 ? "session was" : "sessions were") + " signed out.",
                 "",
                 "If you did not change it, reset your password right away and contact your "
                 "workspace administrator: someone else may have access to your account."},
                now);
    ForgetUserAfterCommit(tx, user->id);
    return revoked;
  });
}

std::vector<Session> Accounts::Sessions(const Principal& p) {
  return store_.LiveSessionsOfUser(p.user.id, clock_.Now());
}

Status Accounts::RevokeSession(const Principal& p, const std::string& session_id) {
  if (!IsWellFormedId(session_id, "ses")) return Error::NotFound("session");
  UnixTime now = clock_.Now();
  return store_.Write([&](WriteTx& tx) -> Status {
    if (!tx.RevokeSession(p.user.id, session_id, now)) return Error::NotFound("session");
    AppendAudit(tx, p, {"", "session.revoked", "session", session_id, "", "",
                        R"({"reason":"signed_out_by_user"})"},
                now);
    ForgetUserAfterCommit(tx, p.user.id);
    return {};
  });
}

int Accounts::RevokeOtherSessions(const Principal& p) {
  UnixTime now = clock_.Now();
  return store_.Write([&](WriteTx& tx) {
    int n = tx.RevokeOtherSessions(p.user.id, p.session_id, now);
    AppendAudit(tx, p, {"", "session.revoked_all", "user", p.user.id, p.user.email, "",
                        nlohmann::json{{"revoked", n}}.dump()},
                now);
    ForgetUserAfterCommit(tx, p.user.id);
    return n;
  });
}

}  // namespace gh
