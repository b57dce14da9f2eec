#include "core/csv.h"

namespace gh {

std::optional<std::vector<std::vector<std::string>>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  bool quoted = false, field_started = false;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_row = [&] {
    end_field();
    bool blank = row.size() == 1 && row[0].empty();
    if (!blank) rows.push_back(std::move(row));
    row.clear();
  };
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      end_row();
      ++i;
    } else if (c == '\n' || c == '\r') {
      end_row();
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) return std::nullopt;
  if (!field.empty() || !row.empty() || field_started) end_row();
  return rows;
}


void AppendCsvField(std::string& out, std::string_view value) {
  bool formula = !value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' ||
                                    value[0] == '@' || value[0] == '\t' || value[0] == '\r');
  bool quote = formula;
  for (size_t i = 0; i < value.size() && !quote; ++i) {
    char c = value[i];
    quote = c == ',' || c == '"' || c == '\r' || c == '\n';
  }
  if (!quote) {
    out += value;
    return;
  }
  out += '"';
  if (formula) out += '\'';
  // Copies the runs between quotes whole, doubling each quote.
  size_t start = 0;
  for (size_t q; (q = value.find('"', start)) != std::string_view::npos; start = q + 1) {
    out.append(value.data() + start, q + 1 - start);
    out += '"';
  }
  out.append(value.data() + start, value.size() - start);
  out += '"';
}

}  // namespace gh
