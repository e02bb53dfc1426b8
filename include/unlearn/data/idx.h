#pragma once
// Reader for the IDX format of MNIST and Fashion-MNIST, gzipped or plain.

#include <string>

#include "unlearn/data/dataset.h"

namespace unlearn {

/// Raw contents of one IDX file.
struct IdxArray {
  uint8_t type_code = 0;      // 0x08 = unsigned byte (the only type MNIST-style files use)
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;  // product(dims) bytes
};

/// Reads one IDX file (".gz" or plain, detected by content). Validates the magic number, the
/// element type, the dimensions and the length; throws FormatError naming the file and the byte
/// offset of the problem, IoError when the file cannot be opened.
IdxArray read_idx_file(const std::string& path);

/// Reads an image file (3 dims) and a label file (1 dim) into a Dataset with 1 channel.
/// Checks that both have the same count and that labels are < class_names.size().
/// `split_name` (e.g. "train") prefixes the ids: "train-0", "train-1", ...
Dataset read_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::vector<std::string>& class_names, const std::string& split_name);

/// Reads `DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`. Class names are those of
/// Fashion-MNIST when `fashion` is true, else the digits "0".."9".
DataBundle read_idx_dir(const std::string& dir, bool fashion);

/// As above, with explicit class names (e.g. from DIR/classes.txt).
DataBundle read_idx_dir(const std::string& dir, const std::vector<std::string>& class_names);

/// Fashion-MNIST's ten class names, in label order.
const std::vector<std::string>& fashion_mnist_classes();

}  // namespace unlearn
