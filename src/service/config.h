// Server configuration: defaults, overridden by a TOML file, then by GATEHOUSE_* environment
// variables, then by command-line flags (applied by main).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/net.h"
#include "core/result.h"

namespace gh {

struct Plan {
  std::string id;    // "free", "pro", "enterprise"
  std::string name;  // "Pro"
  int member_limit = 0;
  int max_audit_retention_days = 365;
  std::vector<std::string> features;
};

// What one client can make the server do, each as a count per window (0 turns a rate limit
// off). The TOML `[limits]` table; every key is listed in the README. Refusals are 429 with
// Retry-After, or silent where an answer must not reveal anything (password resets).
struct Limits {
  int signups_per_ip_per_hour = 20;
  int password_resets_per_ip_per_hour = 20;
  int password_resets_per_account_per_hour = 3;
  int verification_mails_per_account_per_hour = 5;
  int workspaces_per_account = 20;  // workspaces a user may own at once
  int invitation_mails_per_workspace_per_hour = 200;
  int invitation_resends_per_invitation_per_day = 5;
  int invitation_resend_cooldown_seconds = 60;
  int host_events_per_workspace_per_minute = 600;
  // Notifications the host raises per workspace an hour (each can mail every admin).
  int notification_events_per_workspace_per_hour = 120;
  // Distinct new client addresses per key that become `api_key.new_ip` events (and are
  // remembered) per day; further new addresses are still checked against the allowlist but
  // not recorded. Publishable keys are public: they record none by default.
  int new_ips_per_key_per_day = 20;
  int new_ips_per_publishable_key_per_day = 0;
  // Verifications per minute of a publishable key that sets no rate limit of its own.
  int publishable_key_verifies_per_minute = 600;
  // New Idempotency-Key answers kept per account an hour (each row lives 24 hours).
  int idempotency_keys_per_account_per_hour = 1000;
  // SSO starts and answers (authorize, ACS, OIDC callback) per client address a minute.
  int sso_requests_per_ip_per_minute = 60;
  // `sso.login_failed` events recorded per connection an hour; later failures are still
  // refused, only not written (the ACS is public: strangers must not fill the audit log).
  int sso_failures_recorded_per_connection_per_hour = 100;
  // SCIM requests refused for a missing, wrong or revoked token, per client address a minute:
  // then 429 (the token is a bearer secret; guessing must stay slow).
  int scim_auth_failures_per_ip_per_minute = 30;
  // SCIM requests per workspace a minute (a directory's full sync is far below it).
  int scim_requests_per_workspace_per_minute = 6000;
  // Directory groups a workspace keeps.
  int scim_groups_per_workspace = 1000;
  // Connections: 0 = derived from the descriptor limit (RLIMIT_NOFILE minus a reserve).
  int max_connections = 0;
  int header_timeout_seconds = 10;    // a request's headers must arrive within this
  int idle_connection_seconds = 60;   // keep-alive connections idle longer are closed
};

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string db = "sqlite:./data/gatehouse.db";
  std::string public_url;  // defaults to http://{listen}
  std::string smtp;        // smtp://host:port; empty keeps mail in the store
  std::string mail_from = "Gatehouse <gatehouse@localhost>";
  std::string preset = "four-role";
  std::string config_file;
  int threads = 0;  // 0: one per core
  // Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed. Empty: none, the
  // client's address is the socket's and X-Forwarded-For is ignored.
  std::vector<std::string> trusted_proxies;
  // GeoIP country database (Debian geoip-database): a directory with GeoIP.dat/GeoIPv6.dat
  // or one such file; "off" (or empty) for none. Missing files just mean unknown locations.
  std::string geoip_db = "/usr/share/GeoIP";
  std::string web_dir;  // the dashboard's build output; empty: web/dist of the source tree

  int invitation_days = 7;
  int mail_give_up_hours = 24;  // queued mail not delivered by then is marked failed
  // Webhook deliveries: the waits before each retry (then `failed`), whether endpoints may
  // resolve to loopback/private/link-local addresses, and attempts in flight per process.
  std::vector<int64_t> webhook_retry_seconds = {5, 300, 1800, 7200, 18000, 36000, 36000};
  bool webhook_allow_private_networks = false;
  int webhook_concurrency = 8;

  int session_idle_days = 14;
  int session_absolute_days = 90;

  // Login throttling: failures within the window before 429.
  int login_max_failures_per_account = 5;
  int login_max_failures_per_ip = 20;
  int login_failure_window_seconds = 900;

  Limits limits;

  // argon2id cost; OWASP's minimum is 19 MiB with t=2.
  int argon2_ops = 2;
  int argon2_mem_kib = 19 * 1024;

  std::vector<std::string> regions = {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1",
                                      "ap-southeast-1"};
  std::string default_region = "us-east-1";
  std::vector<Plan> plans = {
      {"free", "Free", 3, 365, {}},
      {"pro", "Pro", 25, 365, {"projects", "bulk_invitations"}},
      {"enterprise", "Enterprise", 1000, 2555,
       {"projects", "bulk_invitations", "custom_roles", "sso", "scim", "ip_allowlist"}},
  };
  std::string default_plan = "pro";
  std::string default_subscription_status = "trialing";

  const Plan* FindPlan(const std::string& id) const;
  // trusted_proxies parsed (ValidateConfig has checked them).
  std::vector<Cidr> TrustedProxyRanges() const;
  // public_url, or http://{listen} when unset.
  std::string PublicUrl() const;
  // The settings as `key = value` lines for the start-up log, secrets masked.
  std::string Describe() const;
};

// The configuration file to read: `flag` (--config) when given, else GATEHOUSE_CONFIG.
std::string ConfigFilePath(const std::string& flag);

// Reads the TOML file (when `path` is non-empty) over the defaults, then the environment.
// Errors name the file, the line and the key.
Result<Config> LoadConfig(const std::string& path, bool read_environment = true);

// "10.0.0.0/8, 127.0.0.1" -> {"10.0.0.0/8", "127.0.0.1"} (the form of the flag and of
// GATEHOUSE_TRUSTED_PROXIES). Empty items are dropped.
std::vector<std::string> SplitCommaList(const std::string& list);

// Checks cross-field rules (default plan exists, default region listed, …).
Status ValidateConfig(const Config& c);

}  // namespace gh
