// CSV as people export it from spreadsheets (bulk invitations).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gh {

// Splits RFC 4180 CSV (quotes, doubled quotes, CRLF or LF, a UTF-8 BOM) into rows of fields.
// nullopt when a quoted field is not closed.
std::optional<std::vector<std::vector<std::string>>> ParseCsv(const std::string& text);

}  // namespace gh
