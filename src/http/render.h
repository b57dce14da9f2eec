// Rendering of the domain records that several API areas answer with, the session cookie, and
// the paging parameter they share. Records only one area renders stay in its api_*.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "core/model.h"
#include "core/result.h"
#include "http/json_body.h"
#include "http/request.h"
#include "service/workspaces.h"

namespace gh::http {

struct App;

Json UserJson(const User& u);
Json WorkspaceJson(const WorkspaceView& v);
Json SessionJson(const Session& s, const std::string& current_session_id);
Json AuditEventJson(const AuditEvent& e);
// Set-Cookie value for a new session token (or an expired one to clear it).
std::string SessionCookie(const App& app, const std::string& token, int64_t max_age_seconds);

// The optional `limit` query parameter: 1..200, default 50; 422 `invalid_limit` otherwise.
Result<int> PageLimit(const Request& req);

}  // namespace gh::http
