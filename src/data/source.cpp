#include "unlearn/data/source.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "unlearn/core/error.h"
#include "unlearn/data/idx.h"

namespace unlearn {

namespace {

namespace fs = std::filesystem;

constexpr const char* kFashionDefaultDir = "/usr/share/datasets/fashion-mnist";
constexpr const char* kAcceptedForms =
    "expected fashion-mnist, idx:DIR or a directory holding IDX files "
    "(cifar10:DIR, npz:FILE, folder:DIR and dicom:DIR are not supported yet)";

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

DataBundle load_unchecked(const std::string& spec, const DataOptions& options) {
  (void)options;
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
    DataBundle bundle = read_idx_dir(dir, true);
    bundle.source = spec;
    return bundle;
  }

  std::error_code ec;
  if (fs::is_directory(spec, ec)) {
    UNLEARN_CHECK(has_idx_files(spec), "--data: folder ", spec,
                  " holds no train-images-idx3-ubyte[.gz]; ", kAcceptedForms);
    return load_idx_dir(spec, spec);
  }

  const auto colon = spec.find(':');
  if (colon != std::string::npos) {
    const std::string scheme = spec.substr(0, colon);
    const std::string rest = spec.substr(colon + 1);
    if (scheme == "idx") {
      UNLEARN_CHECK(!rest.empty(), "--data: 'idx:' needs a folder, as in idx:/path/to/mnist");
      return load_idx_dir(rest, spec);
    }
    if (scheme == "cifar10" || scheme == "npz" || scheme == "folder" || scheme == "dicom") {
      throw InvalidArgument(
          detail::concat("--data: scheme '", scheme, "' is not supported yet; ", kAcceptedForms));
    }
  }
  if (fs::exists(spec, ec)) {
    throw InvalidArgument(detail::concat("--data: '", spec,
                                         "' is a file; only folders of IDX files are detected "
                                         "by content so far; ",
                                         kAcceptedForms));
  }
  throw InvalidArgument(detail::concat(
      "--data: '", spec, "' is neither a known source nor a folder; ", kAcceptedForms));
}

}  // namespace

DataBundle load_data(const std::string& spec, const DataOptions& options) {
  DataBundle bundle = load_unchecked(spec, options);
  // Every reader's output meets the same invariants before anything uses it.
  bundle.train.validate(spec + " (train)");
  bundle.test.validate(spec + " (test)");
  return bundle;
}

}  // namespace unlearn
