#pragma once
// SHA-256 digests (OpenSSL) of files and memory, as lower-case hex.

#include <torch/types.h>

#include <cstddef>
#include <string>

namespace unlearn {

/// Incremental SHA-256.  Example: Sha256 h; h.update(p, n); std::string hex = h.hex();
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  void update(const std::string& text) { update(text.data(), text.size()); }
  /// Adds a tensor's shape, dtype and bytes (made contiguous on the CPU).
  void update(const torch::Tensor& tensor);
  /// Finishes and returns the digest; the object must not be updated afterwards.
  std::string hex();

 private:
  void* context_;  // EVP_MD_CTX*
};

/// Digest of a whole file; throws IoError naming it when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace unlearn
