// Who is asking, and from where: passed to every use case so that audit events can name
// the actor, the IP and the user agent.
#pragma once

#include <string>

#include "core/model.h"

namespace gh {

struct ClientInfo {
  std::string ip;
  std::string user_agent;
};

// An authenticated caller.
struct Principal {
  User user;
  std::string session_id;  // empty when authenticated by API key
  ClientInfo client;
  // Set when a secret API key authenticated the call: it acts as its owner, in its workspace.
  std::string api_key_id;
  std::string api_key_name;
  std::string api_key_workspace_id;
  // A session made by SSO: its connection, and the one workspace it is valid in.
  std::string sso_connection_id;
  std::string scope_workspace_id;
};

}  // namespace gh
