// Replays the saved inputs of the fuzz targets (tests/fuzz/corpus/<target>/) without libFuzzer,
// so every test run, the sanitizer run included, re-checks each input that once crashed.
// CMake compiles each fuzz_<target>.cpp with LLVMFuzzerTestOneInput renamed to
// fuzz_target_<target>, so all of them live in this one binary.
//
//   fuzz_replay TARGET CORPUS_DIR

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#define UNLEARN_FUZZ_TARGETS(X) \
  X(idx) X(npy) X(npz) X(csv) X(dicom) X(selection) X(selection_grammar) X(model)

#define UNLEARN_DECLARE(name) extern "C" int fuzz_target_##name(const uint8_t* data, size_t size);
UNLEARN_FUZZ_TARGETS(UNLEARN_DECLARE)

namespace {

using Target = int (*)(const uint8_t*, size_t);

Target find_target(const char* name) {
#define UNLEARN_MATCH(target) \
  if (std::strcmp(name, #target) == 0) return fuzz_target_##target;
  UNLEARN_FUZZ_TARGETS(UNLEARN_MATCH)
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  const Target target = argc == 3 ? find_target(argv[1]) : nullptr;
  if (target == nullptr) {
    std::fprintf(
        stderr,
        "usage: fuzz_replay idx|npy|npz|csv|dicom|selection|selection_grammar|model CORPUS_DIR\n");
    return 2;
  }
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  for (const auto& entry : fs::directory_iterator(argv[2])) {
    if (entry.is_regular_file()) inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end());
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    target(bytes.data(), bytes.size());
  }
  std::printf("%s: %zu inputs replayed\n", argv[1], inputs.size());
  return inputs.empty() ? 1 : 0;
}
