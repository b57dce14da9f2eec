#include "core/catalogue.h"

namespace gh {
namespace {

Error Broken(std::string message) {
  return {ErrorKind::kInvalid, "invalid_catalogue", std::move(message), {}};
}

}  // namespace

Status Catalogue::Compile() {
  permission_ids_.clear();
  index_.clear();
  resolved_.clear();
  if (id.empty()) return Broken("the catalogue needs an 'id'");
  for (const auto& c : categories) {
    if (c.id.empty()) return Broken("a category needs an 'id'");
    for (const auto& p : c.permissions) {
      if (p.id.empty()) return Broken("a permission of category '" + c.id + "' has no 'id'");
      if (index_.count(p.id)) return Broken("permission '" + p.id + "' is listed twice");
      if (permission_ids_.size() == kMaxPermissions) {
        return Broken("a catalogue holds at most " + std::to_string(kMaxPermissions) +
                      " permissions");
      }
      index_[p.id] = permission_ids_.size();
      permission_ids_.push_back(p.id);
    }
  }
  if (roles.empty()) return Broken("the catalogue defines no roles");
  for (size_t i = 0; i < roles.size(); ++i) {
    Role& r = roles[i];
    if (r.id.empty()) return Broken("a role needs an 'id'");
    if (r.id.rfind("role_", 0) == 0) return Broken("built-in role ids must not start with role_");
    for (size_t j = 0; j < i; ++j) {
      if (roles[j].id == r.id) return Broken("role '" + r.id + "' is defined twice");
    }
    r.permissions.reset();
    for (const auto& p : r.permission_ids) {
      if (p == "*") {
        for (size_t b = 0; b < permission_ids_.size(); ++b) r.permissions.set(b);
        continue;
      }
      auto it = index_.find(p);
      if (it == index_.end()) {
        return Broken("role '" + r.id + "' names unknown permission '" + p + "'");
      }
      r.permissions.set(it->second);
    }
  }
  for (const auto& [system, target] : system_map) {
    if (index_.count(system)) {
      return Broken("system permission '" + system + "' is both defined and mapped");
    }
    if (!target.empty() && !index_.count(target)) {
      return Broken("system permission '" + system + "' maps to unknown permission '" + target +
                    "'");
    }
  }
  for (auto sp : kSystemPermissions) {
    if (!index_.count(std::string(sp)) && !system_map.count(std::string(sp))) {
      return Broken("the catalogue neither defines nor maps Gatehouse's permission '" +
                    std::string(sp) + "'");
    }
  }
  auto need_role = [&](const std::string& role, const char* what) -> Status {
    if (!FindRole(role)) return Broken(std::string(what) + " '" + role + "' is not a role");
    return {};
  };
  if (Status st = need_role(creator_role, "creator_role"); !st.ok()) return st;
  if (!owner_role.empty()) {
    if (Status st = need_role(owner_role, "owner_role"); !st.ok()) return st;
  }
  if (Status st = need_role(default_invite_role, "default_invite_role"); !st.ok()) return st;
  for (const auto& r : invite_roles) {
    if (Status st = need_role(r, "invite_roles entry"); !st.ok()) return st;
  }
  for (const auto& [perm, bit] : index_) resolved_[perm] = bit;
  for (const auto& [system, target] : system_map) {
    resolved_[system] = target.empty() ? std::nullopt : std::optional<size_t>(index_.at(target));
  }
  if (!Invitable(default_invite_role)) {
    return Broken("default_invite_role '" + default_invite_role + "' is not invitable");
  }
  return {};
}

std::optional<size_t> Catalogue::Resolve(std::string_view permission) const {
  auto it = resolved_.find(absl::string_view(permission.data(), permission.size()));
  return it == resolved_.end() ? std::nullopt : it->second;
}

bool Catalogue::Knows(std::string_view permission) const {
  return resolved_.contains(absl::string_view(permission.data(), permission.size()));
}

const Catalogue::Role* Catalogue::FindRole(std::string_view role_id) const {
  for (const auto& r : roles) {
    if (r.id == role_id) return &r;
  }
  return nullptr;
}

Result<Catalogue::Set> Catalogue::SetOf(const std::vector<std::string>& ids) const {
  Set s;
  for (const auto& p : ids) {
    auto it = index_.find(p);
    if (it == index_.end()) {
      return Error::Invalid("unknown_permission", "permissions",
                            "Unknown permission '" + p + "'.");
    }
    s.set(it->second);
  }
  return s;
}

std::vector<std::string> Catalogue::Ids(const Set& set) const {
  std::vector<std::string> out;
  for (size_t b = 0; b < permission_ids_.size(); ++b) {
    if (set.test(b)) out.push_back(permission_ids_[b]);
  }
  return out;
}

bool Catalogue::Invitable(std::string_view role_id) const {
  const Role* r = FindRole(role_id);
  if (!r || !r->invitable || (!owner_role.empty() && role_id == owner_role)) return false;
  if (invite_roles.empty()) return true;
  for (const auto& allowed : invite_roles) {
    if (allowed == role_id) return true;
  }
  return false;
}

}  // namespace gh
