// DICOM files through GDCM: header, tags and pixel data. Each input is read three times:
//  1. in a worker process, only to learn whether GDCM aborts on it (its assertions);
//  2. unless it did, in this process, where the fuzzer sees the coverage and the sanitizers the
//     memory errors of GDCM and of our decoding;
//  3. as the tool reads it (GDCM in read_dicom_image's worker), which must give the same image
//     or the same error as 2, or, after an abort in 1, a FormatError.
#include <signal.h>

#include <cstring>
#include <optional>
#include <string>

#include "fuzz_input.h"
#include "unlearn/core/error.h"
#include "unlearn/core/isolated_worker.h"
#include "unlearn/data/dicom.h"

namespace {

/// The image (read where `isolation` says) shown for display, or the error's message.
struct Outcome {
  std::optional<unlearn::DicomImage> image;
  std::string error;
};

Outcome read(const std::string& path, unlearn::DicomIsolation isolation) {
  Outcome out;
  try {
    out.image = unlearn::read_dicom_image(path, isolation);
    unlearn::display_uint8(*out.image);
  } catch (const unlearn::Error& e) {
    out.image.reset();
    out.error = e.what();
  }
  return out;
}

bool same_pixels(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() &&
         (a.numel() == 0 ||
          std::memcmp(a.contiguous().data_ptr(), b.contiguous().data_ptr(), a.nbytes()) == 0);
}

/// True when GDCM (or our code) aborts on the file: an assertion, not a memory error, which the
/// sanitizers report by exiting instead.
bool aborts_in_a_worker(const std::string& path) {
  static unlearn::IsolatedWorker worker([](const std::string& file) {
    read(file, unlearn::DicomIsolation::this_process);
    return std::string();
  });
  try {
    worker.ask(path);
  } catch (const unlearn::WorkerDied& died) {
    return died.signal() == SIGABRT;
  } catch (const unlearn::Error&) {
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  unlearn::fuzz::InputFile file(data, size, ".dcm");
  if (!unlearn::is_dicom_file(file.path())) return 0;
  const bool aborts = aborts_in_a_worker(file.path());
  const Outcome as_tool_reads = read(file.path(), unlearn::DicomIsolation::worker_process);
  if (aborts) {
    if (as_tool_reads.image ||
        as_tool_reads.error.find("GDCM could not read it") == std::string::npos) {
      __builtin_trap();  // the tool must refuse what aborts GDCM
    }
    return 0;
  }
  const Outcome here = read(file.path(), unlearn::DicomIsolation::this_process);
  const bool agree =
      here.error == as_tool_reads.error &&
      here.image.has_value() == as_tool_reads.image.has_value() &&
      (!here.image || (here.image->photometric == as_tool_reads.image->photometric &&
                       here.image->tags == as_tool_reads.image->tags &&
                       same_pixels(here.image->pixels, as_tool_reads.image->pixels)));
  if (!agree) __builtin_trap();  // the worker's answer must be the image read here
  return 0;
}
