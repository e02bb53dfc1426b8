#pragma once
// Reader for the binary version of CIFAR-10 (cifar-10-binary.tar.gz, unpacked).

#include <string>
#include <vector>

#include "unlearn/data/dataset.h"

namespace unlearn {

/// Reads `DIR/data_batch_1.bin` .. `data_batch_5.bin` (train, in that order) and
/// `DIR/test_batch.bin`, or the same files in `DIR/cifar-10-batches-bin/`. Each record is one
/// label byte (0..9) and 3072 pixel bytes: the 32×32 red plane, then green, then blue, row-major;
/// they become N×3×32×32 uint8 images. Class names come from `batches.meta.txt` beside the batches
/// (one per line, blank lines skipped; it must list ten), else cifar10_classes().
/// Metadata: `id` = "train-i" (numbered across the five batches) / "test-i", `source` = the batch
/// file the row came from. Throws IoError naming a missing or unreadable file, FormatError naming
/// the file and byte offset of a cut-short record or an out-of-range label.
DataBundle read_cifar10_dir(const std::string& dir);

/// CIFAR-10's ten class names, in label order ("airplane" .. "truck").
const std::vector<std::string>& cifar10_classes();

}  // namespace unlearn
