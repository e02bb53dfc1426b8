// IDX reader (gzip or plain): any bytes are either an array or an unlearn::Error.
#include "fuzz_input.h"
#include "unlearn/core/error.h"
#include "unlearn/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A gzip magic selects the gzip path, so both are reached from one corpus.
  unlearn::fuzz::InputFile file(data, size, "-idx");
  try {
    unlearn::read_idx_file(file.path());
  } catch (const unlearn::Error&) {
  }
  return 0;
}
