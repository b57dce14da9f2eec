// The bulk-invitation CSV reader. Beyond not crashing: the rows it returns, written back as
// fully quoted CSV, read back to the same rows.
#include <cstdint>
#include <string>

#include "core/csv.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto rows = gh::ParseCsv(text);
  if (!rows) return 0;
  std::string again;
  for (const auto& row : *rows) {
    FUZZ_CHECK(!row.empty());
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) again += ',';
      again += '"';
      for (char c : row[i]) again += c == '"' ? std::string("\"\"") : std::string(1, c);
      again += '"';
    }
    again += "\r\n";
  }
  auto reread = gh::ParseCsv(again);
  FUZZ_CHECK(reread && *reread == *rows);
  return 0;
}
