// Slack incoming webhooks: the message Gatehouse posts (a `text` fallback for notifications
// and clients without blocks, and Block Kit `blocks`), and what Slack's answers mean. Slack
// answers a failed post with a status and a short plain-text reason: "invalid_payload" (400),
// "no_service" (404: the webhook was removed), "channel_not_found" (404),
// "action_prohibited" (403), "channel_is_archived" (410), "rate_limited" (429).
#pragma once

#include <string>
#include <string_view>

namespace gh {

struct SlackText {
  std::string title;
  std::string body;      // may be empty
  std::string context;   // small print: the workspace and when
  std::string link;      // "" or a URL for the "Open in Gatehouse" button
  std::string channel;   // "" for the webhook's own channel
};

// The JSON body to POST.
std::string SlackMessage(const SlackText& m);

// Escapes the three characters Slack's mrkdwn reserves (&, <, >).
std::string SlackEscape(std::string_view s);

enum class SlackOutcome {
  kDelivered,
  kRetry,      // 429, 5xx, no answer: try again on the schedule
  kFailed,     // the message will never be accepted (invalid_payload, …): give up on it
  kDisconnect  // the webhook will never work again (no_service, channel_is_archived, …)
};

// What an answer means; `reason` is Slack's plain-text body (first line).
SlackOutcome ClassifySlackAnswer(long status, std::string_view reason);

}  // namespace gh
