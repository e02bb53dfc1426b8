#include "unlearn/data/source.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"
#include "unlearn/data/cifar.h"
#include "unlearn/data/dicom.h"
#include "unlearn/data/folder.h"
#include "unlearn/data/idx.h"
#include "unlearn/data/npz.h"

namespace unlearn {

namespace {

namespace fs = std::filesystem;

constexpr const char* kFashionDefaultDir = "/usr/share/datasets/fashion-mnist";
constexpr const char* kAcceptedForms =
    "expected fashion-mnist, idx:DIR, cifar10:DIR, npz:FILE, folder:DIR, folder:FILE.csv, "
    "dicom:DIR, or a path whose content tells which";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

/// DIR/classes.txt (one name per line, blank lines skipped) if present; empty otherwise.
std::vector<std::string> read_class_file(const fs::path& dir) {
  const fs::path path = dir / "classes.txt";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  std::ifstream in(path);
  UNLEARN_CHECK_AS(IoError, in.good(), "--data: cannot read ", path.string());
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!line.empty()) names.push_back(line);
  }
  UNLEARN_CHECK_AS(FormatError, !names.empty(), "--data: ", path.string(),
                   " holds no class names (expected one name per line)");
  return names;
}

bool has_idx_files(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "train-images-idx3-ubyte.gz", ec) ||
         fs::is_regular_file(dir / "train-images-idx3-ubyte", ec);
}

/// An IDX folder: classes.txt wins; else Fashion-MNIST's names if the path says "fashion";
/// else the digits.
DataBundle load_idx_dir(const std::string& dir, const std::string& spec) {
  DataBundle bundle;
  std::vector<std::string> names = read_class_file(dir);
  if (!names.empty()) {
    bundle = read_idx_dir(dir, names);
  } else {
    bundle = read_idx_dir(dir, lower(dir).find("fashion") != std::string::npos);
  }
  bundle.source = spec;
  return bundle;
}

/// Looks at up to `budget` files under `dir` for a DICOM file.
bool holds_dicom_files(const fs::path& dir, int budget = 64) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (is_dicom_file(it->path().string())) return true;
    if (--budget == 0) break;
  }
  return false;
}

bool has_cifar_batches(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "data_batch_1.bin", ec) ||
         fs::is_regular_file(dir / "cifar-10-batches-bin" / "data_batch_1.bin", ec);
}

bool looks_like_image_folder(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "labels.csv", ec) || fs::is_directory(dir / "train", ec);
}

std::string extension_of(const std::string& path) { return lower(fs::path(path).extension()); }

DataBundle with_source(DataBundle bundle, const std::string& spec) {
  bundle.source = spec;
  return bundle;
}

/// A source named by scheme ("npz:FILE").
DataBundle load_scheme(const std::string& scheme, const std::string& rest, const std::string& spec,
                       const DataOptions& options) {
  UNLEARN_CHECK(!rest.empty(), "--data: '", scheme, ":' needs a path, as in ", scheme,
                scheme == "npz" ? ":/path/to/pathmnist.npz" : ":/path/to/folder");
  if (scheme == "idx") return load_idx_dir(rest, spec);
  if (scheme == "npz") return with_source(read_npz(rest, options), spec);
  if (scheme == "cifar10") return with_source(read_cifar10_dir(rest), spec);
  if (scheme == "folder") return with_source(read_folder(rest, options), spec);
  if (scheme == "dicom") return with_source(read_dicom_dir(rest, options), spec);
  throw InvalidArgument(detail::concat("--data: unknown scheme '", scheme, ":'; ", kAcceptedForms));
}

/// A plain path, recognised by what it holds.
DataBundle load_detected(const std::string& spec, const DataOptions& options) {
  std::error_code ec;
  if (fs::is_directory(spec, ec)) {
    if (has_idx_files(spec)) return load_idx_dir(spec, spec);
    if (has_cifar_batches(spec)) return with_source(read_cifar10_dir(spec), spec);
    if (holds_dicom_files(spec)) return with_source(read_dicom_dir(spec, options), spec);
    if (looks_like_image_folder(spec)) return with_source(read_folder(spec, options), spec);
    throw InvalidArgument(detail::concat("--data: cannot tell what folder ", spec,
                                         " holds (no IDX files, CIFAR-10 batches, DICOM files, "
                                         "labels.csv or train/ subfolder); ",
                                         kAcceptedForms));
  }
  const std::string ext = extension_of(spec);
  if (ext == ".npz") return with_source(read_npz(spec, options), spec);
  if (ext == ".csv") return with_source(read_folder(spec, options), spec);
  throw InvalidArgument(detail::concat("--data: cannot tell what file ", spec,
                                       " is (expected .npz or a .csv sample sheet); ",
                                       kAcceptedForms));
}

DataBundle load_unchecked(const std::string& spec, const DataOptions& options) {
  UNLEARN_CHECK(!spec.empty(), "--data: empty value; ", kAcceptedForms);

  if (spec == "fashion-mnist") {
    const char* env = std::getenv("UNLEARN_DATA");
    const bool from_env = env != nullptr && *env != '\0';
    const std::string dir = from_env ? env : kFashionDefaultDir;
    std::error_code ec;
    UNLEARN_CHECK_AS(IoError, fs::is_directory(dir, ec), "--data fashion-mnist: no folder ", dir,
                     from_env ? " (from UNLEARN_DATA)"
                              : " (install Debian's fashion-mnist data package, or set "
                                "UNLEARN_DATA to a folder holding the IDX files)");
    return with_source(read_idx_dir(dir, true), spec);
  }

  std::error_code ec;
  if (fs::exists(spec, ec)) return load_detected(spec, options);

  const auto colon = spec.find(':');
  if (colon != std::string::npos) {
    return load_scheme(spec.substr(0, colon), spec.substr(colon + 1), spec, options);
  }
  throw InvalidArgument(detail::concat(
      "--data: '", spec, "' is neither a known source nor an existing path; ", kAcceptedForms));
}

}  // namespace

DataBundle load_data(const std::string& spec, const DataOptions& options) {
  DataBundle bundle = load_unchecked(spec, options);
  UNLEARN_CHECK_AS(FormatError, bundle.train.num_classes() <= limits::kMaxClasses, spec, ": ",
                   bundle.train.num_classes(), " classes, more than the limit of ",
                   limits::kMaxClasses);
  // Every reader's output meets the same invariants before anything uses it.
  bundle.train.validate(spec + " (train)");
  bundle.test.validate(spec + " (test)");
  return bundle;
}

}  // namespace unlearn
