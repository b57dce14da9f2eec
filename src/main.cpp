// gatehouse: the command line. serve, migrate, mail list, notifications send-digests, audit;
// --help everywhere.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "core/audit_chain.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/key_format.h"
#include "core/time.h"
#include "http/routes.h"
#include "http/server.h"
#include "jobs/audit_retention.h"
#include "jobs/bookkeeper.h"
#include "jobs/lifecycle.h"
#include "jobs/mail_worker.h"
#include "jobs/webhook_worker.h"
#include "jobs/periodic_thread.h"
#include "service/audit.h"
#include "service/audit_export.h"
#include "service/config.h"
#include "service/geoip.h"
#include "service/presets.h"
#include "store/store.h"

namespace {

struct Flags {
  std::string config_file;
  std::string listen, db, public_url, smtp, mail_from, preset, web_dir, geoip_db;
  std::string trusted_proxies;
  int threads = 0;
};

// Adds the flags that every subcommand touching the store or server shares.
void AddStoreFlags(CLI::App* cmd, Flags& f) {
  cmd->add_option("--db", f.db,
                  "Store URL: sqlite:./data/gatehouse.db or postgres://user@host:port/db "
                  "[env GATEHOUSE_DB]");
  cmd->add_option("--config", f.config_file, "TOML configuration file [env GATEHOUSE_CONFIG]");
}

gh::Config LoadOrExit(const Flags& f) {
  auto cfg = gh::LoadConfig(gh::ConfigFilePath(f.config_file));
  if (!cfg) {
    std::fprintf(stderr, "gatehouse: %s\n", cfg.error().message.c_str());
    std::exit(2);
  }
  gh::Config c = std::move(*cfg);
  // Flags beat the environment, which beats the file.
  if (!f.listen.empty()) c.listen = f.listen;
  if (!f.db.empty()) c.db = f.db;
  if (!f.public_url.empty()) c.public_url = f.public_url;
  if (!f.smtp.empty()) c.smtp = f.smtp;
  if (!f.mail_from.empty()) c.mail_from = f.mail_from;
  if (!f.preset.empty()) c.preset = f.preset;
  if (!f.geoip_db.empty()) c.geoip_db = f.geoip_db;
  if (!f.web_dir.empty()) c.web_dir = f.web_dir;
  if (f.threads > 0) c.threads = f.threads;
  if (!f.trusted_proxies.empty()) c.trusted_proxies = gh::SplitCommaList(f.trusted_proxies);
  if (auto st = gh::ValidateConfig(c); !st.ok()) {
    std::fprintf(stderr, "gatehouse: invalid configuration: %s\n", st.error().message.c_str());
    std::exit(2);
  }
  return c;
}

std::unique_ptr<gh::Store> OpenOrExit(const gh::Config& c) {
  try {
    return gh::OpenStore(c.db);
  } catch (const gh::StoreError& e) {
    std::fprintf(stderr, "gatehouse: %s\n", e.what());
    std::exit(1);
  }
}

int RunServe(const Flags& f) {
  gh::Config config = LoadOrExit(f);
  std::fprintf(stderr, "gatehouse %s starting with:\n%s", GATEHOUSE_VERSION,
               config.Describe().c_str());
  auto catalogue = gh::LoadCatalogue(config.preset);
  if (!catalogue) {
    std::fprintf(stderr, "gatehouse: %s\n", catalogue.error().message.c_str());
    return 2;
  }
  std::fprintf(stderr, "preset: %s (%zu permissions, %zu roles)\n", catalogue->id.c_str(),
               catalogue->size(), catalogue->roles.size());
  auto store = OpenOrExit(config);
  std::fprintf(stderr, "store: %s, schema version %d\n", store->Backend().c_str(),
               store->SchemaVersion());
  std::string geoip_status;
  auto geoip = gh::GeoIp::Open(config.geoip_db == "off" ? "" : config.geoip_db, &geoip_status);
  std::fprintf(stderr, "geoip: %s\n", geoip_status.c_str());
  gh::http::App app(*store, config, *catalogue, geoip.get(), GATEHOUSE_VERSION);
  gh::http::AddAllRoutes(app);
  app.web = gh::http::WebAssets(config.web_dir.empty() ? GATEHOUSE_WEB_DIR : config.web_dir);
  if (app.web.Available()) {
    std::fprintf(stderr, "dashboard: %s\n", app.web.dir().c_str());
  } else {
    std::fprintf(stderr, "dashboard: not served (no index.html in %s; `make web` builds it)\n",
                 app.web.dir().c_str());
  }
  auto load_started = std::chrono::steady_clock::now();
  app.key_index.Load(*store);
  std::fprintf(stderr, "api keys: %zu secrets indexed in %lld ms\n", app.key_index.size(),
               static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - load_started)
                                          .count()));
  // Every background job, started here in this order and stopped in reverse once the server
  // has finished its requests (the bookkeeper's stop writes what is still in memory).
  gh::MailWorker mail(*store, config, app.mail);
  gh::WebhookWorker webhooks(app.webhooks, app.notifications, config.webhook_concurrency);
  gh::AuditRetentionJob retention(app.audit);
  gh::PeriodicThread idempotency_purge("idempotency keys purge", std::chrono::hours(1), [&] {
    gh::http::PurgeIdempotencyKeys(*store, gh::Clock::System().Now());
  });
  // Session activity, key usage and first uses, every second at idle priority.
  gh::Bookkeeper bookkeeper([&app](bool everything) {
    app.accounts.FlushActivity();
    app.key_usage.Flush(everything);
  });
  // Other processes' key changes, every second at normal priority: a revocation elsewhere
  // must not wait for an idle core.
  gh::PeriodicThread key_refresh("key index refresh", std::chrono::seconds(1),
                                 [&app] { app.key_sync.Refresh(); },
                                 gh::PeriodicThread::First::kAfterPeriod);
  // Password reset requests, handled off the request path so that the answer's timing says
  // nothing about whether the address is registered (PasswordReset::Request); woken by each,
  // at idle priority so that the work a registered address causes (a link, an event, a mail)
  // never takes a core from the request that asked for it.
  gh::PeriodicThread reset_requests("password reset requests", std::chrono::seconds(10),
                                    [&app] { app.password_reset.ProcessRequests(); },
                                    gh::PeriodicThread::First::kAtOnce,
                                    gh::PeriodicThread::Priority::kIdle);
  app.password_reset.Subscribe([&reset_requests] { reset_requests.Wake(); });
  gh::Lifecycle jobs;
  jobs.Add("mail delivery", mail);
  jobs.Add("password reset requests", reset_requests);
  jobs.Add("audit retention", retention);
  jobs.Add("idempotency keys purge", idempotency_purge);
  jobs.Add("bookkeeping", bookkeeper);
  jobs.Add("key index refresh", key_refresh);
  jobs.Add("webhook delivery", webhooks);
  jobs.StartAll();
  gh::http::ServerOptions opts;
  opts.listen = config.listen;
  opts.threads = config.threads;
  opts.max_connections = config.limits.max_connections;
  opts.header_timeout_seconds = config.limits.header_timeout_seconds;
  opts.idle_timeout_seconds = config.limits.idle_connection_seconds;
  opts.trusted_proxies = config.TrustedProxyRanges();
  opts.on_listening = [&](const std::string& url) {
    // With --listen …:0 the port is known only now; links in mail must use it.
    if (config.public_url.empty()) config.public_url = url;
    std::printf("Gatehouse is listening on %s\n", url.c_str());
    std::fflush(stdout);
  };
  int rc = gh::http::Serve(app, opts);
  jobs.StopAll();
  app.password_reset.Unsubscribe();
  std::fprintf(stderr, "gatehouse stopped\n");
  return rc;
}

