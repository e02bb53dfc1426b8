#pragma once
// Reader for NumPy .npz archives in the MedMNIST layout.

#include <string>
#include <vector>

#include "unlearn/data/dataset.h"
#include "unlearn/data/source.h"

namespace unlearn {

/// Reads a MedMNIST-style .npz (a zip of .npy members, stored or deflated). Members:
/// `train_images`, `train_labels`, `test_images`, `test_labels` (required) and `val_images`,
/// `val_labels` (optional, into DataBundle::validation), each named `<key>.npy`.
///  - images: uint8, (N,H,W) -> N×1×H×W or (N,H,W,3) -> N×3×H×W;
///  - labels: any integer type, (N,) or (N,1); multi-label (N,K) only with
///    `options.label_index` = the column to use;
///  - class names: `<path without .npz>.classes.txt`, else `classes.txt` next to it (one name per
///    line), else "0".."K-1" with K = 1 + the largest label of all parts.
/// Metadata: `id` = "train-i" / "val-i" / "test-i", `source` = `path`.
/// Throws IoError when the file cannot be opened, FormatError naming the file and member for a
/// non-zip file, a missing member (listing those present) or a malformed array, and
/// InvalidArgument for multi-label data without a usable `label_index`.
DataBundle read_npz(const std::string& path, const DataOptions& options = {});

/// The names of the members of the zip archive at `path`, in archive order.
std::vector<std::string> npz_members(const std::string& path);

}  // namespace unlearn
