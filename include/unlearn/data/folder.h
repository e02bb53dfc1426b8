#pragma once
// The `folder:` reader: PNG/JPEG files laid out in class subfolders, or listed in a CSV sample
// sheet with split, label and metadata columns (docs/formats.md, "Image folders").

#include <string>

#include "unlearn/data/dataset.h"
#include "unlearn/data/source.h"

namespace unlearn {

/// Reads an image folder. `spec_path` is one of
///  - a folder with `train/<class>/*.png|jpg|jpeg`, `test/<class>/...` and optionally
///    `val/<class>/...` (class names: the sorted names of train's subfolders; `id` = the path
///    relative to the folder);
///  - a CSV sample sheet, or a folder holding `labels.csv`, with the columns `path` (relative to
///    the sheet's folder, or absolute), `label` (class index or name), `split` (train, test or
///    val) and any further columns, which become typed metadata columns. Patient ID columns
///    (is_patient_column) become the column kPatientColumn holding patient_hash(value); the clear
///    IDs are not kept. An optional `classes.txt` beside the sheet names the classes.
/// Every image is converted to 1 channel, or 3 if any image has colour, and resized to
/// options.image_size squared (0: the first training image's height). `source` = the file read.
/// Throws FormatError naming the file (and the sheet's line) for anything malformed, IoError
/// for what cannot be read.
DataBundle read_folder(const std::string& spec_path, const DataOptions& options = {});

}  // namespace unlearn
