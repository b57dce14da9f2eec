#include "service/invitations.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/csv.h"
#include "core/ids.h"
#include "core/validation.h"
#include "service/audit.h"
#include "service/mail.h"

namespace gh {
namespace {

constexpr size_t kMaxBulkRows = 1000;

Error Gone(const char* code, const char* message) {
  return {ErrorKind::kGone, code, message, {}};
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "https://host:port" of a URL, or "" when it is not an absolute http(s) URL.
std::string OriginOf(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  std::string s = Lower(url.substr(0, scheme));
  if (s != "http" && s != "https") return "";
  size_t end = url.find_first_of("/?#", scheme + 3);
  return Lower(url.substr(0, end));
}

}  // namespace

Invitations::Invitations(Store& store, const Config& config, MailOutbox& mail, Access& access,
                         Accounts& accounts, Team& team, IdentityCache& cache, const Clock& clock)
    : store_(store),
      config_(config),
      mail_(mail),
      access_(access),
      accounts_(accounts),
      team_(team),
      cache_(cache),
      clock_(clock),
      mails_per_workspace_(config.limits.invitation_mails_per_workspace_per_hour, 3600),
      mails_per_inviter_(config.limits.invitation_mails_per_workspace_per_hour, 3600),
      resend_cooldown_(config.limits.invitation_resend_cooldown_seconds > 0 ? 1 : 0,
                       std::max(1, config.limits.invitation_resend_cooldown_seconds)),
      resends_per_day_(config.limits.invitation_resends_per_invitation_per_day, 86400) {}

namespace {
Error TooManyInvitations(std::string message, int wait) {
  Error e{ErrorKind::kRateLimited, "too_many_invitations", std::move(message), {}};
  e.retry_after_seconds = wait;
  return e;
}
}  // namespace

Status Invitations::CountMail(const std::string& ws, const std::string& user_id, UnixTime now) {
  if (int wait = mails_per_workspace_.Acquire(ws, now); wait > 0) {
    return TooManyInvitations("This workspace has sent too many invitations this hour.", wait);
  }
  if (int wait = mails_per_inviter_.Acquire(user_id, now); wait > 0) {
    mails_per_workspace_.Release(ws, now);
    return TooManyInvitations("You have sent too many invitations this hour.", wait);
  }
  return {};
}

void Invitations::UncountMail(const std::string& ws, const std::string& user_id, UnixTime now) {
  mails_per_workspace_.Release(ws, now);
  mails_per_inviter_.Release(user_id, now);
}

std::string Invitations::StatusOf(const Invitation& inv, UnixTime now) const {
  if (inv.status == "pending" && inv.expires_at <= now) return "expired";
  return inv.status;
}

InvitationView Invitations::ViewOf(const Invitation& inv, UnixTime now) {
  InvitationView v{inv, StatusOf(inv, now), "", ""};
  if (auto u = store_.UserById(inv.invited_by)) v.inviter_name = u->name;
  if (auto w = store_.WorkspaceById(inv.workspace_id)) v.workspace_name = w->name;
  return v;
}

Status Invitations::CheckRedirect(const std::string& url) const {
  if (url.empty()) return {};
  // Relative paths and URLs of this deployment only: anything else would make the
  // invitation email an open redirect.
  bool relative = url.size() > 1 && url[0] == '/' && url[1] != '/' && url[1] != '\\';
  bool same_origin = !OriginOf(url).empty() && OriginOf(url) == OriginOf(config_.PublicUrl());
  if ((!relative && !same_origin) || url.size() > 2048 || !validation::IsValidUtf8(url)) {
    return Error::Invalid("invalid_redirect_url", "redirect_url",
                          "redirect_url must be a path or a URL of " + config_.PublicUrl() + ".");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) < 0x21) {
      return Error::Invalid("invalid_redirect_url", "redirect_url",
                            "redirect_url must not contain spaces or control characters.");
    }
  }
  return {};
}

