#include "unlearn/data/idx.h"

#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <utility>

#include "unlearn/core/error.h"

namespace unlearn {

namespace {

namespace fs = std::filesystem;

constexpr uint8_t kTypeUnsignedByte = 0x08;
constexpr int kMaxDims = 4;
// No MNIST-style file comes near this; it keeps a corrupt header from asking for terabytes.
constexpr int64_t kMaxElements = int64_t{1} << 34;
// gzread takes an unsigned length; read in bounded chunks.
constexpr int64_t kChunk = int64_t{1} << 26;

/// An open gzFile that closes itself. gzopen reads plain files transparently.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      throw IoError(detail::concat("read_idx: cannot open ", path, ": it is a directory"));
    }
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      throw IoError(detail::concat("read_idx: cannot open ", path, ": ",
                                   errno != 0 ? std::strerror(errno) : "out of memory"));
    }
    gzbuffer(file_, 1u << 17);
  }
  ~GzReader() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  /// Reads up to `n` bytes into `out`; returns how many were read (fewer only at end of input).
  int64_t read(uint8_t* out, int64_t n) {
    int64_t total = 0;
    while (total < n) {
      const auto want = static_cast<unsigned>(std::min(kChunk, n - total));
      const int got = gzread(file_, out + total, want);
      if (got < 0) {
        int code = Z_OK;
        const char* msg = gzerror(file_, &code);
        if (code == Z_ERRNO) {
          throw IoError(
              detail::concat("read_idx: cannot read ", path_, ": ", std::strerror(errno)));
        }
        throw FormatError(detail::concat("read_idx: ", path_, ": corrupt gzip data after byte ",
                                         offset_ + total, " of the decompressed data: ", msg));
      }
      if (got == 0) break;
      total += got;
    }
    offset_ += total;
    return total;
  }

  /// True when the input ended in the middle of a gzip stream.
  bool stream_cut_short() {
    int code = Z_OK;
    gzerror(file_, &code);
    return code == Z_BUF_ERROR;
  }

  bool compressed() { return gzdirect(file_) == 0; }
  int64_t offset() const { return offset_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
  int64_t offset_ = 0;
};

std::string truncation_note(GzReader& in) {
  if (!in.compressed()) return "";
  return in.stream_cut_short() ? " (offsets count decompressed bytes; the gzip stream ends early)"
                               : " (offsets count decompressed bytes)";
}

[[noreturn]] void throw_truncated(GzReader& in, const std::string& path, int64_t start,
                                  int64_t expected, int64_t found, const char* what) {
  throw FormatError(detail::concat("read_idx: ", path, ": truncated at byte offset ", start + found,
                                   ": expected ", expected, " bytes of ", what, ", found ", found,
                                   truncation_note(in)));
}

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex_byte(uint8_t b) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

std::string basename_of(const std::string& path) { return fs::path(path).filename().string(); }

/// `dir/name.gz` if it exists, else `dir/name` if it exists; IoError naming both otherwise.
std::string find_idx_file(const std::string& dir, const std::string& name) {
  const fs::path base = fs::path(dir) / name;
  std::error_code ec;
  for (const fs::path& candidate : {fs::path(base.string() + ".gz"), base}) {
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  throw IoError(detail::concat("read_idx_dir: missing ", base.string(), "[.gz]"));
}

std::vector<std::string> digit_classes() {
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back(std::to_string(i));
  return names;
}

}  // namespace

IdxArray read_idx_file(const std::string& path) {
  GzReader in(path);
  IdxArray out;

  uint8_t magic[4];
  const int64_t got_magic = in.read(magic, 4);
  if (got_magic < 4) throw_truncated(in, path, 0, 4, got_magic, "magic number");
  if (magic[0] != 0 || magic[1] != 0) {
    throw FormatError(detail::concat(
        "read_idx: ", path, ": bad magic number at byte offset 0: ", hex_byte(magic[0]), " ",
        hex_byte(magic[1]), " (expected 0x00 0x00; is this an IDX file?)"));
  }
  out.type_code = magic[2];
  if (out.type_code != kTypeUnsignedByte) {
    throw FormatError(detail::concat("read_idx: ", path, ": unsupported element type ",
                                     hex_byte(out.type_code),
                                     " at byte offset 2 (expected 0x08, unsigned byte)"));
  }
  const int ndims = magic[3];
  if (ndims < 1 || ndims > kMaxDims) {
    throw FormatError(detail::concat("read_idx: ", path, ": ", ndims,
                                     " dimensions at byte offset 3 (expected 1 to ", kMaxDims,
                                     ")"));
  }

  std::vector<uint8_t> header(static_cast<size_t>(4 * ndims));
  const int64_t got_dims = in.read(header.data(), 4 * ndims);
  if (got_dims < 4 * ndims) throw_truncated(in, path, 4, 4 * ndims, got_dims, "dimensions");
  int64_t elements = 1;
  for (int d = 0; d < ndims; ++d) {
    const int64_t size = big_endian_u32(header.data() + 4 * d);
    if (size == 0) {
      throw FormatError(detail::concat("read_idx: ", path, ": dimension ", d,
                                       " is 0 at byte offset ", 4 + 4 * d));
    }
    if (size > kMaxElements / elements) {
      throw FormatError(detail::concat(
          "read_idx: ", path, ": dimension ", d, " (", size, ") at byte offset ", 4 + 4 * d,
          " makes the array larger than the limit of ", kMaxElements, " elements"));
    }
    elements *= size;
    out.dims.push_back(size);
  }

  const int64_t data_start = 4 + 4 * int64_t{ndims};
  // Grown as data arrives, so a header promising far more than the file holds costs no more
  // memory than the file itself.
  constexpr int64_t kGrowth = int64_t{64} << 20;
  int64_t got_data = 0;
  while (got_data < elements) {
    const int64_t want = std::min(kGrowth, elements - got_data);
    out.data.resize(static_cast<size_t>(got_data + want));
    const int64_t got = in.read(out.data.data() + got_data, want);
    got_data += got;
    if (got < want) break;
  }
  if (got_data < elements) throw_truncated(in, path, data_start, elements, got_data, "data");

  uint8_t extra = 0;
  if (in.read(&extra, 1) != 0) {
    throw FormatError(detail::concat("read_idx: ", path, ": unexpected extra data at byte offset ",
                                     data_start + elements, " (the header promises ", elements,
                                     " bytes of data)", truncation_note(in)));
  }
  if (in.compressed() && in.stream_cut_short()) {
    throw FormatError(detail::concat("read_idx: ", path,
                                     ": the gzip stream ends early, after the data (byte offset ",
                                     data_start + elements, " of the decompressed data)"));
  }
  return out;
}