int RunMigrate(const Flags& f) {
  gh::Config config = LoadOrExit(f);
  try {
    auto [from, to] = gh::MigrateStore(config.db);
    std::printf("schema version %d -> %d%s\n", from, to, from == to ? " (up to date)" : "");
  } catch (const gh::StoreError& e) {
    std::fprintf(stderr, "gatehouse: %s\n", e.what());
    return 1;
  }
  return 0;
}

int RunMailList(const Flags& f, int limit) {
  gh::Config config = LoadOrExit(f);
  auto store = OpenOrExit(config);
  auto mail = store->Mail(limit);
  if (mail.empty()) {
    std::printf("no mail\n");
    return 0;
  }
  for (const auto& m : mail) {
    std::printf("--- %s  %s  [%s]\nTo: %s\nSubject: %s\n\n%s\n", m.id.c_str(),
                gh::FormatRfc3339(m.created_at).c_str(),
                std::string(gh::ToString(m.status)).c_str(), m.to.c_str(), m.subject.c_str(),
                m.body_text.c_str());
  }
  return 0;
}

// Dispatches what waits on the event bus, then queues every pending daily digest now and
// delivers them when an SMTP server is configured (the server also sends digests by itself at
// 09:00 in each workspace's time zone).
int RunSendDigests(const Flags& f) {
  gh::Config config = LoadOrExit(f);
  auto catalogue = gh::LoadCatalogue(config.preset);
  if (!catalogue) {
    std::fprintf(stderr, "gatehouse: %s\n", catalogue.error().message.c_str());
    return 2;
  }
  auto store = OpenOrExit(config);
  gh::IdentityCache identities;
  gh::Access access(*store, *catalogue, identities);
  gh::MailOutbox mail(config);
  gh::Notifications notifications(*store, config, access, mail);
  while (notifications.Dispatch() > 0) {
  }
  int sent = notifications.SendDigests(true);
  std::printf("queued %d digest%s\n", sent, sent == 1 ? "" : "s");
  // Delivered now when an SMTP server is configured (a running server's mail worker would
  // within a second; the claim on each message makes sure one of them sends it).
  if (sent > 0 && !config.smtp.empty()) {
    gh::MailWorker worker(*store, config, mail);
    worker.RunOnce();
  }
  return 0;
}

