#pragma once
// A walk over a DICOM file's elements before GDCM reads it. Debian's GDCM is built with
// assertions: an element whose length runs past the end of the file, or with an invalid value
// representation, makes it abort (found by fuzzing), and a length of gigabytes in a file of a few
// hundred bytes makes it allocate that much. GDCM runs in a worker process (core/isolated_worker),
// so an abort no longer ends the tool; this walk still gives the precise message, and refuses the
// huge lengths before any allocation. Internal to data/.

#include <string>

namespace unlearn::dicom_detail {

/// "" when every element of the file meta group and of the data set (explicit VR little or big
/// endian, implicit VR little endian), including those inside sequences, their items and the
/// fragments of encapsulated pixel data, fits in the `bytes` of a Part 10 file, with a valid value
/// representation where it is explicit in the top-level data set, no sequence or undefined length
/// in the meta group, only items inside a sequence or encapsulated pixel data and none outside,
/// and a data set after the meta group; otherwise what does not, with its tag and offset. The walk
/// stops without complaint where the structure is beyond it (UN of undefined length, nesting over
/// 32 levels, a file ending inside an item) and does not look into deflated data sets.
std::string element_length_problem(const std::string& bytes);

}  // namespace unlearn::dicom_detail
