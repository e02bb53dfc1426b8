#pragma once
// A decoded DICOM read as bytes, so that it can come back from the worker process that runs GDCM
// (core/isolated_worker.h). Internal to data/.

#include <optional>
#include <string>

#include "unlearn/data/dicom.h"

namespace unlearn::dicom_detail {

/// The outcome of reading one file: its image, or none (an object without pixel data) with the
/// object's Modality.
std::string encode_read(const std::optional<DicomImage>& image, const std::string& modality);

/// encode_read's input again; throws Error when `bytes` is not what encode_read wrote.
std::optional<DicomImage> decode_read(const std::string& bytes, std::string& modality);

}  // namespace unlearn::dicom_detail