Status Invitations::CheckSeat(WriteTx& tx, const Workspace& w, UnixTime now,
                              int64_t extra_pending) {
  const Plan* plan = config_.FindPlan(w.plan);
  if (!plan) return {};
  int64_t used =
      tx.MemberCount(w.id) + tx.CountPendingInvitations(w.id, now) + extra_pending;
  if (used >= plan->member_limit) {
    return Error{ErrorKind::kPaymentRequired, "member_limit_reached",
                 "The " + plan->name + " plan allows " + std::to_string(plan->member_limit) +
                     " members, counting pending invitations. Upgrade the plan or revoke an "
                     "invitation.",
                 {}};
  }
  return {};
}

void Invitations::QueueInvitationMail(WriteTx& tx, const Invitation& inv, const std::string& token,
                                      const Principal& inviter, const std::string& workspace_name,
                                      UnixTime now) {
  std::string link = config_.PublicUrl() + "/accept-invite?token=" + token;
  if (!inv.redirect_url.empty()) link += "&redirect_url=" + validation::PercentEncode(inv.redirect_url);
  std::string role = access_.RoleName(inv.workspace_id, inv.role);
  std::string subject = inviter.user.name + " invited you to join " + workspace_name;
  std::string text = inviter.user.name + " (" + inviter.user.email + ") invited you to join " +
                     workspace_name + " as " + role + ".\r\n\r\nAccept the invitation:\r\n" + link +
                     "\r\n\r\nThe invitation expires in " + std::to_string(config_.invitation_days) +
                     " days. If you did not expect it, ignore this email.\r\n";
  using validation::HtmlEscape;
  std::string html =
      "<!doctype html><html><body style=\"font-family:sans-serif\"><p>" +
      HtmlEscape(inviter.user.name) + " (" + HtmlEscape(inviter.user.email) +
      ") invited you to join <strong>" + HtmlEscape(workspace_name) + "</strong> as " +
      HtmlEscape(role) + ".</p><p><a href=\"" + HtmlEscape(link) +
      "\">Accept the invitation</a></p><p>The invitation expires in " +
      std::to_string(config_.invitation_days) +
      " days. If you did not expect it, ignore this email.</p></body></html>";
  mail_.Queue(tx, inv.email, subject, text, html, now);
}

Result<InvitationView> Invitations::Invite(const Principal& p, const Membership& caller,
                                           const InviteInput& in) {
  const std::string& ws = caller.workspace_id;
  const Catalogue& c = access_.catalogue();
  auto email = validation::NormalizeEmail(in.email);
  if (!email) return email.error();
  std::string role = in.role.value_or(c.default_invite_role);
  bool builtin = c.FindRole(role) != nullptr;
  if (!access_.RoleExists(ws, role)) {
    return Error::Invalid("invalid_role", "role", "Unknown role '" + role + "'.");
  }
  if ((builtin && !c.Invitable(role)) || (!builtin && !c.invite_roles.empty())) {
    return Error::Invalid("role_not_invitable", "role",
                          "Invitations cannot grant the role '" + access_.RoleName(ws, role) +
                              "'. You can change their role after they join.");
  }
  if (Status st = team_.CheckNoEscalation(caller, access_.PermissionsOf(ws, role)); !st.ok()) {
    return st.error();
  }
  std::vector<std::string> projects;
  for (const auto& prj : in.projects) {
    // Projects the inviter cannot see are unknown to them.
    if (!IsWellFormedId(prj, "prj") || !access_.CanSeeProject(caller, prj)) {
      return Error::Invalid("invalid_project", "projects", "Unknown project '" + prj + "'.");
    }
    // Adding someone to a project is managing it: the rules of PUT …/projects/{prj}/members.
    if (!access_.CanIn(caller, prj, "projects.manage")) {
      return Error::Forbidden("Your role in project " + prj +
                              " lacks the permission projects.manage.");
    }
    Membership in_project = caller;
    in_project.role = access_.RoleIn(caller, prj);
    if (Status st = team_.CheckNoEscalation(in_project, access_.PermissionsOf(ws, role));
        !st.ok()) {
      return st.error();
    }
    if (std::find(projects.begin(), projects.end(), prj) == projects.end()) projects.push_back(prj);
  }
  if (Status st = CheckRedirect(in.redirect_url); !st.ok()) return st.error();
  UnixTime counted_at = clock_.Now();
  if (Status st = CountMail(ws, p.user.id, counted_at); !st.ok()) return st.error();
  auto made = store_.Write([&](WriteTx& tx) -> Result<InvitationView> {
    // Seats, membership and pending invitations are counted under the workspace lock, which
    // every invitation and membership change takes: two invitations racing for the last
    // seat (or for the same email) cannot both pass.
    auto me = access_.Recheck(tx, caller, "members.invite");
    if (!me) return me.error();
    auto w = tx.WorkspaceById(ws);
    if (!w) return Error::NotFound("workspace");
    UnixTime now = clock_.Now();
    if (auto u = tx.UserByEmail(*email); u && tx.MembershipOf(ws, u->id)) {
      return Error::Conflict("already_member", *email + " is already a member.", "email");
    }
    if (tx.PendingInvitationFor(ws, *email, now)) {
      return Error::Conflict("already_invited", *email + " has a pending invitation.", "email");
    }
    if (Status st = CheckSeat(tx, *w, now, 0); !st.ok()) return st.error();

    std::string token = crypto::NewToken();
    Invitation inv;
    inv.id = NewId("inv");
    inv.workspace_id = ws;
    inv.email = *email;
    inv.role = role;
    inv.projects = projects;
    inv.token_hash = crypto::Sha256Hex(token);
    inv.invited_by = p.user.id;
    inv.redirect_url = in.redirect_url;
    inv.created_at = now;
    inv.expires_at = now + UnixTime{config_.invitation_days} * 86400;

    tx.InsertInvitation(inv);
    QueueInvitationMail(tx, inv, token, p, w->name, now);
    nlohmann::json details = {{"email", inv.email}, {"role", role}, {"projects", inv.projects},
                              {"invitation_id", inv.id}};
    AppendAudit(tx, p, {ws, "member.invited", "invitation", inv.id, inv.email, "",
                        details.dump()},
                now);
    return InvitationView{inv, "pending", p.user.name, w->name};
  });
  if (!made) UncountMail(ws, p.user.id, counted_at);
  return made;
}

