#include "service/audit.h"

#include "core/audit_chain.h"
#include "core/cursor.h"
#include "core/ids.h"

namespace gh {

AuditEvent AppendAudit(WriteTx& tx, const Principal& actor, const AuditRecord& r, UnixTime now) {
  AuditEvent e;
  e.id = NewId("evt");
  e.workspace_id = r.workspace_id;
  e.occurred_at = now;
  e.action = r.action;
  if (!actor.api_key_id.empty()) {
    e.actor_type = "api_key";
    e.actor_id = actor.api_key_id;
    e.actor_name = actor.api_key_name;
    e.actor_email = actor.user.email;  // the key's owner
  } else {
    e.actor_type = actor.user.id.empty() ? "system" : "user";
    e.actor_id = actor.user.id;
    e.actor_name = actor.user.name;
    e.actor_email = actor.user.email;
  }
  e.target_type = r.target_type;
  e.target_id = r.target_id;
  e.target_name = r.target_name;
  e.project_id = r.project_id;
  e.ip = actor.client.ip;
  e.user_agent = actor.client.user_agent.substr(0, 512);
  e.details_json = r.details_json;
  e.prev_hash = tx.LockAuditChain(e.workspace_id);
  e.hash = AuditEventHash(e);
  tx.AppendAuditEvent(e);
  return e;
}

std::string AuditLog::EncodeCursor(int64_t seq) { return EncodeAuditCursor(seq); }

std::optional<int64_t> AuditLog::DecodeCursor(const std::string& cursor) {
  return DecodeAuditCursor(cursor);
}

Result<AuditPage> AuditLog::List(const std::string& workspace_id, const std::string& cursor,
                                 int limit) {
  std::optional<int64_t> before;
  if (!cursor.empty()) {
    before = DecodeCursor(cursor);
    if (!before) return Error::BadRequest("invalid_cursor", "The cursor is not valid.", "cursor");
  }
  return store_.AuditEvents(workspace_id, before, limit);
}

AuditVerification AuditLog::Verify(const std::string& workspace_id) {
  AuditVerification v;
  std::string prev;
  int64_t after = 0;
  bool first = true;
  while (true) {
    auto batch = store_.AuditChainSegment(workspace_id, after, 1000);
    if (batch.empty()) break;
    for (const auto& e : batch) {
      ++v.checked;
      // The oldest retained event anchors the chain (older ones may have been purged).
      bool link_ok = first || e.prev_hash == prev;
      if (!link_ok || AuditEventHash(e) != e.hash) {
        v.valid = false;
        v.first_invalid_id = e.id;
        return v;
      }
      first = false;
      prev = e.hash;
      after = e.seq;
    }
  }
  return v;
}

}  // namespace gh
