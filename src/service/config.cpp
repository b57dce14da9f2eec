#include "service/config.h"

#include <cstdlib>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

namespace gh {
namespace {

Error ConfigError(const std::string& message) {
  return {ErrorKind::kInvalid, "invalid_config", message, {}};
}

// A URL with its password masked: postgres://u:secret@h/db -> postgres://u:***@h/db.
std::string MaskUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

template <typename T>
Status Read(const toml::table& t, const char* key, T& out, const std::string& file) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (auto v = n->value<T>()) {
    out = *v;
    return {};
  }
  return ConfigError(file + ":" + std::to_string(n->source().begin.line) + ": '" + key +
                     "' has the wrong type");
}

Status ReadStrings(const toml::table& t, const char* key, std::vector<std::string>& out,
                   const std::string& file) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  const toml::array* arr = n->as_array();
  if (!arr) {
    return ConfigError(file + ":" + std::to_string(n->source().begin.line) + ": '" + key +
                       "' must be an array of strings");
  }
  out.clear();
  for (const auto& item : *arr) {
    auto s = item.value<std::string>();
    if (!s) {
      return ConfigError(file + ":" + std::to_string(item.source().begin.line) + ": '" + key +
                         "' must hold only strings");
    }
    out.push_back(*s);
  }
  return {};
}

