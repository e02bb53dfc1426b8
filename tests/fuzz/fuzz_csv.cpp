// CSV sample sheets (RFC 4180) and the typing of their columns.
#include <string>

#include "fuzz_input.h"
#include "unlearn/core/error.h"
#include "unlearn/data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto table =
        unlearn::parse_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
    for (size_t c = 0; c < table.header.size(); ++c) {
      std::vector<std::string> values;
      for (const auto& row : table.rows) values.push_back(c < row.size() ? row[c] : "");
      unlearn::typed_column(table.header[c], values);
    }
  } catch (const unlearn::Error&) {
  }
  return 0;
}
