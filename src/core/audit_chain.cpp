#include "core/audit_chain.h"

#include <initializer_list>
#include <string_view>

#include "core/crypto.h"

namespace gh {
namespace {

// Length-prefixed fields: no separator inside a field can make two events collide.
void Field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
  out += ';';
}

}  // namespace

std::string AuditCanonicalForm(const AuditEvent& e) {
  std::string out = "gatehouse-audit-v1;";
  for (std::string_view f : std::initializer_list<std::string_view>{
           e.id, e.workspace_id, e.action, ToString(e.actor_type), e.actor_id, e.actor_name,
           e.actor_email, e.target_type, e.target_id, e.target_name, e.project_id, e.ip,
           e.user_agent, e.details_json}) {
    Field(out, f);
  }
  Field(out, std::to_string(e.occurred_at));
  return out;
}

std::string AuditEventHash(const AuditEvent& e) {
  return crypto::Sha256Hex(e.prev_hash + "\n" + AuditCanonicalForm(e));
}

}  // namespace gh