Status ApplyFile(Config& c, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return ConfigError(path + ":" + std::to_string(e.source().begin.line) + ": " +
                       std::string(e.description()));
  }
  static const char* kKnown[] = {"listen", "db", "public_url", "smtp", "mail_from", "preset",
                                 "geoip_db", "threads", "trusted_proxies", "session", "login",
                                 "invitations", "mail", "argon2", "regions",
                                 "default_region", "plans", "default_plan",
                                 "default_subscription_status", "limits", "webhooks"};
  for (const auto& [key, node] : t) {
    bool known = false;
    for (const char* k : kKnown) known = known || key.str() == k;
    if (!known) {
      return ConfigError(path + ":" + std::to_string(node.source().begin.line) +
                         ": unknown key '" + std::string(key.str()) + "'");
    }
  }
  Status st;
  auto chain = [&](Status s) {
    if (st.ok() && !s.ok()) st = s;
  };
  chain(Read(t, "listen", c.listen, path));
  chain(Read(t, "db", c.db, path));
  chain(Read(t, "public_url", c.public_url, path));
  chain(Read(t, "smtp", c.smtp, path));
  chain(Read(t, "mail_from", c.mail_from, path));
  chain(Read(t, "preset", c.preset, path));
  chain(Read(t, "geoip_db", c.geoip_db, path));
  int64_t threads = c.threads;
  chain(Read(t, "threads", threads, path));
  c.threads = static_cast<int>(threads);
  chain(ReadStrings(t, "regions", c.regions, path));
  chain(ReadStrings(t, "trusted_proxies", c.trusted_proxies, path));
  chain(Read(t, "default_region", c.default_region, path));
  chain(Read(t, "default_plan", c.default_plan, path));
  chain(Read(t, "default_subscription_status", c.default_subscription_status, path));
  auto read_int = [&](const toml::table* sub, const char* key, int& out) {
    if (!sub) return;
    int64_t v = out;
    chain(Read(*sub, key, v, path));
    out = static_cast<int>(v);
  };
  const toml::table* invitations = t["invitations"].as_table();
  read_int(invitations, "expiry_days", c.invitation_days);
  const toml::table* mail = t["mail"].as_table();
  read_int(mail, "give_up_hours", c.mail_give_up_hours);
  if (const toml::table* webhooks = t["webhooks"].as_table()) {
    for (const auto& [key, node] : *webhooks) {
      std::string k(key.str());
      if (k != "retry_seconds" && k != "allow_private_networks" && k != "concurrency") {
        return ConfigError(path + ":" + std::to_string(node.source().begin.line) +
                           ": unknown key 'webhooks." + k + "'");
      }
    }
    chain(Read(*webhooks, "allow_private_networks", c.webhook_allow_private_networks, path));
    read_int(webhooks, "concurrency", c.webhook_concurrency);
    if (const toml::array* retry = (*webhooks)["retry_seconds"].as_array()) {
      c.webhook_retry_seconds.clear();
      for (const auto& item : *retry) {
        auto v = item.value<int64_t>();
        if (!v || *v < 0 || *v > 7 * 86400 || c.webhook_retry_seconds.size() >= 20) {
          return ConfigError(path + ":" + std::to_string(item.source().begin.line) +
                             ": webhooks.retry_seconds holds at most 20 waits of 0..604800 s");
        }
        c.webhook_retry_seconds.push_back(*v);
      }
    }
    if (c.webhook_concurrency < 1 || c.webhook_concurrency > 64) {
      return ConfigError(path + ": webhooks.concurrency must be 1..64");
    }
  }
  const toml::table* session = t["session"].as_table();
  read_int(session, "idle_days", c.session_idle_days);
  read_int(session, "absolute_days", c.session_absolute_days);
  const toml::table* login = t["login"].as_table();
  read_int(login, "max_failures_per_account", c.login_max_failures_per_account);
  read_int(login, "max_failures_per_ip", c.login_max_failures_per_ip);
  read_int(login, "failure_window_seconds", c.login_failure_window_seconds);
  if (const toml::table* limits = t["limits"].as_table()) {
    Limits& l = c.limits;
    const std::pair<const char*, int*> keys[] = {
        {"signups_per_ip_per_hour", &l.signups_per_ip_per_hour},
        {"password_resets_per_ip_per_hour", &l.password_resets_per_ip_per_hour},
        {"password_resets_per_account_per_hour", &l.password_resets_per_account_per_hour},
        {"verification_mails_per_account_per_hour", &l.verification_mails_per_account_per_hour},
        {"workspaces_per_account", &l.workspaces_per_account},
        {"invitation_mails_per_workspace_per_hour", &l.invitation_mails_per_workspace_per_hour},
        {"invitation_resends_per_invitation_per_day",
         &l.invitation_resends_per_invitation_per_day},
        {"invitation_resend_cooldown_seconds", &l.invitation_resend_cooldown_seconds},
        {"host_events_per_workspace_per_minute", &l.host_events_per_workspace_per_minute},
        {"notification_events_per_workspace_per_hour",
         &l.notification_events_per_workspace_per_hour},
        {"new_ips_per_key_per_day", &l.new_ips_per_key_per_day},
        {"new_ips_per_publishable_key_per_day", &l.new_ips_per_publishable_key_per_day},
        {"publishable_key_verifies_per_minute", &l.publishable_key_verifies_per_minute},
        {"idempotency_keys_per_account_per_hour", &l.idempotency_keys_per_account_per_hour},
        {"sso_requests_per_ip_per_minute", &l.sso_requests_per_ip_per_minute},
        {"sso_failures_recorded_per_connection_per_hour",
         &l.sso_failures_recorded_per_connection_per_hour},
        {"scim_auth_failures_per_ip_per_minute", &l.scim_auth_failures_per_ip_per_minute},
        {"scim_requests_per_workspace_per_minute", &l.scim_requests_per_workspace_per_minute},
        {"scim_groups_per_workspace", &l.scim_groups_per_workspace},
        {"max_connections", &l.max_connections},
        {"header_timeout_seconds", &l.header_timeout_seconds},
        {"idle_connection_seconds", &l.idle_connection_seconds},
    };
    for (const auto& [key, node] : *limits) {
      bool known = false;
      for (const auto& k : keys) known = known || key.str() == k.first;
      if (!known) {
        chain(ConfigError(path + ":" + std::to_string(node.source().begin.line) +
                          ": unknown key 'limits." + std::string(key.str()) + "'"));
      }
    }
    for (const auto& [key, out] : keys) read_int(limits, key, *out);
  }
  const toml::table* argon = t["argon2"].as_table();
  read_int(argon, "ops", c.argon2_ops);
  read_int(argon, "mem_kib", c.argon2_mem_kib);
  if (const toml::array* plans = t["plans"].as_array()) {
    c.plans.clear();
    for (const auto& item : *plans) {
      const toml::table* pt = item.as_table();
      if (!pt) {
        return ConfigError(path + ":" + std::to_string(item.source().begin.line) +
                           ": each [[plans]] entry must be a table");
      }
      Plan p;
      chain(Read(*pt, "id", p.id, path));
      chain(Read(*pt, "name", p.name, path));
      read_int(pt, "member_limit", p.member_limit);
      read_int(pt, "max_audit_retention_days", p.max_audit_retention_days);
      chain(ReadStrings(*pt, "features", p.features, path));
      if (p.id.empty()) {
        return ConfigError(path + ":" + std::to_string(item.source().begin.line) +
                           ": a plan needs an 'id'");
      }
      if (p.name.empty()) p.name = p.id;
      c.plans.push_back(p);
    }
  }
  return st;
}

void ApplyEnvironment(Config& c) {
  auto env = [](const char* name, std::string& out) {
    if (const char* v = std::getenv(name); v && *v) out = v;
  };
  env("GATEHOUSE_LISTEN", c.listen);
  env("GATEHOUSE_DB", c.db);
  env("GATEHOUSE_PUBLIC_URL", c.public_url);
  env("GATEHOUSE_SMTP", c.smtp);
  env("GATEHOUSE_MAIL_FROM", c.mail_from);
  env("GATEHOUSE_PRESET", c.preset);
  std::string proxies;
  env("GATEHOUSE_TRUSTED_PROXIES", proxies);
  if (!proxies.empty()) c.trusted_proxies = SplitCommaList(proxies);
  env("GATEHOUSE_GEOIP_DB", c.geoip_db);
  env("GATEHOUSE_WEB_DIR", c.web_dir);
}

}  // namespace