std::vector<InvitationView> Invitations::List(const Membership& caller, bool include_all) {
  UnixTime now = clock_.Now();
  std::vector<InvitationView> out;
  for (const auto& inv : store_.Invitations(caller.workspace_id, !include_all, now)) {
    out.push_back(ViewOf(inv, now));
  }
  return out;
}

Result<InvitationView> Invitations::Revoke(const Principal& p, const Membership& caller,
                                           const std::string& id) {
  if (!IsWellFormedId(id, "inv")) return Error::NotFound("invitation");
  UnixTime now = clock_.Now();
  auto revoked = store_.Write([&](WriteTx& tx) -> Result<Invitation> {
    auto me = access_.Recheck(tx, caller, "members.invite");
    if (!me) return me.error();
    // Locked: an acceptance racing the revocation either sees it revoked or wins it.
    auto inv = tx.LockInvitation(caller.workspace_id, id);
    if (!inv) return Error::NotFound("invitation");
    if (inv->status != "pending") {
      return Error::Conflict("invitation_not_pending", "The invitation is " + inv->status + ".");
    }
    inv->status = "revoked";
    inv->revoked_at = now;
    tx.UpdateInvitation(*inv);
    AppendAudit(tx, p, {caller.workspace_id, "invitation.revoked", "invitation", inv->id,
                        inv->email, "", nlohmann::json{{"email", inv->email}}.dump()},
                now);
    return *inv;
  });
  if (!revoked) return revoked.error();
  return ViewOf(*revoked, now);
}

