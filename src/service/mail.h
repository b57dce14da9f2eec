// Outgoing mail. With no SMTP server configured, messages are kept in the store with status
// "stored" and listed by `gatehouse mail list`; with one, they are queued for delivery.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/model.h"
#include "service/config.h"
#include "store/store.h"

namespace gh {

// Adds a message to the store inside `tx`, so that it exists exactly when the change that
// caused it commits. Returns the stored message.
MailMessage QueueMail(WriteTx& tx, const Config& config, const std::string& to,
                      const std::string& subject, const std::string& body_text,
                      const std::string& body_html, UnixTime now);

class MailOutbox;

// A plain notice: the text lines, and the same lines as HTML paragraphs (escaped).
MailMessage QueueNotice(WriteTx& tx, MailOutbox& mail, const std::string& to,
                        const std::string& subject, const std::vector<std::string>& lines,
                        UnixTime now);

// The mail outbox as use cases see it: a message is queued inside the change's transaction,
// and once that commits the delivery worker is woken (never for a rolled-back change).
class MailOutbox {
 public:
  explicit MailOutbox(const Config& config) : config_(config) {}

  MailMessage Queue(WriteTx& tx, const std::string& to, const std::string& subject,
                    const std::string& body_text, const std::string& body_html, UnixTime now);

  // The delivery worker subscribes for as long as it runs (the composition root wires it);
  // with none, queued mail waits for the worker's next pass or `gatehouse mail list`.
  void Subscribe(std::function<void()> wake);
  void Unsubscribe();

 private:
  void Wake();

  const Config& config_;
  std::mutex mu_;
  std::function<void()> wake_;
};

}  // namespace gh
