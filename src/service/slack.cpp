#include "service/slack.h"

#include <nlohmann/json.hpp>

namespace gh {

std::string SlackEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string SlackMessage(const SlackText& m) {
  using nlohmann::json;
  std::string text = m.title;
  if (!m.body.empty()) text += ": " + m.body;
  std::string section = "*" + SlackEscape(m.title) + "*";
  if (!m.body.empty()) section += "\n" + SlackEscape(m.body);
  json blocks = json::array();
  json sec = {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", section}}}};
  if (!m.link.empty()) {
    sec["accessory"] = {{"type", "button"},
                        {"text", {{"type", "plain_text"}, {"text", "Open in Gatehouse"}}},
                        {"url", m.link}};
  }
  blocks.push_back(std::move(sec));
  if (!m.context.empty()) {
    blocks.push_back({{"type", "context"},
                      {"elements", json::array({{{"type", "mrkdwn"},
                                                 {"text", SlackEscape(m.context)}}})}});
  }
  // The fallback is mrkdwn too: a name such as "<!channel>" must not ping anyone.
  json msg = {{"text", SlackEscape(text)}, {"blocks", std::move(blocks)}};
  if (!m.channel.empty()) msg["channel"] = m.channel;
  return msg.dump(-1, ' ', false, json::error_handler_t::replace);
}

SlackOutcome ClassifySlackAnswer(long status, std::string_view reason) {
  if (status >= 200 && status < 300) return SlackOutcome::kDelivered;
  if (status == 429 || status >= 500 || status == 0) return SlackOutcome::kRetry;
  // The webhook itself is gone or can no longer post: stop using it until someone
  // reconnects it.
  for (std::string_view gone : {"no_service", "no_team", "team_disabled", "channel_is_archived",
                                "invalid_token", "token_revoked", "token_expired"}) {
    if (reason.substr(0, gone.size()) == gone) return SlackOutcome::kDisconnect;
  }
  if (status == 410) return SlackOutcome::kDisconnect;
  return SlackOutcome::kFailed;
}

}  // namespace gh