Result<InvitationView> Invitations::Resend(const Principal& p, const Membership& caller,
                                           const std::string& id) {
  if (!IsWellFormedId(id, "inv")) return Error::NotFound("invitation");
  UnixTime now = clock_.Now();
  // What cannot be re-sent says so before any limit is counted (the transaction below
  // decides again, on the locked row).
  auto current = store_.InvitationById(caller.workspace_id, id);
  if (!current) return Error::NotFound("invitation");
  if (current->status != "pending") {
    return Error::Conflict("invitation_not_pending", "The invitation is " + current->status + ".");
  }
  // One address gets at most a few copies a day, a cooldown apart, whoever asks.
  if (int wait = resend_cooldown_.Acquire(id, now); wait > 0) {
    return TooManyInvitations("This invitation was just sent; wait before sending it again.",
                              wait);
  }
  if (int wait = resends_per_day_.Acquire(id, now); wait > 0) {
    resend_cooldown_.Release(id, now);
    return TooManyInvitations("This invitation was re-sent too often today.", wait);
  }
  if (Status st = CountMail(caller.workspace_id, p.user.id, now); !st.ok()) {
    resend_cooldown_.Release(id, now);
    resends_per_day_.Release(id, now);
    return st.error();
  }
  auto resent = store_.Write([&](WriteTx& tx) -> Result<Invitation> {
    auto me = access_.Recheck(tx, caller, "members.invite");
    if (!me) return me.error();
    auto inv = tx.LockInvitation(caller.workspace_id, id);
    if (!inv) return Error::NotFound("invitation");
    if (inv->status != "pending") {
      return Error::Conflict("invitation_not_pending", "The invitation is " + inv->status + ".");
    }
    auto w = tx.WorkspaceById(caller.workspace_id);
    if (!w) return Error::NotFound("workspace");
    if (inv->expires_at <= now) {  // an expired invitation takes a seat again when renewed
      if (Status st = CheckSeat(tx, *w, now, 0); !st.ok()) return st.error();
    }
    // A new token: the link in any earlier email stops working.
    std::string token = crypto::NewToken();
    inv->token_hash = crypto::Sha256Hex(token);
    inv->expires_at = now + UnixTime{config_.invitation_days} * 86400;
    tx.UpdateInvitation(*inv);
    QueueInvitationMail(tx, *inv, token, p, w->name, now);
    AppendAudit(tx, p, {caller.workspace_id, "invitation.resent", "invitation", inv->id,
                        inv->email, "", nlohmann::json{{"email", inv->email}}.dump()},
                now);
    return *inv;
  });
  if (!resent) {
    resend_cooldown_.Release(id, now);
    resends_per_day_.Release(id, now);
    UncountMail(caller.workspace_id, p.user.id, now);
    return resent.error();
  }
  return ViewOf(*resent, now);
}

