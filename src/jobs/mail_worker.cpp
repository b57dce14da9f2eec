#include "jobs/mail_worker.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/crypto.h"
#include "core/log.h"

namespace gh {
namespace {

constexpr UnixTime kLeaseSeconds = 120;

std::string Base64(std::string_view bytes) {
  std::string url = crypto::Base64Url(bytes);
  for (auto& c : url) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (url.size() % 4) url += '=';
  return url;
}

std::string Wrapped(const std::string& b64) {
  std::string out;
  for (size_t i = 0; i < b64.size(); i += 76) out += b64.substr(i, 76) + "\r\n";
  return out;
}

// "Name <addr@host>" -> "<addr@host>"; a bare address gets brackets.
std::string Envelope(const std::string& address) {
  size_t lt = address.find('<'), gt = address.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
    return address.substr(lt, gt - lt + 1);
  }
  return "<" + address + ">";
}

bool Ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
}

std::string HeaderText(const std::string& s) {
  return Ascii(s) ? s : "=?UTF-8?B?" + Base64(s) + "?=";
}

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadChunk(char* buffer, size_t size, size_t nitems, void* userp) {
  auto* up = static_cast<Upload*>(userp);
  size_t room = size * nitems;
  size_t left = up->data->size() - up->offset;
  size_t n = std::min(room, left);
  std::memcpy(buffer, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

}  // namespace

MailWorker::MailWorker(Store& store, const Config& config, MailOutbox& outbox,
                       const Clock& clock)
    : store_(store),
      config_(config),
      outbox_(outbox),
      clock_(clock),
      thread_("mail worker", std::chrono::seconds(1), [this] { RunOnce(); }) {
  static CurlGlobal init;
}

MailWorker::~MailWorker() { Stop(); }

void MailWorker::Start() {
  thread_.Start();
  outbox_.Subscribe([this] { Wake(); });
}

void MailWorker::Stop() {
  outbox_.Unsubscribe();
  thread_.Stop();
}

std::string MailWorker::Render(const MailMessage& m, const std::string& from) {
  std::string boundary = "gh-" + m.id;
  std::string msg;
  msg += "Date: " + FormatHttpDate(m.created_at) + "\r\n";
  msg += "From: " + HeaderText(from) + "\r\n";
  msg += "To: <" + m.to + ">\r\n";
  msg += "Subject: " + HeaderText(m.subject) + "\r\n";
  msg += "Message-ID: <" + m.id + "@gatehouse>\r\n";
  msg += "MIME-Version: 1.0\r\n";
  if (m.body_html.empty()) {
    msg += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    msg += Wrapped(Base64(m.body_text));
    return msg;
  }
  msg += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  msg += "--" + boundary + "\r\n";
  msg += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  msg += Wrapped(Base64(m.body_text));
  msg += "--" + boundary + "\r\n";
  msg += "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  msg += Wrapped(Base64(m.body_html));
  msg += "--" + boundary + "--\r\n";
  return msg;
}

std::string MailWorker::Send(const MailMessage& m) {
  CURL* curl = curl_easy_init();
  if (!curl) return "curl_easy_init failed";
  std::string message = Render(m, config_.mail_from);
  Upload up{&message};
  std::string from = Envelope(config_.mail_from);
  std::string to = "<" + m.to + ">";
  struct curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, config_.smtp.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadChunk);
  curl_easy_setopt(curl, CURLOPT_READDATA, &up);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc == CURLE_OK) return "";
  return errbuf[0] ? errbuf : curl_easy_strerror(rc);
}

int MailWorker::RunOnce() {
  UnixTime now = clock_.Now();
  if (config_.smtp.empty()) {
    for (auto& m : store_.DueMail(now, 100, MailStatus::kStored)) {
      if (m.attempts > 0) continue;
      bool mine = store_.Write([&](WriteTx& tx) {
        if (!tx.ClaimMail(m.id, now, INT64_MAX / 2)) return false;
        m.attempts = 1;
        m.next_attempt_at = INT64_MAX / 2;
        tx.RecordMailAttempt(m);
        return true;
      });
      if (!mine) continue;
      log::Info("mail stored (no SMTP server configured); read it with 'gatehouse mail list'",
                {{"mail_id", m.id}, {"to", m.to}});
    }
    std::fflush(stdout);
    return 0;
  }
  int delivered = 0;
  for (auto& m : store_.DueMail(now, 50)) {
    // The claim is a conditional write (the message is due and nobody leases it): of two
    // processes, one gets it.
    bool mine = store_.Write([&](WriteTx& tx) { return tx.ClaimMail(m.id, now, now + kLeaseSeconds); });
    if (!mine) continue;
    std::string error = Send(m);
    UnixTime after = clock_.Now();
    ++m.attempts;
    if (error.empty()) {
      m.status = MailStatus::kSent;
      m.sent_at = after;
      m.last_error.clear();
      ++delivered;
    } else {
      m.last_error = error.substr(0, 500);
      UnixTime backoff = std::min<UnixTime>(UnixTime{15} << std::min(m.attempts - 1, 8), 3600);
      m.next_attempt_at = after + backoff;
      if (after - m.created_at >= UnixTime{config_.mail_give_up_hours} * 3600) {
        m.status = MailStatus::kFailed;
      }
      log::Warn("mail delivery failed",
                {{"mail_id", m.id}, {"attempts", m.attempts}, {"status", ToString(m.status)}});
    }
    store_.Write([&](WriteTx& tx) { tx.RecordMailAttempt(m); });
  }
  return delivered;
}

}  // namespace gh
