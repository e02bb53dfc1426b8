#pragma once
// Helpers for the data tests: a self-removing temporary folder and an IDX file writer.

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace unlearn::test_util {

/// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("unlearn-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
             std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

/// The bytes of an IDX file: magic 00 00 <type> <ndims>, big-endian dims, then `data`.
inline std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims,
                                      const std::vector<uint8_t>& data, uint8_t type = 0x08) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

/// Writes `bytes` to `path`, gzip-compressed when `gz`.
inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes,
                        bool gz = false) {
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("cannot create " + path);
    const int wrote =
        bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    if (wrote != static_cast<int>(bytes.size())) throw std::runtime_error("gzwrite " + path);
    return;
  }
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// `n` images of h×w with pixel (i, r, c) = i*16 + r*w + c (mod 256), for checking layout.
inline std::vector<uint8_t> image_pixels(uint32_t n, uint32_t h, uint32_t w) {
  std::vector<uint8_t> px;
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t k = 0; k < h * w; ++k) px.push_back(static_cast<uint8_t>(i * 16 + k));
  }
  return px;
}

/// A complete IDX folder: `n_train` and `n_test` 2×3 images, labels i % classes.
inline void write_idx_dir(const TempDir& dir, uint32_t n_train, uint32_t n_test, bool gz,
                          int classes = 10) {
  const std::string ext = gz ? ".gz" : "";
  for (const auto& [split, n] : {std::pair<std::string, uint32_t>{"train", n_train},
                                 std::pair<std::string, uint32_t>{"t10k", n_test}}) {
    std::vector<uint8_t> labels;
    for (uint32_t i = 0; i < n; ++i) labels.push_back(static_cast<uint8_t>(i % classes));
    write_bytes(dir.file(split + "-images-idx3-ubyte" + ext),
                idx_bytes({n, 2, 3}, image_pixels(n, 2, 3)), gz);
    write_bytes(dir.file(split + "-labels-idx1-ubyte" + ext), idx_bytes({n}, labels), gz);
  }
}

}  // namespace unlearn::test_util