Result<std::vector<BulkRowResult>> Invitations::InviteBulk(const Principal& p,
                                                           const Membership& caller,
                                                           const std::string& csv) {
  if (!validation::IsValidUtf8(csv)) {
    return Error::BadRequest("invalid_utf8", "The CSV is not valid UTF-8.");
  }
  auto rows = ParseCsv(csv);
  if (!rows) return Error::BadRequest("malformed_csv", "A quoted field is not closed.");
  if (rows->empty()) return Error::Invalid("empty_csv", "file", "The CSV has no header row.");
  std::vector<std::string> header;
  for (const auto& h : (*rows)[0]) header.push_back(Lower(validation::Trim(h)));
  int email_col = -1, role_col = -1, projects_col = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "email") email_col = static_cast<int>(i);
    if (header[i] == "role") role_col = static_cast<int>(i);
    if (header[i] == "projects") projects_col = static_cast<int>(i);
  }
  if (email_col < 0) {
    return Error::Invalid("invalid_csv_header", "file",
                          "The first row must be a header with the columns email,role,projects.");
  }
  if (rows->size() - 1 > kMaxBulkRows) {
    return Error{ErrorKind::kTooLarge, "too_many_rows",
                 "A CSV may invite at most 1000 people at once.", "file"};
  }
  const Catalogue& c = access_.catalogue();
  std::vector<Project> known_projects;  // those the inviter may see
  for (auto& prj : store_.Projects(caller.workspace_id)) {
    if (access_.CanSeeProject(caller, prj.id)) known_projects.push_back(std::move(prj));
  }
  auto cell = [](const std::vector<std::string>& row, int col) {
    return col >= 0 && static_cast<size_t>(col) < row.size() ? validation::Trim(row[col])
                                                              : std::string();
  };
  std::vector<BulkRowResult> results;
  for (size_t r = 1; r < rows->size(); ++r) {
    const auto& row = (*rows)[r];
    BulkRowResult res;
    res.row = static_cast<int>(r);
    res.email = cell(row, email_col);
    InviteInput in;
    in.email = res.email;
    // Roles by id or display name, case-insensitively ("Developer", "developer", a custom
    // role's name).
    std::string role = cell(row, role_col);
    if (!role.empty()) {
      std::string wanted = Lower(role);
      std::string found;
      for (const auto& builtin : c.roles) {
        if (Lower(builtin.id) == wanted || Lower(builtin.name) == wanted) found = builtin.id;
      }
      if (found.empty()) {
        for (const auto& custom : store_.CustomRoles(caller.workspace_id)) {
          if (Lower(custom.name) == wanted || custom.id == role) found = custom.id;
        }
      }
      in.role = found.empty() ? role : found;
    }
    // Project names separated by ';' (case-insensitively), or "all": no restriction.
    std::string projects = cell(row, projects_col);
    std::string unknown;
    if (!projects.empty() && Lower(projects) != "all") {
      size_t start = 0;
      while (start <= projects.size() && unknown.empty()) {
        size_t end = std::min(projects.find(';', start), projects.size());
        std::string name = validation::Trim(projects.substr(start, end - start));
        start = end + 1;
        if (name.empty()) continue;
        auto it = std::find_if(known_projects.begin(), known_projects.end(),
                               [&](const Project& p) { return Lower(p.name) == Lower(name); });
        if (it == known_projects.end()) {
          unknown = name;
        } else {
          in.projects.push_back(it->id);
        }
      }
    }
    if (!unknown.empty()) {
      res.status = "error";
      res.code = "unknown_project";
      res.detail = "No project named '" + unknown + "'.";
      results.push_back(std::move(res));
      continue;
    }
    auto v = Invite(p, caller, in);
    if (v) {
      res.status = "invited";
      res.email = v->invitation.email;
    } else {
      res.status = "error";
      res.code = v.error().code;
      res.detail = v.error().message;
    }
    results.push_back(std::move(res));
  }
  return results;
}

Result<InvitationView> Invitations::Lookup(const std::string& token) {
  if (token.empty() || token.size() > 128) return Error::NotFound("invitation");
  auto inv = store_.InvitationByTokenHash(crypto::Sha256Hex(token));
  if (!inv) return Error::NotFound("invitation");
  return ViewOf(*inv, clock_.Now());
}

