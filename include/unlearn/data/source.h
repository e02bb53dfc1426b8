#pragma once
// Resolves a --data text to a DataBundle.

#include <cstdint>
#include <string>

#include "unlearn/data/dataset.h"

namespace unlearn {

/// Reader settings that come from command-line flags rather than from the --data text.
struct DataOptions {
  /// For multi-label arrays (ChestMNIST's N×K labels): the label column to use; -1 = refuse.
  int64_t label_index = -1;
  /// DICOM multi-frame images: every frame becomes a sample (true), or only the middle one.
  bool all_frames = false;
  /// Square side that decoded images (folder, DICOM) are resized to; 0 = the first image's size.
  int64_t image_size = 0;
  /// DICOM folders: refuse an object without pixel data (a structured report, an RT structure
  /// set, a DICOMDIR...) instead of skipping it with a note.
  bool strict_dicom = false;
};

/// Loads the data source named by `spec`:
///  - "fashion-mnist": $UNLEARN_DATA if set, else /usr/share/datasets/fashion-mnist;
///  - "idx:DIR" (class names taken as Fashion-MNIST's if the folder looks like it, else digits);
///  - "cifar10:DIR", "npz:FILE" (MedMNIST), "folder:DIR" or "folder:FILE.csv", "dicom:DIR";
///  - an existing path, recognised by its content: a folder of IDX files, of CIFAR-10 batches,
///    of DICOM files, or with labels.csv / train/; a .npz file; a .csv sample sheet.
/// Throws InvalidArgument for an unknown scheme, IoError/FormatError for unreadable files.
DataBundle load_data(const std::string& spec, const DataOptions& options = {});

}  // namespace unlearn