// Adds `count` members with the preset's default invite role to a workspace, for benchmarks.
// They get an unusable password (a hash of random bytes), so nobody can sign in as them.
int RunSeedMembers(const Flags& f, const std::string& workspace_id, int count) {
  gh::Config config = LoadOrExit(f);
  auto catalogue = gh::LoadCatalogue(config.preset);
  if (!catalogue) {
    std::fprintf(stderr, "gatehouse: %s\n", catalogue.error().message.c_str());
    return 2;
  }
  auto store = OpenOrExit(config);
  if (!store->WorkspaceById(workspace_id)) {
    std::fprintf(stderr, "gatehouse: no workspace %s\n", workspace_id.c_str());
    return 1;
  }
  gh::UnixTime now = gh::Clock::System().Now();
  std::string unusable = "!" + gh::crypto::Hex(gh::crypto::RandomBytes(16));
  auto tx = store->Begin();
  for (int i = 0; i < count; ++i) {
    gh::User u;
    u.id = gh::NewId("usr");
    u.email = "seed-" + u.id.substr(4) + "@example.com";
    u.name = "Seed Member " + std::to_string(i + 1);
    u.password_hash = unusable;
    u.created_at = now;
    u.updated_at = now;
    if (auto st = tx->InsertUser(u); !st.ok()) return 1;
    tx->InsertMembership({gh::NewId("mem"), workspace_id, u.id, catalogue->default_invite_role,
                          now + i});
  }
  tx->Commit();
  std::printf("added %d members to %s\n", count, workspace_id.c_str());
  return 0;
}

