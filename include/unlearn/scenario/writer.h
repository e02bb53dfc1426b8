#pragma once
// Writes a data set as a folder that `folder:` (PNG) or `dicom:` reads back, so that generated
// scenarios go through the same readers as a hospital's own exports.

#include <map>
#include <string>

#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"

namespace unlearn {

struct ImageFolderOptions {
  std::string format = "png";  // "png" or "dicom"
  bool force = false;          // replace an existing output folder
  /// DICOM only: metadata columns written as tags (column → keyword) instead of CSV columns.
  std::map<std::string, std::string> dicom_tags;
  /// DICOM only: an integer year column that also sets StudyDate (YYYY0101).
  std::string year_column;
};

/// Writes OUT/classes.txt, OUT/labels.csv (path, label, split and every metadata column but id
/// and source) and OUT/<split>/<row>.png|.dcm for the train, test and (when not empty)
/// validation parts. The folder is built under a temporary name and renamed at the end, so a
/// failure leaves no half-written output; an existing OUT is replaced only with `force`.
void write_image_folder(const DataBundle& bundle, const std::string& out,
                        const ImageFolderOptions& options, Observer& observer);

}  // namespace unlearn
