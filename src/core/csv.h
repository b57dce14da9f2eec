// CSV as RFC 4180 writes it (CRLF rows, fields quoted when they hold a comma, quote or line
// break), made safe to open in a spreadsheet: a cell that begins with = + - or @ (or a tab
// or carriage return) would be read as a formula, so it gets a leading ' and quotes.
#pragma once

#include <string>
#include <string_view>

namespace gh {

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
