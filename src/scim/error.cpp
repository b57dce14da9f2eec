#include "scim/error.h"

#include <string>
#include <utility>

namespace gh::scim {

Json ErrorBody(int status, std::string_view scim_type, std::string_view detail) {
  Json body = {{"schemas", Json::array({kError})},
               {"status", std::to_string(status)},
               {"detail", std::string(detail)}};
  if (!scim_type.empty()) body["scimType"] = std::string(scim_type);
  return body;
}

Json ListResponse(std::vector<Json> resources, int64_t total, int64_t start_index) {
  const auto items = static_cast<int64_t>(resources.size());
  Json list = Json::array();
  for (auto& r : resources) list.push_back(std::move(r));
  return {{"schemas", Json::array({kListResponse})},
          {"totalResults", total},
          {"startIndex", start_index},
          {"itemsPerPage", items},
          {"Resources", std::move(list)}};
}

}  // namespace gh::scim
