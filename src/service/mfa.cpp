#include "service/mfa.h"

#include <qrencode.h>

#include <cctype>
#include <memory>

#include "core/crypto.h"
#include "core/totp.h"
#include "core/validation.h"
#include "service/audit.h"

namespace gh {
namespace {

constexpr size_t kSecretBytes = 20;  // 160 bits, RFC 4226's recommendation for HMAC-SHA1

// A recovery code as people type it, reduced to what is hashed: lower case, no separators.
std::string NormalizeRecoveryCode(const std::string& code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string NewRecoveryCode() {
  // 80 random bits as 16 base32 characters, shown in groups of four: xxxx-xxxx-xxxx-xxxx.
  std::string raw = totp::Base32Encode(crypto::RandomBytes(10));
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(raw[i])));
  }
  return out;
}

bool IsSixDigits(const std::string& code) {
  if (code.size() != static_cast<size_t>(totp::kDigits)) return false;
  for (char c : code) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string QrSvg(const std::string& text) {
  std::unique_ptr<QRcode, void (*)(QRcode*)> qr(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), QRcode_free);
  if (!qr) return "";
  const int quiet = 4, size = qr->width + 2 * quiet;
  std::string path;
  for (int y = 0; y < qr->width; ++y) {
    for (int x = 0; x < qr->width; ++x) {
      if (qr->data[y * qr->width + x] & 1) {
        path += "M" + std::to_string(x + quiet) + "," + std::to_string(y + quiet) + "h1v1h-1z";
      }
    }
  }
  std::string n = std::to_string(size);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + n + " " + n +
         "\" shape-rendering=\"crispEdges\"><rect width=\"" + n + "\" height=\"" + n +
         "\" fill=\"#fff\"/><path fill=\"#000\" d=\"" + path + "\"/></svg>";
}

Result<TotpEnrolment> Mfa::Start(const Principal& p) {
  TotpState t{p.user.id, crypto::RandomBytes(kSecretBytes), false, 0, clock_.Now()};
  auto started = store_.Write([&](WriteTx& tx) -> Status {
    auto user = tx.LockUser(p.user.id);
    if (!user) return Error::NotFound("user");
    if (user->mfa_enabled || tx.TotpOf(p.user.id).value_or(TotpState{}).confirmed) {
      return Error::Conflict("mfa_already_enabled", "Two-factor authentication is already on.");
    }
    tx.PutPendingTotp(t);
    AppendAudit(tx, p, {"", "mfa.enrollment_started", "user", p.user.id, p.user.email, "", "{}"},
                t.created_at);
    return {};
  });
  if (!started.ok()) return started.error();
  TotpEnrolment e;
  e.secret = totp::Base32Encode(t.secret);
  e.otpauth_uri = "otpauth://totp/Gatehouse:" + validation::PercentEncode(p.user.email) + "?secret=" +
                  e.secret + "&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30";
  e.qr_svg = QrSvg(e.otpauth_uri);
  return e;
}

Status Mfa::Guess(const Principal& p, const std::function<Status()>& check) {
  LoginThrottle::Attempt attempt;
  if (int wait = throttle_.Begin(p.user.email, p.client.ip, clock_.Now(), attempt); wait > 0) {
    return TooManyAttempts("Too many wrong codes. Try again later.", wait);
  }
  Status st = check();
  if (st.ok()) {
    throttle_.Succeeded(attempt);
  } else if (st.error().code != "invalid_code") {
    throttle_.Withdrawn(attempt);  // nothing was guessed (not enrolled, …)
  }
  return st;
}

Result<std::vector<std::string>> Mfa::Confirm(const Principal& p, const std::string& code) {
  std::vector<std::string> codes, hashes;
  for (int i = 0; i < kRecoveryCodes; ++i) {
    codes.push_back(NewRecoveryCode());
    hashes.push_back(crypto::Sha256Hex(NormalizeRecoveryCode(codes.back())));
  }
  auto confirmed = Guess(p, [&] { return store_.Write([&](WriteTx& tx) -> Status {
    if (!tx.LockUser(p.user.id)) return Error::NotFound("user");
    auto t = tx.TotpOf(p.user.id);
    if (!t || t->confirmed) {
      return Error::Conflict("mfa_not_pending",
                             t ? "Two-factor authentication is already on."
                               : "Start enrolment first (POST /v1/me/mfa/totp).");
    }
    UnixTime now = clock_.Now();
    auto step = IsSixDigits(code) ? totp::Match(t->secret, code, now, t->last_step) : std::nullopt;
    if (!step) {
      return Error::Invalid("invalid_code", "code",
                            "The code is not valid. Enter the 6 digits your app shows now.");
    }
    if (!tx.UseTotpStep(p.user.id, *step)) {
      return Error::Invalid("invalid_code", "code", "This code was already used.");
    }
    tx.ConfirmTotp(p.user.id, hashes);
    AppendAudit(tx, p, {"", "mfa.enabled", "user", p.user.id, p.user.email, "",
                        R"({"method":"totp"})"},
                now);
    ForgetAfterCommit(tx, p.user.id);
    return {};
  }); });
  if (!confirmed.ok()) return confirmed.error();
  return codes;
}

Status Mfa::Disable(const Principal& p, const std::string& code) {
  return Guess(p, [&] { return store_.Write([&](WriteTx& tx) -> Status {
    if (!tx.LockUser(p.user.id)) return Error::NotFound("user");
    auto t = tx.TotpOf(p.user.id);
    if (!t || !t->confirmed) {
      return Error::Conflict("mfa_not_enabled", "Two-factor authentication is not on.");
    }
    UnixTime now = clock_.Now();
    // A wrong code rolls back and consumes nothing; a right one is used up with the rest.
    if (!UseSecondFactorIn(tx, p.user.id, code, now)) {
      return Error::Invalid("invalid_code", "code",
                            "The code is not valid. Enter a current code or a recovery code.");
    }
    tx.DeleteTotp(p.user.id);
    AppendAudit(tx, p, {"", "mfa.disabled", "user", p.user.id, p.user.email, "", "{}"}, now);
    ForgetAfterCommit(tx, p.user.id);
    return {};
  }); });
}

void Mfa::ForgetAfterCommit(WriteTx& tx, const std::string& user_id) {
  tx.AfterCommit([this, user_id] { cache_.ForgetUser(user_id); });
}

bool Mfa::UseSecondFactorIn(WriteTx& tx, const std::string& user_id, const std::string& code,
                            UnixTime now) {
  auto t = tx.TotpOf(user_id);
  if (!t || !t->confirmed || code.empty() || code.size() > 64) return false;
  if (IsSixDigits(code)) {
    auto step = totp::Match(t->secret, code, now, t->last_step);
    return step && tx.UseTotpStep(user_id, *step);
  }
  return tx.UseRecoveryCode(user_id, crypto::Sha256Hex(NormalizeRecoveryCode(code)), now);
}

bool Mfa::UseSecondFactor(Store& store, const std::string& user_id, const std::string& code,
                          UnixTime now) {
  if (code.empty() || code.size() > 64) return false;
  return store.Write([&](WriteTx& tx) { return UseSecondFactorIn(tx, user_id, code, now); });
}

}  // namespace gh