std::vector<std::string> SplitCommaList(const std::string& list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(pos, comma - pos);
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    pos = comma + 1;
  }
  return out;
}

std::vector<Cidr> Config::TrustedProxyRanges() const {
  std::vector<Cidr> out;
  for (const auto& p : trusted_proxies) {
    if (auto c = ParseCidr(p)) out.push_back(*c);
  }
  return out;
}

const Plan* Config::FindPlan(const std::string& id) const {
  for (const auto& p : plans) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

std::string Config::PublicUrl() const {
  if (!public_url.empty()) {
    std::string u = public_url;
    while (!u.empty() && u.back() == '/') u.pop_back();
    return u;
  }
  return "http://" + listen;
}

std::string Config::Describe() const {
  std::ostringstream o;
  o << "listen = " << listen << "\n"
    << "db = " << MaskUrl(db) << "\n"
    << "public_url = " << PublicUrl() << "\n"
    << "smtp = " << (smtp.empty() ? "(none: mail is kept in the store)" : MaskUrl(smtp)) << "\n"
    << "mail_from = " << mail_from << "\n"
    << "preset = " << preset << "\n"
    << "geoip_db = " << (geoip_db.empty() ? "off" : geoip_db) << "\n"
    << "config = " << (config_file.empty() ? "(none)" : config_file) << "\n"
    << "session = idle " << session_idle_days << "d, absolute " << session_absolute_days << "d\n"
    << "trusted proxies = ";
  if (trusted_proxies.empty()) o << "(none: X-Forwarded-For is ignored)";
  for (size_t i = 0; i < trusted_proxies.size(); ++i) o << (i ? ", " : "") << trusted_proxies[i];
  o << "\n"
    << "default plan = " << default_plan << " (" << default_subscription_status << ")\n";
  return o.str();
}

Status ValidateConfig(const Config& c) {
  if (c.plans.empty()) return ConfigError("at least one plan must be configured");
  if (!c.FindPlan(c.default_plan)) {
    return ConfigError("default_plan '" + c.default_plan + "' is not among the plans");
  }
  bool region_listed = false;
  for (const auto& r : c.regions) region_listed = region_listed || r == c.default_region;
  if (!region_listed) {
    return ConfigError("default_region '" + c.default_region + "' is not among the regions");
  }
  if (c.session_idle_days <= 0 || c.session_absolute_days < c.session_idle_days) {
    return ConfigError("session: idle_days must be > 0 and absolute_days >= idle_days");
  }
  if (c.argon2_ops < 1 || c.argon2_mem_kib < 8 * 1024) {
    return ConfigError("argon2: ops must be >= 1 and mem_kib >= 8192");
  }
  for (const auto& p : c.trusted_proxies) {
    if (!ParseCidr(p)) {
      return ConfigError("trusted_proxies: '" + p +
                         "' is not an IP address or a CIDR range with its host bits zero");
    }
  }
  const Limits& l = c.limits;
  for (int v : {l.signups_per_ip_per_hour, l.password_resets_per_ip_per_hour,
                l.password_resets_per_account_per_hour, l.verification_mails_per_account_per_hour,
                l.workspaces_per_account, l.invitation_mails_per_workspace_per_hour,
                l.invitation_resends_per_invitation_per_day,
                l.invitation_resend_cooldown_seconds, l.host_events_per_workspace_per_minute,
                l.notification_events_per_workspace_per_hour,
                l.new_ips_per_key_per_day, l.new_ips_per_publishable_key_per_day,
                l.publishable_key_verifies_per_minute, l.idempotency_keys_per_account_per_hour,
                l.sso_requests_per_ip_per_minute, l.sso_failures_recorded_per_connection_per_hour,
                l.scim_auth_failures_per_ip_per_minute, l.scim_requests_per_workspace_per_minute,
                l.scim_groups_per_workspace, l.max_connections}) {
    if (v < 0) return ConfigError("limits: values must be >= 0");
  }
  if (l.header_timeout_seconds < 1 || l.idle_connection_seconds < 1) {
    return ConfigError("limits: header_timeout_seconds and idle_connection_seconds must be >= 1");
  }
  if (c.preset.empty()) return ConfigError("preset must name a built-in preset or a .toml file");
  return {};
}

std::string ConfigFilePath(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("GATEHOUSE_CONFIG");
  return env ? env : "";
}

Result<Config> LoadConfig(const std::string& path, bool read_environment) {
  Config c;
  c.config_file = path;
  if (!path.empty()) {
    if (Status st = ApplyFile(c, path); !st.ok()) return st.error();
  }
  if (read_environment) ApplyEnvironment(c);
  return c;
}

}  // namespace gh
