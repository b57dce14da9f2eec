// Permission ids and the built-in roles that grant them. The team issue replaces this table
// with catalogues loaded from presets/; the ids used by routes stay the same.
#pragma once

#include <string_view>

namespace gh::perm {

inline constexpr std::string_view kWorkspaceView = "workspace.view";
inline constexpr std::string_view kWorkspaceEdit = "workspace.edit";
inline constexpr std::string_view kWorkspaceDelete = "workspace.delete";
inline constexpr std::string_view kAuditLogView = "audit_log.view";

// Whether a built-in role grants a permission.
bool RoleGrants(std::string_view role, std::string_view permission);

}  // namespace gh::perm