Result<Acceptance> Invitations::Accept(const std::string& token,
                                       const std::optional<Principal>& principal,
                                       const std::optional<std::string>& name,
                                       const std::optional<std::string>& password,
                                       const ClientInfo& client) {
  if (token.empty() || token.size() > 128) return Error::NotFound("invitation");
  // Hashing a new password is slow (argon2id): done once, before the transaction, when the
  // invitation looks acceptable; everything it depends on is checked again inside.
  auto found = store_.InvitationByTokenHash(crypto::Sha256Hex(token));
  if (!found) return Error::NotFound("invitation");
  std::optional<User> new_user;
  if (!principal && found->status == "pending") {
    if (!name || !password) {
      return Error::Invalid("required", !name ? "name" : "password",
                            "Give a name and a password to create your account.");
    }
    auto user = accounts_.NewUser({found->email, *password, *name}, clock_.Now());
    if (!user) return user.error();
    new_user = std::move(*user);
  }
  std::optional<NewSession> created;
  auto accepted = store_.Write([&](WriteTx& tx) -> Result<Acceptance> {
    created.reset();
    if (!tx.LockWorkspace(found->workspace_id)) return Error::NotFound("invitation");
    auto inv = tx.LockInvitation(found->workspace_id, found->id);
    if (!inv || inv->token_hash != found->token_hash) return Error::NotFound("invitation");
    UnixTime now = clock_.Now();
    if (inv->status == "revoked") {
      return Gone("invitation_revoked", "This invitation was revoked. Ask for a new one.");
    }
    if (inv->status == "accepted") {
      return Gone("invitation_used", "This invitation has been accepted already.");
    }
    if (inv->expires_at <= now) {
      return Gone("invitation_expired", "This invitation has expired. Ask for a new one.");
    }
    Acceptance out;
    out.workspace_id = inv->workspace_id;
    out.redirect_url = inv->redirect_url;
    if (principal) {
      if (principal->user.email != inv->email) {
        return Error{ErrorKind::kForbidden, "invitation_email_mismatch",
                     "This invitation is for another email address. Sign in as " + inv->email +
                         " to accept it.",
                     {}};
      }
      // The account is still there: a deletion racing the acceptance holds this lock.
      auto user = tx.LockUser(principal->user.id);
      if (!user || user->deleted_at) return Error::NotFound("invitation");
      // Whoever signed up first with the address must also read its mail: otherwise anyone
      // could join a workspace by signing up with an invitee's address before they do.
      if (!user->email_verified_at) {
        return Error{ErrorKind::kForbidden, "email_not_verified",
                     "Verify " + user->email +
                         " first: open the link we mailed to it, or send a new one from your "
                         "account. Then accept the invitation.",
                     {}};
      }
      out.user = *user;
    } else {
      if (tx.UserByEmail(inv->email)) {
        return Error::Unauthenticated("sign_in_required",
                                      "An account with this email exists: sign in to accept.");
      }
      if (!new_user) return Error::NotFound("invitation");
      // The link came in a mail to the address: accepting with it proves the address.
      User verified = *new_user;
      verified.email_verified_at = now;
      created = accounts_.MakeSession(verified, client, now);
      out.user = verified;
    }
    if (tx.MembershipOf(inv->workspace_id, out.user.id)) {
      return Error::Conflict("already_member", "You are already a member of this workspace.");
    }
    auto w = tx.WorkspaceById(inv->workspace_id);
    if (!w) return Error::NotFound("invitation");
    if (const Plan* plan = config_.FindPlan(w->plan);
        plan && tx.MemberCount(w->id) >= plan->member_limit) {
      return Error{ErrorKind::kPaymentRequired, "member_limit_reached",
                   "The workspace has no free seat. Ask an admin to upgrade the plan.", {}};
    }
    // A custom role deleted since the invitation falls back to the preset's default.
    std::string role = access_.RoleExists(w->id, inv->role)
                           ? inv->role
                           : access_.catalogue().default_invite_role;
    out.membership = {NewId("mem"), w->id, out.user.id, role, now};
    inv->status = "accepted";
    inv->accepted_at = now;
    // The invitation's projects, less those deleted since: the member holds the
    // invitation's role in each.
    std::vector<Project> projects;
    for (const auto& id : inv->projects) {
      if (auto prj = tx.ProjectById(w->id, id)) projects.push_back(std::move(*prj));
    }
    if (created) {
      if (Status st = accounts_.RecordSession(tx, *created, client, now, "user.signed_up", true);
          !st.ok()) {
        return st.error();
      }
    }
    tx.InsertMembership(out.membership);
    tx.UpdateInvitation(*inv);
    Principal actor{out.user, created ? created->session.id : principal->session_id, client};
    nlohmann::json details = {{"role", role}, {"invitation_id", inv->id},
                              {"invited_by", inv->invited_by}, {"projects", inv->projects}};
    AppendAudit(tx, actor, {w->id, "member.joined", "user", out.user.id, out.user.name, "",
                            details.dump()},
                now);
    for (const auto& prj : projects) {
      tx.PutProjectMember({prj.id, w->id, out.user.id, role, now});
      nlohmann::json added = {{"role", role},
                              {"role_name", access_.RoleName(w->id, role)},
                              {"from", nullptr},
                              {"project_name", prj.name},
                              {"invitation_id", inv->id}};
      AppendAudit(tx, actor, {w->id, "project.member_added", "user", out.user.id,
                              out.user.name, prj.id, added.dump()},
                  now);
    }
    std::string ws = w->id;
    bool had_projects = !projects.empty();
    tx.AfterCommit([this, ws, had_projects] {
      cache_.ForgetMemberships();
      if (had_projects) access_.ForgetProjects(ws);
    });
    return out;
  });
  if (!accepted) return accepted.error();
  accepted->new_session = std::move(created);
  return accepted;
}

}  // namespace gh
