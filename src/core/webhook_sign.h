// Standard Webhooks (https://www.standardwebhooks.com, spec v1) signing of outgoing deliveries.
//
// A delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`;
// the signature is "v1," + base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}" keyed with the
// bytes of the endpoint's secret. Receivers verify it with the official libraries (npm
// `standardwebhooks`, Python `standardwebhooks`, Svix SDKs), so the exact bytes matter: the
// body signed must be the body sent, byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gh {

// A secret as shown to people: "whsec_" + standard base64 (with padding) of 32 random bytes.
// The spec allows 24..64 bytes; 32 is what Svix issues.
std::string NewWebhookSecret();

// The key bytes of a secret, "whsec_" prefix optional: nullopt when the rest is empty or not
// standard base64 (alphabet A-Z a-z 0-9 + /, '=' padding optional but only at the end).
std::optional<std::string> WebhookSecretKey(std::string_view secret);

// "v1,<base64 HMAC-SHA256(key_bytes, msg_id + "." + timestamp + "." + body)>".
std::string WebhookSignature(std::string_view key_bytes, std::string_view msg_id, int64_t timestamp,
                             std::string_view body);

// The `webhook-signature` header value for one or several keys (during a rotation's overlap
// the current key first, then the previous one): their signatures, space-separated. A receiver
// accepts the delivery when any one of them matches its secret.
std::string WebhookSignatureHeader(const std::vector<std::string>& key_bytes_list,
                                   std::string_view msg_id, int64_t timestamp,
                                   std::string_view body);

}  // namespace gh
