// Outgoing mail. With no SMTP server configured, messages are kept in the store with status
// "stored" and listed by `gatehouse mail list`; with one, they are queued for delivery.
#pragma once

#include <string>

#include "core/model.h"
#include "service/config.h"
#include "store/store.h"

namespace gh {

// Adds a message to the store inside `tx`, so that it exists exactly when the change that
// caused it commits. Returns the stored message.
MailMessage QueueMail(WriteTx& tx, const Config& config, const std::string& to,
                      const std::string& subject, const std::string& body_text,
                      const std::string& body_html, UnixTime now);

}  // namespace gh
