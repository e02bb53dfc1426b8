// DICOM files through GDCM: header, tags and pixel data.
#include "fuzz_input.h"
#include "unlearn/core/error.h"
#include "unlearn/data/dicom.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  unlearn::fuzz::InputFile file(data, size, ".dcm");
  try {
    if (unlearn::is_dicom_file(file.path())) {
      const auto image = unlearn::read_dicom_image(file.path());
      unlearn::display_uint8(image);
    }
  } catch (const unlearn::Error&) {
  }
  return 0;
}
