#pragma once
// A walk over a DICOM file's top-level elements before GDCM reads it. Debian's GDCM is built
// with assertions: an element whose length runs past the end of the file, or with an invalid
// value representation, makes it abort the process (found by fuzzing) instead of failing the
// read. Internal to data/.

#include <string>

namespace unlearn::dicom_detail {

/// "" when every top-level element of the file meta group and of the data set (in explicit or
/// implicit VR little endian) fits in the `bytes` of a Part 10 file, with a valid value
/// representation where it is explicit, no sequence or undefined length in the meta group, and a
/// data set after it; otherwise what does not, with its tag and offset. The walk stops, without
/// complaint, at the first element of undefined length (a sequence or encapsulated pixel data) and
/// in data sets in another transfer syntax (big endian, deflated), which GDCM reads without this
/// problem.
std::string element_length_problem(const std::string& bytes);

}  // namespace unlearn::dicom_detail
