#include "service/mail.h"

#include "core/ids.h"

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
  m.status = config.smtp.empty() ? "stored" : "queued";
  tx.InsertMail(m);
  return m;
}

}  // namespace gh
