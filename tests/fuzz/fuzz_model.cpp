// The model-file loader: a zip archive holding a spec and LibTorch-serialised weights.
#include <c10/util/Exception.h>

#include "fuzz_input.h"
#include "unlearn/core/error.h"
#include "unlearn/models/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  unlearn::fuzz::InputFile file(data, size, ".pt");
  try {
    unlearn::Model::load(file.path());
  } catch (const unlearn::Error&) {
  } catch (const c10::Error&) {
  }
  return 0;
}
