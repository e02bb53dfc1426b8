#pragma once
// Parser for NumPy's .npy array format (versions 1.0, 2.0 and 3.0), as found inside .npz files.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace unlearn {

/// The element types parse_npy accepts. Complex, float16, strings, objects and structured dtypes
/// are refused.
enum class NpyType {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kFloat32,
  kFloat64
};

/// One decoded .npy array: C-order elements in the machine's byte order.
struct NpyArray {
  std::string descr;  // as written in the header, e.g. "<i8", "|u1"
  NpyType type = NpyType::kUInt8;
  int64_t itemsize = 1;        // bytes per element
  std::vector<int64_t> shape;  // {} for a scalar
  std::vector<uint8_t> data;   // numel() * itemsize bytes, native byte order
  std::string where;           // what parse_npy was told it was reading, for later messages

  int64_t numel() const;
  bool is_integer() const;  // int8..int64 or uint8..uint64 (not bool)

  /// The array as a CPU tensor of the matching dtype. uint16/32/64 become int64 (LibTorch has no
  /// wider unsigned types); a uint64 value above INT64_MAX throws FormatError.
  torch::Tensor to_tensor() const;
};

/// Parses the bytes of one .npy file. `where` names it in messages, e.g.
/// "data.npz: member train_images.npy". Throws FormatError naming `where`, the header field and
/// the byte offset for a bad magic string, an unknown version, a header longer than the bytes, a
/// malformed header dict, an unsupported 'descr', 'fortran_order' True, or a data length that
/// does not match 'shape'.
NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& where);

}  // namespace unlearn
