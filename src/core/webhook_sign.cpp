#include "core/webhook_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "core/crypto.h"

namespace gh {
namespace {

constexpr std::string_view kPrefix = "whsec_";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Standard base64 with padding (RFC 4648 §4), as every Standard Webhooks library writes it.
std::string Base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  uint32_t v = byte(i) << 16;
  if (rest == 2) v |= byte(i + 1) << 8;
  out += kAlphabet[(v >> 18) & 63];
  out += kAlphabet[(v >> 12) & 63];
  out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
  out += '=';
  return out;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict decoding: the standard alphabet only, padding optional, nothing after it, and no
// stray bits in the last character (so one key has exactly one spelling).
std::optional<std::string> Base64Decode(std::string_view text) {
  size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.remove_suffix(1);
    ++pad;
  }
  if (text.empty() || text.size() % 4 == 1) return std::nullopt;
  if (pad > 0 && (text.size() + pad) % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::string NewWebhookSecret() { return std::string(kPrefix) + Base64(crypto::RandomBytes(32)); }

std::optional<std::string> WebhookSecretKey(std::string_view secret) {
  if (secret.starts_with(kPrefix)) secret.remove_prefix(kPrefix.size());
  return Base64Decode(secret);
}

std::string WebhookSignature(std::string_view key_bytes, std::string_view msg_id, int64_t timestamp,
                             std::string_view body) {
  std::string signed_content;
  signed_content.reserve(msg_id.size() + body.size() + 24);
  signed_content.append(msg_id).append(".").append(std::to_string(timestamp)).append(".");
  signed_content.append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // An empty key is still a key (HMAC pads it with zeros); OpenSSL wants a non-null pointer.
  const void* key = key_bytes.empty() ? "" : key_bytes.data();
  if (!HMAC(EVP_sha256(), key, static_cast<int>(key_bytes.size()),
            reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(),
            mac, &len)) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return "v1," + Base64(std::string_view(reinterpret_cast<const char*>(mac), len));
}

std::string WebhookSignatureHeader(const std::vector<std::string>& key_bytes_list,
                                   std::string_view msg_id, int64_t timestamp,
                                   std::string_view body) {
  std::string header;
  for (const std::string& key : key_bytes_list) {
    if (!header.empty()) header += ' ';
    header += WebhookSignature(key, msg_id, timestamp, body);
  }
  return header;
}

}  // namespace gh
