// .npz reader: a zip archive of .npy arrays, through libzip.
#include "fuzz_input.h"
#include "unlearn/core/error.h"
#include "unlearn/data/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  unlearn::fuzz::InputFile file(data, size, ".npz");
  try {
    unlearn::read_npz(file.path());
  } catch (const unlearn::Error&) {
  }
  return 0;
}