Dataset read_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::vector<std::string>& class_names, const std::string& split_name) {
  UNLEARN_CHECK(!class_names.empty(), "read_idx_pair: expected at least one class name");
  IdxArray images = read_idx_file(images_path);
  const IdxArray labels = read_idx_file(labels_path);
  UNLEARN_CHECK_AS(FormatError, images.dims.size() == 3, "read_idx: ", images_path,
                   ": expected 3 dimensions (count, rows, columns) for images, found ",
                   images.dims.size());
  UNLEARN_CHECK_AS(FormatError, labels.dims.size() == 1, "read_idx: ", labels_path,
                   ": expected 1 dimension (count) for labels, found ", labels.dims.size());
  const int64_t n = images.dims[0];
  UNLEARN_CHECK_AS(FormatError, labels.dims[0] == n, "read_idx: ", labels_path, ": ",
                   labels.dims[0], " labels but ", n, " images in ", images_path);

  // Labels start after the 8-byte header (magic + one dimension).
  constexpr int64_t kLabelStart = 8;
  const auto num_classes = static_cast<int64_t>(class_names.size());
  torch::Tensor label_tensor = torch::empty({n}, torch::kLong);
  int64_t* lp = label_tensor.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = labels.data[static_cast<size_t>(i)];
    if (label >= num_classes) {
      throw FormatError(detail::concat("read_idx: ", labels_path, ": label ", label,
                                       " at byte offset ", kLabelStart + i, " (sample ", i,
                                       ") is out of range for ", num_classes, " classes"));
    }
    lp[i] = label;
  }

  Dataset out;
  out.images = torch::empty({n, 1, images.dims[1], images.dims[2]}, torch::kUInt8);
  std::memcpy(out.images.data_ptr<uint8_t>(), images.data.data(), images.data.size());
  images.data = {};  // release the raw copy before building metadata
  out.labels = std::move(label_tensor);
  out.class_names = class_names;
  out.metadata = Metadata::with_ids(n, split_name + "-", basename_of(images_path));
  return out;
}

DataBundle read_idx_dir(const std::string& dir, const std::vector<std::string>& class_names) {
  std::error_code ec;
  UNLEARN_CHECK_AS(IoError, fs::is_directory(dir, ec), "read_idx_dir: no such directory: ", dir);
  // Locate all four files first, so a missing one is reported before any slow read.
  const std::string train_images = find_idx_file(dir, "train-images-idx3-ubyte");
  const std::string train_labels = find_idx_file(dir, "train-labels-idx1-ubyte");
  const std::string test_images = find_idx_file(dir, "t10k-images-idx3-ubyte");
  const std::string test_labels = find_idx_file(dir, "t10k-labels-idx1-ubyte");

  DataBundle bundle;
  bundle.source = dir;
  bundle.train = read_idx_pair(train_images, train_labels, class_names, "train");
  bundle.test = read_idx_pair(test_images, test_labels, class_names, "test");
  UNLEARN_CHECK_AS(
      FormatError,
      bundle.train.height() == bundle.test.height() && bundle.train.width() == bundle.test.width(),
      "read_idx_dir: ", dir, ": train images are ", bundle.train.height(), "x",
      bundle.train.width(), " but test images are ", bundle.test.height(), "x",
      bundle.test.width());
  return bundle;
}

DataBundle read_idx_dir(const std::string& dir, bool fashion) {
  return read_idx_dir(dir, fashion ? fashion_mnist_classes() : digit_classes());
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

}  // namespace unlearn
