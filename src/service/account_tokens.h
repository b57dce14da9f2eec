// Single-use links mailed to a user: what password reset and email verification share. The
// token travels only in the mail; the store keeps its SHA-256 (like sessions and invitations).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "service/mail.h"
#include "store/store.h"

namespace gh {

// A link about to be mailed: the token for the URL, the record for the store.
struct IssuedToken {
  std::string token;
  AccountToken record;
};

// A fresh token for `user`'s current address, valid for `ttl_seconds` from `now`.
IssuedToken IssueAccountToken(const User& user, AccountTokenPurpose purpose, UnixTime ttl_seconds,
                              UnixTime now);

// What a link may be used for at `now`: 404 not_found (naming `token`) when there is no such
// link or it is for another purpose, 410 token_used, 410 token_expired. A token longer than
// any we mail is unknown without a look-up.
Status CheckAccountToken(const std::optional<AccountToken>& t, AccountTokenPurpose purpose,
                         UnixTime now);
bool PlausibleToken(const std::string& token);
Error UnknownToken();

// A mail whose point is one link: the lines before it, the link (a button in HTML, the URL on
// a line of its own in text), then the lines after it.
MailMessage QueueLinkMail(WriteTx& tx, MailOutbox& mail, const std::string& to,
                          const std::string& subject, const std::vector<std::string>& before,
                          const std::string& link_label, const std::string& url,
                          const std::vector<std::string>& after, UnixTime now);

}  // namespace gh