// Adds `count` secret keys (no limits) to a workspace and writes them, one per line, to
// `out`: the verification benchmark's key set.
int RunSeedKeys(const Flags& f, const std::string& workspace_id, int count, const std::string& out) {
  gh::Config config = LoadOrExit(f);
  auto store = OpenOrExit(config);
  auto ws = store->WorkspaceById(workspace_id);
  if (!ws) {
    std::fprintf(stderr, "gatehouse: no workspace %s\n", workspace_id.c_str());
    return 1;
  }
  auto members = store->Members(workspace_id);
  if (members.empty()) return 1;
  FILE* file = std::fopen(out.c_str(), "w");
  if (!file) {
    std::fprintf(stderr, "gatehouse: cannot write %s\n", out.c_str());
    return 1;
  }
  gh::UnixTime now = gh::Clock::System().Now();
  for (int done = 0; done < count;) {
    auto tx = store->Begin();
    for (int i = 0; i < 10000 && done < count; ++i, ++done) {
      gh::ApiKey k;
      k.id = gh::NewId("key");
      k.workspace_id = workspace_id;
      k.owner_id = members.front().user.id;
      k.name = "Seed key " + std::to_string(done + 1);
      std::string secret = gh::NewApiKey(gh::KeyType::kSecret, gh::KeyEnvironment::kLive);
      k.hash = gh::crypto::Sha256Hex(secret);
      k.prefix = gh::KeyDisplayPrefix(secret);
      k.created_at = now;
      k.updated_at = now;
      tx->InsertApiKey(k);
      std::fprintf(file, "%s\n", secret.c_str());
    }
    tx->Commit();
  }
  std::fclose(file);
  std::printf("added %d keys to %s\n", count, workspace_id.c_str());
  return 0;
}

struct AuditFlags {
  std::string workspace;
  std::string format = "csv";
  std::string out;
  gh::AuditFilterInput filter;
  std::string actor, action, project_id, target, from, to;
  std::string before;
};

// Exports one workspace's audit log (unredacted: the CLI runs with the store's credentials)
// to stdout or --out, and records the export like the API does.
int RunAuditExport(const Flags& f, AuditFlags a) {
  gh::Config config = LoadOrExit(f);
  auto store = OpenOrExit(config);
  auto opt = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional(s); };
  a.filter = {opt(a.actor), opt(a.action), opt(a.project_id), opt(a.target), opt(a.from),
              opt(a.to)};
  auto filter = gh::AuditLog::ParseFilter(a.workspace, a.filter);
  if (!filter) {
    std::fprintf(stderr, "gatehouse: --%s: %s\n", filter.error().field.c_str(),
                 filter.error().message.c_str());
    return 2;
  }
  if (a.format != "csv" && a.format != "jsonl") {
    std::fprintf(stderr, "gatehouse: --format must be csv or jsonl\n");
    return 2;
  }
  FILE* out = stdout;
  if (!a.out.empty() && a.out != "-") {
    out = std::fopen(a.out.c_str(), "wb");
    if (!out) {
      std::fprintf(stderr, "gatehouse: cannot write %s\n", a.out.c_str());
      return 1;
    }
  }
  gh::AuditExporter exporter(*store, *filter,
                             a.format == "csv" ? gh::AuditExporter::Format::kCsv
                                               : gh::AuditExporter::Format::kJsonl,
                             /*redact=*/false);
  bool progress = isatty(STDERR_FILENO);
  std::string chunk;
  bool more = true;
  while (more) {
    more = exporter.Next(chunk);
    if (!chunk.empty() && std::fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size()) {
      std::fprintf(stderr, "gatehouse: write failed\n");
      return 1;
    }
    if (progress) {
      std::fprintf(stderr, "\rexporting %s: %lld events", a.workspace.c_str(),
                   static_cast<long long>(exporter.rows()));
    }
  }
  if (progress) std::fprintf(stderr, "\n");
  if (out != stdout) std::fclose(out);
  std::fflush(stdout);
  nlohmann::json filter_json = nlohmann::json::object();
  for (auto [k, v] : {std::pair{"actor", a.filter.actor}, {"action", a.filter.action},
                      {"project_id", a.filter.project_id}, {"target", a.filter.target},
                      {"from", a.filter.from}, {"to", a.filter.to}}) {
    if (v) filter_json[k] = *v;
  }
  gh::Principal cli;
  cli.client.user_agent = std::string("gatehouse-cli/") + GATEHOUSE_VERSION;
  gh::AuditLog(*store).RecordExport(cli, a.workspace, a.format, filter_json.dump(),
                                    exporter.rows());
  return 0;
}

