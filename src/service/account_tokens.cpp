#include "service/account_tokens.h"

#include "core/crypto.h"
#include "core/validation.h"

namespace gh {

IssuedToken IssueAccountToken(const User& user, AccountTokenPurpose purpose, UnixTime ttl_seconds,
                              UnixTime now) {
  IssuedToken out;
  out.token = crypto::NewToken();
  AccountToken& t = out.record;
  t.token_hash = crypto::Sha256Hex(out.token);
  t.purpose = purpose;
  t.user_id = user.id;
  t.email = user.email;
  t.created_at = now;
  t.expires_at = now + ttl_seconds;
  return out;
}

bool PlausibleToken(const std::string& token) { return !token.empty() && token.size() <= 128; }

Error UnknownToken() {
  return {ErrorKind::kNotFound, "not_found",
          "This link is not valid. Open the link from the newest email, or ask for a new one.",
          "token"};
}

Status CheckAccountToken(const std::optional<AccountToken>& t, AccountTokenPurpose purpose,
                         UnixTime now) {
  if (!t || t->purpose != purpose) return UnknownToken();
  if (t->used_at) {
    return Error{ErrorKind::kGone, "token_used",
                 "This link has been used already. Ask for a new one if you still need it.",
                 "token"};
  }
  if (t->expires_at <= now) {
    return Error{ErrorKind::kGone, "token_expired", "This link has expired. Ask for a new one.",
                 "token"};
  }
  return {};
}

MailMessage QueueLinkMail(WriteTx& tx, MailOutbox& mail, const std::string& to,
                          const std::string& subject, const std::vector<std::string>& before,
                          const std::string& link_label, const std::string& url,
                          const std::vector<std::string>& after, UnixTime now) {
  using validation::HtmlEscape;
  std::string text, html = "<!doctype html><html><body style=\"font-family:sans-serif\">";
  auto lines = [&](const std::vector<std::string>& ls) {
    for (const auto& l : ls) {
      text += l + "\r\n";
      if (!l.empty()) html += "<p>" + HtmlEscape(l) + "</p>";
    }
  };
  lines(before);
  text += "\r\n" + link_label + ":\r\n" + url + "\r\n\r\n";
  html += "<p><a href=\"" + HtmlEscape(url) + "\">" + HtmlEscape(link_label) + "</a></p>";
  lines(after);
  html += "</body></html>";
  return mail.Queue(tx, to, subject, text, html, now);
}

}  // namespace gh
