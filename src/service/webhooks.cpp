#include "service/webhooks.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "core/ids.h"
#include "core/time.h"
#include "core/validation.h"
#include "core/webhook_sign.h"
#include "service/audit.h"
#include "service/outbound.h"
#include "service/slack.h"

namespace gh {

using Json = nlohmann::json;

namespace {

constexpr const char* kPermission = "webhooks.manage";
constexpr size_t kMaxEventTypes = 100;
constexpr size_t kMaxErrorBytes = 300;

Json EndpointDetails(const WebhookEndpoint& e) {
  return {{"url", e.url}, {"event_types", e.event_types}, {"enabled", e.enabled}};
}

}  // namespace

Webhooks::Webhooks(Store& store, const Config& config, Access& access, const Clock& clock)
    : store_(store), config_(config), access_(access), clock_(clock) {}

Result<WebhookEndpoint> Webhooks::Validate(const Membership&, WebhookEndpoint e,
                                           const WebhookInput& in) {
  if (in.url) {
    // The name is resolved now as well (the route runs off the I/O threads), so that a URL
    // whose host is private answers 422 here rather than failing every delivery; each
    // delivery checks again, since DNS can change.
    if (Status st = CheckOutboundDestination(*in.url, {config_.webhook_allow_private_networks});
        !st.ok()) {
      return st.error();
    }
    e.url = *in.url;
  }
  if (e.url.empty()) return Error::Invalid("invalid_url", "url", "url is required.");
  if (in.description) {
    auto d = validation::SingleLineText(*in.description, 0, 200, "invalid_description",
                                        "description", "description is at most 200 characters.");
    if (!d) return d.error();
    e.description = *d;
  }
  if (in.event_types) {
    if (in.event_types->size() > kMaxEventTypes) {
      return Error::Invalid("invalid_event_types", "event_types",
                            "At most " + std::to_string(kMaxEventTypes) + " event types.");
    }
    std::set<std::string> seen;
    for (const auto& t : *in.event_types) {
      bool wildcard = t.size() > 2 && t.compare(t.size() - 2, 2, ".*") == 0 &&
                      AuditLog::IsActionName(t.substr(0, t.size() - 2) + ".x");
      if (!wildcard && !AuditLog::IsActionName(t)) {
        return Error::Invalid("invalid_event_types", "event_types",
                              "'" + t.substr(0, 80) +
                                  "' is not an event type (member.removed) or a noun followed "
                                  "by .* (member.*).");
      }
      seen.insert(t);
    }
    e.event_types.assign(seen.begin(), seen.end());
  }
  if (in.enabled) {
    e.enabled = *in.enabled;
    if (e.enabled) e.disabled_reason.clear();
  }
  return e;
}

Result<WebhookCreated> Webhooks::Create(const Principal& p, const Membership& caller,
                                        const WebhookInput& in) {
  WebhookEndpoint blank;
  auto e = Validate(caller, blank, in);
  if (!e) return e.error();
  return store_.Write([&](WriteTx& tx) -> Result<WebhookCreated> {
    auto me = access_.Recheck(tx, caller, kPermission);
    if (!me) return me.error();
    auto existing = tx.WebhookEndpoints(caller.workspace_id);
    if (std::count_if(existing.begin(), existing.end(), [](const WebhookEndpoint& e) {
          return e.kind == "webhook";
        }) >= kMaxEndpointsPerWorkspace) {
      return Error::Conflict("too_many_webhooks",
                             "A workspace has at most " + std::to_string(kMaxEndpointsPerWorkspace) +
                                 " webhook endpoints.");
    }
    UnixTime now = clock_.Now();
    WebhookEndpoint w = *e;
    w.id = NewTimeOrderedId("whk");
    w.workspace_id = caller.workspace_id;
    w.secret = NewWebhookSecret();
    w.created_at = w.updated_at = now;
    tx.InsertWebhookEndpoint(w);
    AppendAudit(tx, p,
                {caller.workspace_id, "webhook.created", "webhook", w.id, w.url, "",
                 EndpointDetails(w).dump()},
                now);
    return WebhookCreated{w, w.secret};
  });
}

std::vector<WebhookEndpoint> Webhooks::List(const Membership& caller) {
  auto all = store_.WebhookEndpoints(caller.workspace_id);
  std::erase_if(all, [](const WebhookEndpoint& e) { return e.kind != "webhook"; });
  return all;
}

Result<WebhookEndpoint> Webhooks::Get(const Membership& caller, const std::string& id) {
  auto e = IsWellFormedId(id, "whk") ? store_.WebhookEndpointById(caller.workspace_id, id)
                                     : std::nullopt;
  if (!e) return Error::NotFound("webhook");
  return *e;
}

Result<WebhookEndpoint> Webhooks::Update(const Principal& p, const Membership& caller,
                                         const std::string& id, const WebhookInput& in) {
  if (!IsWellFormedId(id, "whk")) return Error::NotFound("webhook");
  return store_.Write([&](WriteTx& tx) -> Result<WebhookEndpoint> {
    auto me = access_.Recheck(tx, caller, kPermission);
    if (!me) return me.error();
    auto current = tx.LockWebhookEndpoint(caller.workspace_id, id);
    if (!current) return Error::NotFound("webhook");
    auto e = Validate(caller, *current, in);
    if (!e) return e.error();
    e->updated_at = clock_.Now();
    tx.UpdateWebhookEndpoint(*e);
    AppendAudit(tx, p,
                {caller.workspace_id, "webhook.updated", "webhook", id, e->url, "",
                 EndpointDetails(*e).dump()},
                e->updated_at);
    return *e;
  });
}

Status Webhooks::Delete(const Principal& p, const Membership& caller, const std::string& id) {
  if (!IsWellFormedId(id, "whk")) return Error::NotFound("webhook");
  return store_.Write([&](WriteTx& tx) -> Status {
    auto me = access_.Recheck(tx, caller, kPermission);
    if (!me) return me.error();
    auto current = tx.LockWebhookEndpoint(caller.workspace_id, id);
    if (!current) return Error::NotFound("webhook");
    tx.DeleteWebhookEndpoint(caller.workspace_id, id);
    AppendAudit(tx, p,
                {caller.workspace_id, "webhook.deleted", "webhook", id, current->url, "", "{}"},
                clock_.Now());
    return {};
  });
}

Result<WebhookCreated> Webhooks::RotateSecret(const Principal& p, const Membership& caller,
                                              const std::string& id) {
  if (!IsWellFormedId(id, "whk")) return Error::NotFound("webhook");
  return store_.Write([&](WriteTx& tx) -> Result<WebhookCreated> {
    auto me = access_.Recheck(tx, caller, kPermission);
    if (!me) return me.error();
    auto e = tx.LockWebhookEndpoint(caller.workspace_id, id);
    if (!e) return Error::NotFound("webhook");
    UnixTime now = clock_.Now();
    // The secret being replaced keeps signing for 24 hours, beside the new one.
    e->previous_secret = e->secret;
    e->previous_secret_expires_at = now + kRotationOverlapSeconds;
    e->secret = NewWebhookSecret();
    e->updated_at = now;
    tx.UpdateWebhookEndpoint(*e);
    AppendAudit(tx, p,
                {caller.workspace_id, "webhook.secret_rotated", "webhook", id, e->url, "",
                 Json{{"previous_secret_expires_at", FormatRfc3339(now + kRotationOverlapSeconds)}}
                     .dump()},
                now);
    return WebhookCreated{*e, e->secret};
  });
}

Result<WebhookDelivery> Webhooks::SendTest(const Principal& p, const Membership& caller,
                                           const std::string& id) {
  if (!IsWellFormedId(id, "whk")) return Error::NotFound("webhook");
  return store_.Write([&](WriteTx& tx) -> Result<WebhookDelivery> {
    auto me = access_.Recheck(tx, caller, kPermission);
    if (!me) return me.error();
    auto e = tx.LockWebhookEndpoint(caller.workspace_id, id);
    if (!e) return Error::NotFound("webhook");
    UnixTime now = clock_.Now();
    WebhookDelivery d;
    d.id = NewTimeOrderedId("msg");
    d.endpoint_id = id;
    d.workspace_id = caller.workspace_id;
    d.event_type = "webhook.test";
    d.payload = Json{{"type", "webhook.test"},
                     {"timestamp", FormatRfc3339(now)},
                     {"data", {{"webhook_id", id}, {"workspace_id", caller.workspace_id}}}}
                    .dump();
    d.next_attempt_at = now;
    d.created_at = d.updated_at = now;
    tx.InsertWebhookDelivery(d);
    AppendAudit(tx, p,
                {caller.workspace_id, "webhook.tested", "webhook", id, e->url, "",
                 Json{{"message_id", d.id}}.dump()},
                now);
    return d;
  });
}

Result<std::vector<WebhookDelivery>> Webhooks::Deliveries(const Membership& caller,
                                                          const std::string& id,
                                                          const std::string& before, int limit) {
  auto e = Get(caller, id);
  if (!e) return e.error();
  if (!before.empty() && !IsWellFormedId(before, "msg")) {
    return Error::Invalid("invalid_cursor", "cursor", "cursor must be a next_cursor value.");
  }
  return store_.WebhookDeliveries(id, before, limit);
}

Result<WebhookDelivery> Webhooks::Retry(const Principal& p, const Membership& caller,
                                        const std::string& id, const std::string& msg_id) {
  if (!IsWellFormedId(id, "whk") || !IsWellFormedId(msg_id, "msg")) {
    return Error::NotFound("delivery");
  }
  return store_.Write([&](WriteTx& tx) -> Result<WebhookDelivery> {
    auto me = access_.Recheck(tx, caller, kPermission);
    if (!me) return me.error();
    auto e = tx.LockWebhookEndpoint(caller.workspace_id, id);
    if (!e) return Error::NotFound("delivery");
    auto d = tx.WebhookDeliveryById(id, msg_id);
    if (!d) return Error::NotFound("delivery");
    if (d->status == "pending") {
      return Error::Conflict("delivery_pending", "The delivery is still being attempted.");
    }
    UnixTime now = clock_.Now();
    d->status = "pending";
    d->next_attempt_at = now;
    d->updated_at = now;
    tx.RecordWebhookAttempt(*d);
    AppendAudit(tx, p,
                {caller.workspace_id, "webhook.delivery_retried", "webhook", id, e->url, "",
                 Json{{"message_id", msg_id}}.dump()},
                now);
    return *d;
  });
}

int64_t Webhooks::PurgeLog() {
  UnixTime before = clock_.Now() - kLogDays * 86400;
  int64_t total = 0;
  // At most 20 batches a run (the job runs hourly), so that stopping never waits long.
  for (int batch = 0; batch < 20; ++batch) {
    int64_t n = store_.Write([&](WriteTx& tx) { return tx.PurgeWebhookDeliveries(before, 1000); });
    total += n;
    if (n < 1000) break;
  }
  return total;
}

std::vector<WebhookDelivery> Webhooks::Due(int limit) {
  return store_.DueWebhookDeliveries(clock_.Now(), limit);
}

std::optional<UnixTime> Webhooks::RetryDelay(int attempts) const {
  const auto& schedule = config_.webhook_retry_seconds;
  if (attempts < 1 || static_cast<size_t>(attempts) > schedule.size()) return std::nullopt;
  int64_t base = schedule[static_cast<size_t>(attempts - 1)];
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t spread = base / 10;
  int64_t jitter = spread > 0 ? std::uniform_int_distribution<int64_t>(-spread, spread)(rng) : 0;
  return std::max<int64_t>(0, base + jitter);
}

bool Webhooks::Deliver(const WebhookDelivery& due) {
  UnixTime now = clock_.Now();
  bool claimed = store_.Write([&](WriteTx& tx) {
    return tx.ClaimWebhookDelivery(due.id, now, now + kLeaseSeconds);
  });
  if (!claimed) return false;
  // The row as it is now: the queued copy may predate another attempt or a manual retry.
  auto current = store_.WebhookDeliveryById(due.endpoint_id, due.id);
  if (!current) return false;
  auto endpoint = store_.WebhookEndpointById(due.workspace_id, due.endpoint_id);
  WebhookDelivery d = *current;
  d.attempts += 1;
  std::string error;
  std::optional<int64_t> code;
  bool succeeded = false, gone = false, permanent = false;
  if (!endpoint) {
    error = "the endpoint was deleted";
  } else if (!endpoint->enabled) {
    error = "the endpoint is disabled";
  } else if (endpoint->kind == "slack") {
    OutboundPost post;
    post.url = endpoint->url;
    post.body = d.payload;
    post.headers = {{"content-type", "application/json"}, {"user-agent", "Gatehouse-Slack/1"}};
    auto answer = PostOutbound(post, {config_.webhook_allow_private_networks});
    SlackOutcome outcome = SlackOutcome::kRetry;
    if (!answer) {
      error = answer.error().message;
    } else {
      code = answer->status;
      std::string reason = answer->body.substr(0, answer->body.find('\n')).substr(0, 200);
      outcome = ClassifySlackAnswer(answer->status, reason);
      if (outcome != SlackOutcome::kDelivered) {
        error = "Slack answered " + std::to_string(answer->status) +
                (reason.empty() ? "" : ": " + reason);
      }
    }
    succeeded = outcome == SlackOutcome::kDelivered;
    gone = outcome == SlackOutcome::kDisconnect;
    permanent = outcome == SlackOutcome::kFailed;
  } else {
    std::vector<std::string> keys;
    if (auto k = WebhookSecretKey(endpoint->secret)) keys.push_back(*k);
    if (!endpoint->previous_secret.empty() && endpoint->previous_secret_expires_at &&
        *endpoint->previous_secret_expires_at > now) {
      if (auto k = WebhookSecretKey(endpoint->previous_secret)) keys.push_back(*k);
    }
    int64_t ts = now;
    OutboundPost post;
    post.url = endpoint->url;
    post.body = d.payload;
    post.headers = {{"content-type", "application/json"},
                    {"webhook-id", d.id},
                    {"webhook-timestamp", std::to_string(ts)},
                    {"webhook-signature", WebhookSignatureHeader(keys, d.id, ts, d.payload)},
                    {"user-agent", "Gatehouse-Webhooks/1"}};
    auto answer = PostOutbound(post, {config_.webhook_allow_private_networks});
    if (!answer) {
      error = answer.error().message;
    } else {
      code = answer->status;
      succeeded = answer->status >= 200 && answer->status < 300;
      gone = answer->status == 410;
      if (!succeeded) error = "HTTP " + std::to_string(answer->status);
    }
  }
  UnixTime after = clock_.Now();
  d.last_status_code = code;
  d.last_error = error.substr(0, kMaxErrorBytes);
  d.updated_at = after;
  if (succeeded) {
    d.status = "succeeded";
    d.next_attempt_at.reset();
  } else if (auto wait = (gone || permanent || !endpoint || !endpoint->enabled)
                             ? std::nullopt
                             : RetryDelay(d.attempts)) {
    d.status = "pending";
    d.next_attempt_at = after + *wait;
  } else {
    d.status = "failed";
    d.next_attempt_at.reset();
  }
  store_.Write([&](WriteTx& tx) {
    tx.RecordWebhookAttempt(d);
    if (gone && endpoint) {
      // 410 Gone: the receiver says the endpoint is no more; stop sending to it.
      auto e = tx.LockWebhookEndpoint(d.workspace_id, d.endpoint_id);
      if (e && e->enabled) {
        e->enabled = false;
        e->disabled_reason = e->kind == "slack" ? "Slack refused the webhook: " + d.last_error
                                                : "The endpoint answered 410 Gone.";
        e->updated_at = after;
        tx.UpdateWebhookEndpoint(*e);
        Principal system;
        system.user.name = "Gatehouse";
        AppendAudit(tx, system,
                    {d.workspace_id, e->kind == "slack" ? "slack.disabled" : "webhook.disabled",
                     e->kind == "slack" ? "slack" : "webhook", e->id,
                     e->kind == "slack" ? e->channel : e->url, "",
                     Json{{"reason", "gone"}, {"message_id", d.id}}.dump()},
                    after);
      }
    }
  });
  return true;
}

}  // namespace gh