int RunAuditVerify(const Flags& f, const std::string& workspace) {
  gh::Config config = LoadOrExit(f);
  auto store = OpenOrExit(config);
  gh::AuditVerification v = gh::AuditLog(*store).Verify(workspace);
  if (v.valid) {
    std::printf("valid: %lld events checked\n", static_cast<long long>(v.checked));
    return 0;
  }
  std::printf("BROKEN at %s (%s) after %lld events checked\n",
              v.first_invalid_id.empty() ? "(no event)" : v.first_invalid_id.c_str(),
              v.reason.c_str(), static_cast<long long>(v.checked));
  return 1;
}

// Runs retention once: every workspace by its audit_retention_days, or one chain up to
// --before.
int RunAuditPurge(const Flags& f, const std::string& workspace, const std::string& before) {
  gh::Config config = LoadOrExit(f);
  auto store = OpenOrExit(config);
  gh::AuditLog audit(*store);
  int64_t n = 0;
  if (!before.empty()) {
    auto cutoff = gh::ParseRfc3339(before);
    if (!cutoff || workspace.empty()) {
      std::fprintf(stderr, "gatehouse: --before takes an RFC 3339 time and needs --workspace\n");
      return 2;
    }
    n = audit.PurgeChain(workspace, *cutoff);
  } else {
    n = audit.PurgeExpired();
  }
  std::printf("deleted %lld events\n", static_cast<long long>(n));
  return 0;
}

