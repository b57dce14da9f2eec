#include "core/permissions.h"

#include <initializer_list>

namespace gh::perm {

bool RoleGrants(std::string_view role, std::string_view permission) {
  auto any_of = [&](std::initializer_list<std::string_view> granted) {
    for (auto g : granted) {
      if (g == permission) return true;
    }
    return false;
  };
  if (role == "owner") return true;
  if (role == "admin") return any_of({kWorkspaceView, kWorkspaceEdit, kAuditLogView});
  if (role == "developer" || role == "viewer" || role == "member") {
    return any_of({kWorkspaceView});
  }
  return false;
}

}  // namespace gh::perm
