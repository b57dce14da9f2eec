// The tamper-evident chain of audit events: each event's hash covers its canonical form and
// the previous event's hash, so an edited, inserted or removed row breaks every later link.
#pragma once

#include <string>

#include "core/model.h"

namespace gh {

// The canonical text of an event that its hash covers (every field but seq and hash).
std::string AuditCanonicalForm(const AuditEvent& e);

// SHA-256 over prev_hash and the canonical form.
std::string AuditEventHash(const AuditEvent& e);

}  // namespace gh