// Generates `events` audit events spread over `workspaces` new workspaces (or appended to
// `existing`) through the store's batch append path, for benchmarks.
int RunSeedAudit(const Flags& f, int64_t events, int workspaces, int batch,
                 const std::string& existing) {
  gh::Config config = LoadOrExit(f);
  auto store = OpenOrExit(config);
  gh::UnixTime now = gh::Clock::System().Now();
  std::vector<std::string> ids;
  if (!existing.empty()) {
    if (!store->WorkspaceById(existing)) {
      std::fprintf(stderr, "gatehouse: no workspace %s\n", existing.c_str());
      return 1;
    }
    ids.push_back(existing);
    workspaces = 1;
  } else {
    auto tx = store->Begin();
    for (int i = 0; i < workspaces; ++i) {
      gh::Workspace w;
      w.id = gh::NewId("ws");
      w.name = "Seed Audit " + std::to_string(i + 1);
      w.region = "us-east-1";
      w.plan = "enterprise";
      w.audit_retention_days = 2555;
      w.created_at = now;
      w.updated_at = now;
      tx->InsertWorkspace(w);
      ids.push_back(w.id);
    }
    tx->Commit();
  }
  static const char* kActions[] = {"member.invited", "member.removed", "api_key.created",
                                    "api_key.revoked", "project.updated", "logs.viewed",
                                    "report.exported", "routing_rules.updated"};
  std::vector<std::string> actors;
  for (int i = 0; i < 50; ++i) actors.push_back(gh::NewId("usr"));
  auto started = std::chrono::steady_clock::now();
  int64_t done = 0;
  uint64_t rnd = 88172645463325252ull;
  auto next = [&rnd] {
    rnd ^= rnd << 13;
    rnd ^= rnd >> 7;
    rnd ^= rnd << 17;
    return rnd;
  };
  // Spread over the last 300 days, oldest first, so that time filters have something to cut.
  gh::UnixTime span = 300 * 86400;
  while (done < events) {
    for (const auto& ws : ids) {
      if (done >= events) break;
      int64_t n = std::min<int64_t>(batch, events - done);
      auto tx = store->Begin();
      std::string prev = tx->LockAuditChain(ws);
      std::vector<gh::AuditEvent> out(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        gh::AuditEvent& e = out[static_cast<size_t>(i)];
        e.id = gh::NewTimeOrderedId("evt");
        e.workspace_id = ws;
        e.occurred_at = now - span + (done + i) * span / std::max<int64_t>(events, 1);
        e.action = kActions[next() % 8];
        e.actor_type = gh::ActorType::kUser;
        e.actor_id = actors[next() % actors.size()];
        e.actor_name = "Seed User";
        e.actor_email = "seed-" + e.actor_id.substr(4, 6) + "@example.com";
        e.target_type = "member";
        e.target_id = actors[next() % actors.size()];
        e.project_id = next() % 3 == 0 ? "prj_seed" + std::to_string(next() % 5) : "";
        e.ip = "203.0.113." + std::to_string(next() % 250);
        e.user_agent = "seed-audit/1.0";
        e.details_json = R"({"seed":true})";
        e.prev_hash = prev;
        e.hash = gh::AuditEventHash(e);
        prev = e.hash;
      }
      tx->AppendAuditEvents(out);
      tx->Commit();
      done += n;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("appended %lld events to %d workspaces in %.2f s (%.0f events/s)\n",
              static_cast<long long>(done), workspaces, secs, secs > 0 ? done / secs : 0.0);
  for (size_t i = 0; i < ids.size() && i < 3; ++i) std::printf("workspace %s\n", ids[i].c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Gatehouse: teams, roles, API keys and audit for B2B products", "gatehouse"};
  app.set_version_flag("--version", std::string("gatehouse ") + GATEHOUSE_VERSION);
  app.require_subcommand(1);
  Flags f;

  auto* serve = app.add_subcommand("serve", "Run the HTTP server (migrates the store first)");
  serve->add_option("--listen", f.listen, "Address to listen on [env GATEHOUSE_LISTEN]")
      ->default_str("127.0.0.1:8080");
  AddStoreFlags(serve, f);
  serve->add_option("--public-url", f.public_url,
                    "Base URL people reach this server at [env GATEHOUSE_PUBLIC_URL]");
  serve->add_option("--smtp", f.smtp,
                    "SMTP server smtp://host:port; without it mail is kept in the store "
                    "[env GATEHOUSE_SMTP]");
  serve->add_option("--mail-from", f.mail_from, "Sender address [env GATEHOUSE_MAIL_FROM]");
  serve->add_option("--preset", f.preset,
                    "Permission preset: four-role or admin-member [env GATEHOUSE_PRESET]");
  serve->add_option("--geoip-db", f.geoip_db,
                    "GeoIP country database for sign-in locations: a directory with GeoIP.dat / "
                    "GeoIPv6.dat or one such file, or \"off\" (default /usr/share/GeoIP, "
                    "Debian's geoip-database) [env GATEHOUSE_GEOIP_DB]");
  serve->add_option("--threads", f.threads, "I/O threads (default: one per core)");
  serve->add_option("--trusted-proxies", f.trusted_proxies,
                    "Comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is "
                    "believed, e.g. 10.0.0.0/8,127.0.0.1 (default: none, X-Forwarded-For is "
                    "ignored) [env GATEHOUSE_TRUSTED_PROXIES]");
  serve->add_option("--web-dir", f.web_dir,
                    "Directory of the dashboard's build output (default: web/dist of the "
                    "source tree) [env GATEHOUSE_WEB_DIR]");

  auto* migrate = app.add_subcommand("migrate", "Bring the store's schema up to date");
  AddStoreFlags(migrate, f);

  auto* mail = app.add_subcommand("mail", "Mail kept in the store");
  mail->require_subcommand(1);
  auto* mail_list = mail->add_subcommand("list", "Print stored mail, newest first");
  AddStoreFlags(mail_list, f);
  int limit = 20;
  mail_list->add_option("--limit", limit, "How many messages")->check(CLI::Range(1, 1000));

  auto* notifications = app.add_subcommand("notifications", "Notification mail");
  notifications->require_subcommand(1);
  auto* send_digests = notifications->add_subcommand(
      "send-digests", "Send every pending daily digest now (the server sends them at 09:00)");
  AddStoreFlags(send_digests, f);
  send_digests->add_option("--smtp", f.smtp,
                           "SMTP server for the mail, as for serve (default: the configuration's) "
                           "[env GATEHOUSE_SMTP]");

  auto* dev = app.add_subcommand("dev", "Tools for development and benchmarks");
  dev->require_subcommand(1);
  auto* seed = dev->add_subcommand("seed-members", "Add placeholder members to a workspace");
  AddStoreFlags(seed, f);
  seed->add_option("--preset", f.preset, "Permission preset (for the members' role)");
  std::string seed_ws;
  int seed_count = 1000;
  seed->add_option("--workspace", seed_ws, "Workspace id (ws_…)")->required();
  seed->add_option("--count", seed_count, "How many members")->check(CLI::Range(1, 1000000));

  auto* seed_keys = dev->add_subcommand("seed-keys", "Add secret keys and write them to a file");
  AddStoreFlags(seed_keys, f);
  std::string keys_out = "keys.txt";
  seed_keys->add_option("--workspace", seed_ws, "Workspace id (ws_…)")->required();
  seed_keys->add_option("--count", seed_count, "How many keys")->check(CLI::Range(1, 10000000));
  seed_keys->add_option("--out", keys_out, "File for the keys, one per line");

  auto* audit = app.add_subcommand("audit", "The audit log: export, verify, retention");
  audit->require_subcommand(1);
  AuditFlags af;
  auto* audit_export = audit->add_subcommand("export", "Write a workspace's audit log, newest first");
  AddStoreFlags(audit_export, f);
  audit_export->add_option("--workspace", af.workspace, "Workspace id (ws_…)")->required();
  audit_export->add_option("--format", af.format, "csv or jsonl")->check(CLI::IsMember({"csv", "jsonl"}));
  audit_export->add_option("--out", af.out, "File to write (default: standard output)");
  audit_export->add_option("--actor", af.actor, "Only events of this actor id");
  audit_export->add_option("--action", af.action, "An action, or a noun followed by .*");
  audit_export->add_option("--project-id", af.project_id, "Only events of this project");
  audit_export->add_option("--target", af.target, "Only events on this target id");
  audit_export->add_option("--from", af.from, "From this RFC 3339 time (inclusive)");
  audit_export->add_option("--to", af.to, "Until this RFC 3339 time (exclusive)");
  auto* audit_verify = audit->add_subcommand("verify", "Recompute a workspace's hash chain");
  AddStoreFlags(audit_verify, f);
  audit_verify->add_option("--workspace", af.workspace, "Workspace id (ws_…)")->required();
  auto* audit_purge = audit->add_subcommand("purge", "Apply audit retention once");
  AddStoreFlags(audit_purge, f);
  audit_purge->add_option("--workspace", af.workspace, "Only this workspace (with --before)");
  audit_purge->add_option("--before", af.before,
                          "Delete this workspace's events older than this RFC 3339 time");

  auto* seed_audit = dev->add_subcommand("seed-audit", "Generate audit events through the batch path");
  AddStoreFlags(seed_audit, f);
  int64_t seed_events = 10000;
  int seed_workspaces = 10;
  int seed_batch = 1000;
  seed_audit->add_option("--events", seed_events, "How many events")->check(CLI::Range(int64_t{1}, int64_t{1000000000}));
  seed_audit->add_option("--workspaces", seed_workspaces, "Over how many new workspaces")->check(CLI::Range(1, 100000));
  seed_audit->add_option("--batch", seed_batch, "Events per transaction")->check(CLI::Range(1, 100000));
  std::string seed_audit_ws;
  seed_audit->add_option("--workspace", seed_audit_ws,
                         "Append to this existing workspace instead of creating new ones");

  CLI11_PARSE(app, argc, argv);
  if (*serve) return RunServe(f);
  if (*migrate) return RunMigrate(f);
  if (*mail_list) return RunMailList(f, limit);
  if (*send_digests) return RunSendDigests(f);
  if (*seed) return RunSeedMembers(f, seed_ws, seed_count);
  if (*seed_keys) return RunSeedKeys(f, seed_ws, seed_count, keys_out);
  if (*audit_export) return RunAuditExport(f, af);
  if (*audit_verify) return RunAuditVerify(f, af.workspace);
  if (*audit_purge) return RunAuditPurge(f, af.workspace, af.before);
  if (*seed_audit) return RunSeedAudit(f, seed_events, seed_workspaces, seed_batch, seed_audit_ws);
  return 0;
}
