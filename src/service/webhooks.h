// Webhooks: a workspace's endpoints (permission webhooks.manage) and the delivery of one
// message (the dispatcher that writes deliveries is in notifications.h): Standard Webhooks
// signing (both secrets during a rotation's overlap), the SSRF guard, retries on
// `[webhooks] retry_seconds` with jitter, 410 disabling the endpoint. Deliveries are rows: a
// restart loses none. The workspace's Slack incoming webhook is an endpoint of kind "slack",
// delivered the same way (unsigned; Slack's refusals read by ClassifySlackAnswer).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/result.h"
#include "service/access.h"
#include "service/config.h"
#include "service/context.h"
#include "store/store.h"

namespace gh {

struct WebhookInput {
  std::optional<std::string> url;
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> event_types;
  std::optional<bool> enabled;
};

struct WebhookCreated {
  WebhookEndpoint endpoint;
  std::string secret;  // shown once
};

class Webhooks {
 public:
  static constexpr int kMaxEndpointsPerWorkspace = 20;
  static constexpr UnixTime kRotationOverlapSeconds = 24 * 3600;
  // An attempt in flight: name resolution and the 10 s exchange, with a wide margin, so that
  // no other process takes the same attempt meanwhile.
  static constexpr UnixTime kLeaseSeconds = 120;

  Webhooks(Store& store, const Config& config, Access& access,
           const Clock& clock = Clock::System());

  Result<WebhookCreated> Create(const Principal& p, const Membership& caller, const WebhookInput& in);
  std::vector<WebhookEndpoint> List(const Membership& caller);
  Result<WebhookEndpoint> Get(const Membership& caller, const std::string& id);
  Result<WebhookEndpoint> Update(const Principal& p, const Membership& caller,
                                 const std::string& id, const WebhookInput& in);
  Status Delete(const Principal& p, const Membership& caller, const std::string& id);
  Result<WebhookCreated> RotateSecret(const Principal& p, const Membership& caller,
                                      const std::string& id);
  // Queues a webhook.test message to the endpoint; returns it.
  Result<WebhookDelivery> SendTest(const Principal& p, const Membership& caller,
                                   const std::string& id);
  Result<std::vector<WebhookDelivery>> Deliveries(const Membership& caller, const std::string& id,
                                                  const std::string& before, int limit);
  // Puts a delivery back in the queue for one more attempt now.
  Result<WebhookDelivery> Retry(const Principal& p, const Membership& caller,
                                const std::string& id, const std::string& msg_id);

  // Due deliveries (oldest first) that this process may attempt now.
  std::vector<WebhookDelivery> Due(int limit);
  // One attempt of one delivery: claims it, posts it, records the outcome. False when another
  // process had claimed it.
  bool Deliver(const WebhookDelivery& d);

  // Deletes finished deliveries older than kLogDays (a batch at a time); returns how many.
  static constexpr UnixTime kLogDays = 30;
  int64_t PurgeLog();

  // The wait before attempt `attempts + 1` (after `attempts` failed), with ±10 % jitter;
  // nullopt when the schedule is exhausted.
  std::optional<UnixTime> RetryDelay(int attempts) const;

 private:
  Result<WebhookEndpoint> Validate(const Membership& caller, WebhookEndpoint e,
                                   const WebhookInput& in);

  Store& store_;
  const Config& config_;
  Access& access_;
  const Clock& clock_;
};

}  // namespace gh
