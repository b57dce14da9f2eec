#include "service/audit.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/audit_chain.h"
#include "core/cursor.h"
#include "core/ids.h"
#include "core/time.h"
#include "service/audit_export.h"
#include "core/validation.h"

namespace gh {
namespace {

// Nouns of Gatehouse's own events: the host product cannot write events that look like them.
constexpr std::string_view kReservedNouns[] = {
    "api_key", "audit_log", "directory", "invitation", "member",  "notification",
    "project", "role",      "scim",      "session",    "slack",   "sso",
    "user",    "webhook",   "workspace", "anomaly",    "rate_limit"};

constexpr size_t kMaxDetailsBytes = 16 * 1024;

bool IsNamePart(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// Ids are "<prefix>_<alphanumerics>"; anything else cannot match and is a typo.
bool IsIdLike(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  size_t us = s.find('_');
  if (us == std::string_view::npos || us == 0 || us + 1 == s.size()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

Error BadFilter(const std::string& field, const std::string& message) {
  return Error::BadRequest("invalid_filter", message, field);
}

}  // namespace

AuditEvent MakeAuditEvent(const Principal& actor, const AuditRecord& r, UnixTime now) {
  AuditEvent e;
  // Time-ordered: new ids land at the end of the id index instead of on a random page each,
  // which is most of what an append writes once the index outgrows the page cache.
  e.id = NewTimeOrderedId("evt");
  e.workspace_id = r.workspace_id;
  e.occurred_at = now;
  e.action = r.action;
  if (!actor.api_key_id.empty()) {
    e.actor_type = ActorType::kApiKey;
    e.actor_id = actor.api_key_id;
    e.actor_name = actor.api_key_name;
    e.actor_email = actor.user.email;  // the key's owner
  } else {
    e.actor_type = actor.user.id.empty() ? ActorType::kSystem : ActorType::kUser;
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
  return e;
}

// Every workspace event also goes on the event bus, in the same transaction: what webhooks
// (and later notifications) fan out, never for a change that rolled back.
void PublishEvent(WriteTx& tx, const AuditEvent& e) {
  if (e.workspace_id.empty()) return;
  nlohmann::json data = AuditEventToJson(e);
  data["workspace_id"] = e.workspace_id;
  nlohmann::json body = {{"type", e.action},
                         {"timestamp", FormatRfc3339(e.occurred_at)},
                         {"data", std::move(data)}};
  tx.InsertOutboxEvent({e.id, e.workspace_id, e.action, body.dump(), e.occurred_at});
}

AuditEvent AppendAudit(WriteTx& tx, const Principal& actor, const AuditRecord& r, UnixTime now) {
  AuditEvent e = MakeAuditEvent(actor, r, now);
  e.prev_hash = tx.LockAuditChain(e.workspace_id);
  e.hash = AuditEventHash(e);
  tx.AppendAuditEvent(e);
  PublishEvent(tx, e);
  return e;
}

void AppendAuditBatch(WriteTx& tx, std::vector<AuditEvent>& events) {
  std::map<std::string, std::vector<AuditEvent>> chains;
  for (auto& e : events) chains[e.workspace_id].push_back(std::move(e));
  events.clear();
  for (auto& [chain, list] : chains) {
    std::string prev = tx.LockAuditChain(chain);
    for (auto& e : list) {
      e.prev_hash = std::move(prev);
      e.hash = AuditEventHash(e);
      prev = e.hash;
    }
    tx.AppendAuditEvents(list);
    for (auto& e : list) {
      PublishEvent(tx, e);
      events.push_back(std::move(e));
    }
  }
}

bool AuditLog::IsGatehouseNoun(std::string_view noun) {
  return std::find(std::begin(kReservedNouns), std::end(kReservedNouns), noun) !=
         std::end(kReservedNouns);
}

bool AuditLog::IsActionName(std::string_view action) {
  size_t dot = action.find('.');
  if (dot == std::string_view::npos) return false;
  return IsNamePart(action.substr(0, dot)) && IsNamePart(action.substr(dot + 1));
}

Result<AuditFilter> AuditLog::ParseFilter(const std::string& workspace_id,
                                          const AuditFilterInput& in) {
  AuditFilter f;
  f.workspace_id = workspace_id;
  if (in.actor) {
    if (!IsIdLike(*in.actor)) return BadFilter("actor", "actor must be a user or API key id.");
    f.actor_id = *in.actor;
  }
  if (in.action) {
    const std::string& a = *in.action;
    if (a.size() > 2 && a.compare(a.size() - 2, 2, ".*") == 0 &&
        IsNamePart(std::string_view(a).substr(0, a.size() - 2))) {
      f.action_prefix = a.substr(0, a.size() - 1);  // "member."
    } else if (IsActionName(a)) {
      f.action = a;
    } else {
      return BadFilter("action", "action must be an action name (member.invited) or a noun "
                                 "followed by .* (member.*).");
    }
  }
  if (in.project_id) {
    if (!IsIdLike(*in.project_id)) return BadFilter("project_id", "project_id must be a project id.");
    f.project_id = *in.project_id;
  }
  if (in.target) {
    if (in.target->empty() || in.target->size() > 200) {
      return BadFilter("target", "target must be the id of the event's target.");
    }
    f.target_id = *in.target;
  }
  auto time = [](const std::optional<std::string>& raw, const char* field)
      -> Result<std::optional<UnixTime>> {
    if (!raw) return std::optional<UnixTime>();
    auto t = ParseRfc3339(*raw);
    if (!t) {
      return BadFilter(field, std::string(field) +
                                  " must be an RFC 3339 time such as 2026-01-30T14:32:15Z.");
    }
    return std::optional<UnixTime>(*t);
  };
  auto from = time(in.from, "from");
  if (!from) return from.error();
  auto to = time(in.to, "to");
  if (!to) return to.error();
  f.from = *from;
  f.to = *to;
  if (f.from && f.to && *f.from > *f.to) return BadFilter("to", "to must not be before from.");
  return f;
}

std::string AuditLog::EncodeCursor(const AuditKey& key) {
  return EncodeAuditCursor({key.occurred_at, key.seq});
}

std::optional<AuditKey> AuditLog::DecodeCursor(const std::string& cursor) {
  auto c = DecodeAuditCursor(cursor);
  if (!c) return std::nullopt;
  return AuditKey{c->occurred_at, c->seq};
}

Result<AuditFilteredPage> AuditLog::List(const AuditFilter& filter, const std::string& cursor,
                                         int limit) {
  std::optional<AuditKey> after;
  if (!cursor.empty()) {
    after = DecodeCursor(cursor);
    if (!after) return Error::BadRequest("invalid_cursor", "The cursor is not valid.", "cursor");
  }
  return store_.FilteredAuditEvents(filter, after, limit);
}

int64_t AuditLog::Scan(const AuditFilter& filter, int batch_size,
                       const std::function<bool(const std::vector<AuditEvent>&)>& batch) {
  int64_t rows = 0;
  std::optional<AuditKey> after;
  while (true) {
    auto page = store_.FilteredAuditEvents(filter, after, batch_size);
    rows += static_cast<int64_t>(page.events.size());
    if (!page.events.empty() && !batch(page.events)) break;
    if (!page.next) break;
    after = page.next;
  }
  return rows;
}

Result<AuditEvent> AuditLog::RecordHostEvent(const Principal& caller,
                                             const std::string& workspace_id,
                                             const HostEventInput& in) {
  if (!IsActionName(in.action)) {
    return Error::Invalid("invalid_action", "action",
                          "action must be noun.verb in lower case, e.g. report.exported.");
  }
  std::string_view noun = std::string_view(in.action).substr(0, in.action.find('.'));
  for (auto reserved : kReservedNouns) {
    if (noun == reserved) {
      return Error::Invalid("reserved_action", "action",
                            "Actions on " + std::string(noun) +
                                " are recorded by Gatehouse itself; choose another noun.");
    }
  }
  if (in.details_json.size() > kMaxDetailsBytes) {
    return Error::Invalid("details_too_large", "details",
                          "details must be at most 16 KiB of JSON.");
  }
  for (const auto* s : {&in.target_type, &in.target_id, &in.target_name}) {
    if (s->size() > 200) {
      return Error::Invalid("invalid_target", "target",
                            "target type, id and name are at most 200 characters each.");
    }
  }
  std::string details_json = in.details_json;
  if (in.details_json.find("\"on_behalf_of\"") != std::string::npos) {
    auto details = nlohmann::json::parse(in.details_json, nullptr, false);
    if (details.is_object() && details.contains("on_behalf_of")) {
      return Error::Invalid("reserved_detail", "details.on_behalf_of",
                            "details.on_behalf_of is written by Gatehouse from `actor`.");
    }
  }
  if (in.actor) {
    // A named user: the host product reports what one of the workspace's members did.
    std::optional<Member> member;
    if (in.actor->find('@') != std::string::npos) {
      auto email = validation::NormalizeEmail(*in.actor, "actor");
      if (!email) return email.error();
      if (auto u = store_.UserByEmail(*email)) member = store_.MemberOf(workspace_id, u->id);
    } else {
      member = store_.MemberOf(workspace_id, *in.actor);
    }
    if (!member) {
      return Error::Invalid("unknown_actor", "actor",
                            "actor must be the id or email of a member of this workspace.");
    }
    // Only the host product's backend (a secret key) speaks for other members; a person
    // signed in records events as themselves.
    if (caller.api_key_id.empty() && member->user.id != caller.user.id) {
      return Error{ErrorKind::kForbidden, "actor_not_allowed",
                   "Only a secret API key may record events on behalf of another member.",
                   "actor"};
    }
    if (!caller.api_key_id.empty()) {
      // The key stays the actor: what the host claims is recorded as a claim.
      auto details = nlohmann::json::parse(in.details_json, nullptr, false);
      if (!details.is_object()) details = nlohmann::json::object();
      details["on_behalf_of"] = {{"id", member->user.id},
                                 {"email", member->user.email},
                                 {"name", member->user.name}};
      details_json = details.dump();
    }
  }
  if (int wait = host_events_.Acquire(workspace_id, clock_.Now()); wait > 0) {
    Error e{ErrorKind::kRateLimited, "rate_limited",
            "Too many events recorded for this workspace; try again shortly.", {}};
    e.retry_after_seconds = wait;
    return e;
  }
  AuditRecord r{workspace_id, in.action, in.target_type, in.target_id, in.target_name,
                in.project_id, details_json};
  return AppendGrouped(caller, r);
}

AuditEvent AuditLog::AppendGrouped(const Principal& actor, const AuditRecord& record) {
  Pending mine{&actor, &record, clock_.Now(), {}, nullptr, false, {}};
  std::unique_lock lock(group_mu_);
  queue_.push_back(&mine);
  if (gathering_ && queue_.size() >= last_group_) gathered_.notify_one();
  while (!mine.done) {
    if (committing_ || queue_.front() != &mine) {
      mine.wake.wait(lock);
      continue;
    }
    committing_ = true;
    if (last_group_ > 1 && queue_.size() < last_group_) {
      gathering_ = true;
      gathered_.wait_for(lock, std::chrono::microseconds(kGatherMicros),
                         [&] { return queue_.size() >= last_group_; });
      gathering_ = false;
    }
    last_group_ = std::min(queue_.size(), kMaxGroup);
    std::vector<Pending*> group;
    size_t n = std::min(queue_.size(), kMaxGroup);
    group.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();
    CommitGroup(group);  // marks each done and wakes it; never throws
    lock.lock();
    committing_ = false;
    if (!queue_.empty()) queue_.front()->wake.notify_one();  // the next group's leader
  }
  if (mine.error) std::rethrow_exception(mine.error);
  return std::move(mine.event);
}

void AuditLog::CommitGroup(const std::vector<Pending*>& group) {
  // Marks the group done under the lock, so that a waiter never sees a half-written result.
  auto finish = [&] {
    std::lock_guard lock(group_mu_);
    for (Pending* p : group) {
      p->done = true;
      p->wake.notify_one();
    }
  };
  try {
    // The batch path: per chain one lock and multi-row inserts, not four statements per
    // event (round trips are what a group pays for on PostgreSQL).
    std::vector<AuditEvent> events;
    events.reserve(group.size());
    std::unordered_map<std::string, Pending*> owner;
    for (Pending* p : group) {
      events.push_back(MakeAuditEvent(*p->actor, *p->record, p->now));
      owner.emplace(events.back().id, p);
    }
    store_.Write([&](WriteTx& tx) { AppendAuditBatch(tx, events); });  // in chain order
    for (auto& e : events) {
      Pending* p = owner.at(e.id);
      p->event = std::move(e);
    }
    finish();
    return;
  } catch (...) {
    if (group.size() == 1) {
      group[0]->error = std::current_exception();
      finish();
      return;
    }
  }
  for (Pending* p : group) {  // the group failed: each event alone
    try {
      p->event = store_.Write(
          [&](WriteTx& tx) { return AppendAudit(tx, *p->actor, *p->record, p->now); });
    } catch (...) {
      p->error = std::current_exception();
    }
  }
  finish();
}

AuditEvent AuditLog::RecordExport(const Principal& actor, const std::string& workspace_id,
                                  const std::string& format, const std::string& filter_json,
                                  int64_t rows) {
  nlohmann::json details = {{"format", format}, {"rows", rows}};
  auto filter = nlohmann::json::parse(filter_json, nullptr, false);
  details["filter"] = filter.is_discarded() ? nlohmann::json::object() : filter;
  AuditRecord r{workspace_id, "audit_log.exported", "audit_log", workspace_id, "", "",
                details.dump()};
  return store_.Write([&](WriteTx& tx) { return AppendAudit(tx, actor, r, clock_.Now()); });
}

AuditVerification AuditLog::Verify(const std::string& workspace_id) {
  AuditVerification v;
  AuditChainBounds bounds = store_.AuditBounds(workspace_id);
  std::string prev = bounds.anchor_hash;
  int64_t after = 0;
  bool first = true;
  std::string last_id;
  while (after < bounds.last_seq) {
    auto batch = store_.AuditChainSegment(workspace_id, after, 1000);
    if (batch.empty()) break;
    for (const auto& e : batch) {
      if (e.seq > bounds.last_seq) break;  // appended after we read the head
      ++v.checked;
      if (first && e.prev_hash != prev) {
        // A purge may have moved the anchor since we read it: look once more.
        AuditChainBounds now = store_.AuditBounds(workspace_id);
        if (now.anchor_hash == e.prev_hash && now.purged_through_seq < e.seq) prev = e.prev_hash;
      }
      if (e.prev_hash != prev) {
        v.valid = false;
        v.first_invalid_id = e.id;
        v.reason = first ? "anchor" : "hash";
        return v;
      }
      if (AuditEventHash(e) != e.hash) {
        v.valid = false;
        v.first_invalid_id = e.id;
        v.reason = "hash";
        return v;
      }
      first = false;
      prev = e.hash;
      after = e.seq;
      last_id = e.id;
    }
    if (batch.back().seq > bounds.last_seq) break;
  }
  // The head remembers the newest event: removing the newest rows is a break too.
  if (prev != bounds.last_hash) {
    v.valid = false;
    v.first_invalid_id = last_id;
    v.reason = "head";
  }
  return v;
}

int64_t AuditLog::PurgeChain(const std::string& chain, UnixTime cutoff, int batch) {
  // A read first: most chains have nothing due, and need no write transaction to say so.
  AuditFilter due{.workspace_id = chain, .to = cutoff};
  if (store_.FilteredAuditEvents(due, std::nullopt, 1).events.empty()) return 0;
  int64_t total = 0;
  while (true) {
    int64_t n = store_.Write([&](WriteTx& tx) {
      tx.LockAuditChain(chain);
      return tx.PurgeAuditEvents(chain, cutoff, batch);
    });
    total += n;
    if (n < batch) break;
  }
  // The daily counters describe the purged events too, so they go with them (whole days:
  // the cutoff's own day may still hold retained events).
  store_.Write([&](WriteTx& tx) {
    tx.PurgeAuditDailyCounts(chain, FormatRfc3339(cutoff).substr(0, 10));
  });
  return total;
}

int64_t AuditLog::PurgeExpired(int batch) {
  UnixTime now = clock_.Now();
  int64_t total = 0;
  for (const auto& [chain, days] : store_.AuditRetentions()) {
    total += PurgeChain(chain, now - int64_t{days} * 86400, batch);
  }
  return total;
}

}  // namespace gh
