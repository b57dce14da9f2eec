#include "service/mail.h"

#include "core/ids.h"
#include "core/validation.h"

namespace gh {

MailMessage QueueMail(WriteTx& tx, const Config& config, const std::string& to,
                      const std::string& subject, const std::string& body_text,
                      const std::string& body_html, UnixTime now) {
  MailMessage m;
  m.id = NewTimeOrderedId("mail");
  m.to = to;
  m.subject = subject;
  m.body_text = body_text;
  m.body_html = body_html;
  m.next_attempt_at = now;
  m.created_at = now;
  m.status = config.smtp.empty() ? MailStatus::kStored : MailStatus::kQueued;
  tx.InsertMail(m);
  return m;
}

MailMessage MailOutbox::Queue(WriteTx& tx, const std::string& to, const std::string& subject,
                              const std::string& body_text, const std::string& body_html,
                              UnixTime now) {
  MailMessage m = QueueMail(tx, config_, to, subject, body_text, body_html, now);
  if (m.status == MailStatus::kQueued) tx.AfterCommit([this] { Wake(); });
  return m;
}

MailMessage QueueNotice(WriteTx& tx, MailOutbox& mail, const std::string& to,
                        const std::string& subject, const std::vector<std::string>& lines,
                        UnixTime now) {
  std::string text, html = "<!doctype html><html><body style=\"font-family:sans-serif\">";
  for (const auto& l : lines) {
    text += l + "\r\n";
    if (!l.empty()) html += "<p>" + validation::HtmlEscape(l) + "</p>";
  }
  html += "</body></html>";
  return mail.Queue(tx, to, subject, text, html, now);
}

void MailOutbox::Subscribe(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

void MailOutbox::Unsubscribe() {
  std::lock_guard lock(mu_);
  wake_ = nullptr;
}

void MailOutbox::Wake() {
  std::lock_guard lock(mu_);
  if (wake_) wake_();
}

}  // namespace gh
