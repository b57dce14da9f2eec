// CSV (RFC 4180) both ways. Reading: what people export from spreadsheets (bulk
// invitations). Writing: CRLF rows, fields quoted when they hold a comma, quote or line break,
// made safe to open in a spreadsheet: a cell that begins with = + - or @ (or a tab or carriage
// return) would be read as a formula, so it gets a leading ' and quotes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gh {

// Splits RFC 4180 CSV (quotes, doubled quotes, CRLF or LF, a UTF-8 BOM) into rows of fields.
// nullopt when a quoted field is not closed.
std::optional<std::vector<std::vector<std::string>>> ParseCsv(const std::string& text);

// Appends one field, quoted and neutralised as needed (no separator).
void AppendCsvField(std::string& out, std::string_view value);

// Appends a whole row: fields separated by commas, ended by CRLF.
template <typename Range>
void AppendCsvRow(std::string& out, const Range& fields) {
  bool first = true;
  for (const auto& f : fields) {
    if (!first) out += ',';
    first = false;
    AppendCsvField(out, f);
  }
  out += "\r\n";
}

}  // namespace gh
