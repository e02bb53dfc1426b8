// The selection-expression parser.
#include <string>

#include "unlearn/core/error.h"
#include "unlearn/select/selection.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    unlearn::Selection::parse(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const unlearn::Error&) {
  }
  return 0;
}
