// .npy parser (the arrays inside MedMNIST .npz files).
#include <vector>

#include "fuzz_input.h"
#include "unlearn/core/error.h"
#include "unlearn/data/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    unlearn::parse_npy(std::vector<uint8_t>(data, data + size), "fuzz.npy");
  } catch (const unlearn::Error&) {
  }
  return 0;
}
