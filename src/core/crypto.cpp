#include "core/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

namespace gh::crypto {
namespace {

struct SodiumInit {
  SodiumInit() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  }
};

void EnsureSodium() { static SodiumInit init; }

// One fetched EVP_MD and one reusable context per thread: the one-shot call is ~4x slower.
struct Sha256Ctx {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Sha256Ctx() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
};

}  // namespace

std::array<uint8_t, 32> Sha256(std::string_view data) {
  thread_local Sha256Ctx s;
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex(s.ctx, s.md, nullptr) != 1 ||
      EVP_DigestUpdate(s.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(s.ctx, out.data(), &len) != 1 || len != 32) {
    throw std::runtime_error("SHA-256 failed");
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  auto raw = Sha256(data);
  return Hex(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string Base62(std::string_view bytes, size_t width) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::vector<unsigned char> num(bytes.begin(), bytes.end());
  std::string out;
  // Repeated division of the big-endian number by 62.
  while (true) {
    bool all_zero = true;
    unsigned remainder = 0;
    for (auto& d : num) {
      unsigned acc = remainder * 256 + d;
      d = static_cast<unsigned char>(acc / 62);
      remainder = acc % 62;
      if (d != 0) all_zero = false;
    }
    out += kAlphabet[remainder];
    if (all_zero) break;
  }
  while (out.size() < width) out += '0';
  return std::string(out.rbegin(), out.rend());
}

std::string NewToken() { return Base64Url(RandomBytes(32)); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  EnsureSodium();
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string HashPassword(std::string_view password, const PasswordParams& params) {
  EnsureSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.ops_limit,
                            params.mem_limit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("argon2id hashing ran out of memory");
  }
  return out;
}

bool VerifyPassword(std::string_view password, const std::string& phc) {
  EnsureSodium();
  return crypto_pwhash_str_verify(phc.c_str(), password.data(), password.size()) == 0;
}

std::string DummyPasswordHash(const PasswordParams& params) {
  // One hash per cost, made once: a process runs with one configured cost (tests with a few).
  static std::mutex mu;
  static std::vector<std::pair<std::pair<uint64_t, size_t>, std::string>> made;
  std::lock_guard lock(mu);
  for (const auto& [cost, phc] : made) {
    if (cost == std::make_pair(params.ops_limit, params.mem_limit)) return phc;
  }
  made.push_back({{params.ops_limit, params.mem_limit}, HashPassword("gatehouse-dummy", params)});
  return made.back().second;
}

void VerifyPasswordDummy(std::string_view password, const PasswordParams& params) {
  (void)VerifyPassword(password, DummyPasswordHash(params));
}

}  // namespace gh::crypto
