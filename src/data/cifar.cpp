#include "unlearn/data/cifar.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "unlearn/core/error.h"

namespace unlearn {

// Helpers sit in a named namespace: the unity build compiles this file together with the other
// readers, whose anonymous-namespace helpers would otherwise clash with these.
namespace {
namespace cifar_impl {

namespace fs = std::filesystem;

constexpr int64_t kSide = 32;
constexpr int64_t kPixels = 3 * kSide * kSide;
constexpr int64_t kRecord = 1 + kPixels;  // label byte, then the red, green and blue planes
constexpr const char* kSubfolder = "cifar-10-batches-bin";
constexpr const char* kExpectedFiles =
    "data_batch_1.bin .. data_batch_5.bin and test_batch.bin, as unpacked from "
    "cifar-10-binary.tar.gz";

/// The folder holding the batches: `dir` itself, or the folder the tarball unpacks to inside it.
fs::path batch_folder(const std::string& dir) {
  std::error_code ec;
  UNLEARN_CHECK_AS(IoError, fs::is_directory(dir, ec),
                   "read_cifar10_dir: no such directory: ", dir);
  const fs::path top(dir);
  if (fs::is_regular_file(top / "data_batch_1.bin", ec)) return top;
  if (fs::is_directory(top / kSubfolder, ec)) return top / kSubfolder;
  return top;
}

std::string require_file(const fs::path& folder, const std::string& name) {
  const fs::path path = folder / name;
  std::error_code ec;
  UNLEARN_CHECK_AS(IoError, fs::is_regular_file(path, ec), "read_cifar10_dir: missing ",
                   path.string(), " (expected ", kExpectedFiles, ")");
  return path.string();
}

/// The number of whole records in `path`; FormatError if its size leaves a partial one.
int64_t record_count(const std::string& path) {
  std::error_code ec;
  const auto size = static_cast<int64_t>(fs::file_size(path, ec));
  UNLEARN_CHECK_AS(IoError, !ec, "read_cifar10: cannot read the size of ", path, ": ",
                   ec.message());
  UNLEARN_CHECK_AS(FormatError, size > 0, "read_cifar10: ", path, ": empty file (no records)");
  UNLEARN_CHECK_AS(FormatError, size % kRecord == 0, "read_cifar10: ", path, ": ", size,
                   " bytes is not a multiple of the ", kRecord,
                   "-byte record (1 label byte + 3072 pixels); the record starting at byte offset ",
                   size - size % kRecord, " is cut short after ", size % kRecord, " bytes");
  return size / kRecord;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

/// `folder/batches.meta.txt` if present (ten names), else the standard names.
std::vector<std::string> class_names_in(const fs::path& folder) {
  const fs::path path = folder / "batches.meta.txt";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return cifar10_classes();
  std::ifstream in(path);
  UNLEARN_CHECK_AS(IoError, in.good(), "read_cifar10: cannot read ", path.string());
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!line.empty()) names.push_back(line);
  }
  // A hundred names would mean CIFAR-100, whose records have two label bytes.
  UNLEARN_CHECK_AS(FormatError, names.size() == 10, "read_cifar10: ", path.string(), " lists ",
                   names.size(), " class names; CIFAR-10 has 10 (CIFAR-100 is not supported)");
  return names;
}

/// Reads the batch files of one part, in order, into one Dataset.
Dataset read_batches(const std::vector<std::string>& files, const std::string& split,
                     const std::vector<std::string>& class_names) {
  std::vector<int64_t> counts;
  int64_t n = 0;
  for (const std::string& file : files) {
    counts.push_back(record_count(file));
    n += counts.back();
  }

  Dataset out;
  out.images = torch::empty({n, 3, kSide, kSide}, torch::kUInt8);
  out.labels = torch::empty({n}, torch::kLong);
  uint8_t* pixels = out.images.data_ptr<uint8_t>();
  int64_t* labels = out.labels.data_ptr<int64_t>();
  std::vector<std::string> sources;
  sources.reserve(static_cast<size_t>(n));
  const auto num_classes = static_cast<int64_t>(class_names.size());

  int64_t row = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    const std::string& file = files[f];
    std::ifstream in(file, std::ios::binary);
    UNLEARN_CHECK_AS(IoError, in.good(), "read_cifar10: cannot open ", file, ": ",
                     std::strerror(errno));
    for (int64_t r = 0; r < counts[f]; ++r, ++row) {
      const int64_t offset = r * kRecord;
      char label = 0;
      in.read(&label, 1);
      // A record is already channel-major (C×H×W), so it is copied as is.
      in.read(reinterpret_cast<char*>(pixels + row * kPixels), kPixels);
      UNLEARN_CHECK_AS(IoError, in.good(), "read_cifar10: cannot read ", file, " at byte offset ",
                       offset, " (did it shrink while being read?)");
      const int64_t value = static_cast<uint8_t>(label);
      UNLEARN_CHECK_AS(FormatError, value < num_classes, "read_cifar10: ", file, ": label ", value,
                       " at byte offset ", offset, " (record ", r, ") is out of range for ",
                       num_classes, " classes");
      labels[row] = value;
      sources.push_back(file);
    }
  }

  out.class_names = class_names;
  out.metadata = Metadata::with_ids(n, split + "-", "");
  out.metadata.set(Column{"source", std::move(sources)});
  return out;
}

}  // namespace cifar_impl
}  // namespace

DataBundle read_cifar10_dir(const std::string& dir) {
  const std::filesystem::path folder = cifar_impl::batch_folder(dir);
  // Locate all six files first, so a missing one is reported before any slow read.
  std::vector<std::string> train_files;
  for (int i = 1; i <= 5; ++i) {
    train_files.push_back(
        cifar_impl::require_file(folder, "data_batch_" + std::to_string(i) + ".bin"));
  }
  const std::string test_file = cifar_impl::require_file(folder, "test_batch.bin");
  const std::vector<std::string> names = cifar_impl::class_names_in(folder);

  DataBundle bundle;
  bundle.source = dir;
  bundle.train = cifar_impl::read_batches(train_files, "train", names);
  bundle.test = cifar_impl::read_batches({test_file}, "test", names);
  bundle.train.validate("read_cifar10: " + dir + " (train)");
  bundle.test.validate("read_cifar10: " + dir + " (test)");
  return bundle;
}

const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

}  // namespace unlearn
