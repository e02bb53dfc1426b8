#pragma once
// The in-memory data set every reader produces and every algorithm consumes.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/data/metadata.h"

namespace unlearn {

/// Images decoded once into one contiguous uint8 tensor N×C×H×W, int64 labels N, the class
/// names, and a Metadata table with one row per sample.
struct Dataset {
  torch::Tensor images;  // uint8, N×C×H×W, contiguous
  torch::Tensor labels;  // int64, N
  std::vector<std::string> class_names;
  Metadata metadata;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }

  /// The samples at `indices` (int64 tensor), in that order, metadata included.
  Dataset subset(const torch::Tensor& indices) const;

  /// Throws FormatError if the tensors, names and metadata disagree in size or type.
  void validate(const std::string& where) const;
};

/// The train and test parts of one data source, read by the same reader.
struct DataBundle {
  std::string source;  // the --data text it was loaded from
  Dataset train;
  Dataset test;
  /// A validation part when the source has one (MedMNIST's val_*, a CSV's split == "val");
  /// otherwise empty (size() == 0). Never merged into train or test.
  Dataset validation;
  /// What the reader skipped or assumed, in words for the user (jobs print them); e.g. "skipped
  /// 3 DICOM objects without pixel data: SR 2, RTSTRUCT 1".
  std::vector<std::string> notes;
};

}  // namespace unlearn
