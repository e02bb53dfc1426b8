#pragma once
// Resolves a --data text to a DataBundle.

#include <string>

#include "unlearn/data/dataset.h"

namespace unlearn {

/// Loads the data source named by `spec`:
///  - "fashion-mnist": $UNLEARN_DATA if set, else /usr/share/datasets/fashion-mnist;
///  - "idx:DIR" (class names taken as Fashion-MNIST's if the folder looks like it, else digits);
///  - a plain directory path holding IDX files.
/// Throws InvalidArgument for an unknown scheme, IoError/FormatError for unreadable files.
DataBundle load_data(const std::string& spec);

}  // namespace unlearn
