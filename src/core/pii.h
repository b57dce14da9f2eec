// Masking of personal data for callers whose role may not see it (the spec's Viewer sees
// logs "with PII redaction"): emails keep their first letter and domain, IP addresses their
// network part.
#pragma once

#include <string>
#include <string_view>

#include "core/model.h"

namespace gh {

// "bob@acme.com" -> "b***@acme.com". Text without an '@' comes back unchanged.
std::string MaskEmail(std::string_view email);

// "203.0.113.42" -> "203.0.113.x"; "2001:db8:1:2::7" -> "2001:db8:1:x". Text that is not an
// IP address comes back unchanged.
std::string MaskIp(std::string_view ip);

// Masks every email address and IPv4 address found inside free text.
std::string MaskPiiInText(std::string_view text);

// Masks the actor's email, the client IP, and emails and IPs inside names and details.
void RedactAuditEvent(AuditEvent& e);

}  // namespace gh
