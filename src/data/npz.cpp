#include "unlearn/data/npz.h"

#include <torch/torch.h>
#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <utility>

#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"
#include "unlearn/data/npy.h"

namespace unlearn {

// Helpers sit in a named namespace: the unity build compiles this file together with the other
// readers, whose anonymous-namespace helpers would otherwise clash with these.
namespace {
namespace npz_impl {

namespace fs = std::filesystem;

std::string zip_error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

/// A zip archive opened read-only, discarded (never rewritten) on destruction.
class ZipArchive {
 public:
  explicit ZipArchive(const std::string& path) : path_(path) {
    std::error_code ec;
    UNLEARN_CHECK_AS(IoError, fs::exists(path, ec), "read_npz: no such file: ", path);
    UNLEARN_CHECK_AS(IoError, !fs::is_directory(path, ec), "read_npz: cannot open ", path,
                     ": it is a directory");
    int code = ZIP_ER_OK;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY, &code);
    if (zip_ == nullptr) {
      if (code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_NOENT ||
          code == ZIP_ER_MEMORY) {
        throw IoError(detail::concat("read_npz: cannot open ", path, ": ", zip_error_text(code)));
      }
      throw FormatError(detail::concat("read_npz: ", path,
                                       ": not a zip archive (an .npz file is a zip of .npy "
                                       "arrays): ",
                                       zip_error_text(code)));
    }
  }
  ~ZipArchive() { zip_discard(zip_); }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    const zip_int64_t n = zip_get_num_entries(zip_, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const char* name = zip_get_name(zip_, static_cast<zip_uint64_t>(i), 0);
      if (name != nullptr) out.emplace_back(name);
    }
    return out;
  }

  bool has(const std::string& name) const { return zip_name_locate(zip_, name.c_str(), 0) >= 0; }

  /// The uncompressed bytes of member `name`; libzip inflates deflated members and checks CRCs.
  std::vector<uint8_t> read(const std::string& name) const {
    const std::string where = detail::concat("read_npz: ", path_, ": member ", name);
    const zip_int64_t index = zip_name_locate(zip_, name.c_str(), 0);
    UNLEARN_CHECK_AS(FormatError, index >= 0, where, ": not in the archive");
    zip_stat_t st;
    zip_stat_init(&st);
    UNLEARN_CHECK_AS(FormatError,
                     zip_stat_index(zip_, static_cast<zip_uint64_t>(index), 0, &st) == 0 &&
                         (st.valid & ZIP_STAT_SIZE) != 0,
                     where, ": cannot read its size: ", zip_strerror(zip_));
    // A larger claim than deflate can produce is a corrupt directory, not a reason to allocate
    // terabytes.
    UNLEARN_CHECK_AS(
        FormatError,
        (st.valid & ZIP_STAT_COMP_SIZE) == 0 || st.size <= limits::max_unzipped_bytes(st.comp_size),
        where, ": its directory entry gives ", st.size, " bytes from ", st.comp_size,
        " compressed ones, more than deflate can produce");
    // Nor can a member hold more than the whole archive could inflate to (a fuzzed 1.5 KB file
    // claimed 2 GB in a stored member, and the buffer below was allocated before reading).
    std::error_code ec;
    const auto archive_bytes = std::filesystem::file_size(path_, ec);
    UNLEARN_CHECK_AS(FormatError, ec || st.size <= limits::max_unzipped_bytes(archive_bytes), where,
                     ": its directory entry gives ", st.size, " bytes, more than the ",
                     archive_bytes, "-byte archive can hold");
    std::unique_ptr<zip_file_t, ZipFileCloser> file(
        zip_fopen_index(zip_, static_cast<zip_uint64_t>(index), 0));
    UNLEARN_CHECK_AS(FormatError, file != nullptr, where, ": cannot open: ", zip_strerror(zip_));

    std::vector<uint8_t> bytes(static_cast<size_t>(st.size));
    zip_uint64_t got = 0;
    while (got < st.size) {
      const zip_int64_t n = zip_fread(file.get(), bytes.data() + got, st.size - got);
      UNLEARN_CHECK_AS(FormatError, n >= 0, where, ": corrupt data after byte ", got,
                       " of the uncompressed member: ", zip_file_strerror(file.get()));
      UNLEARN_CHECK_AS(FormatError, n > 0, where, ": corrupt data: it ends after ", got, " of its ",
                       st.size, " bytes");
      got += static_cast<zip_uint64_t>(n);
    }
    // Reading past the end makes libzip compare the CRC of everything read.
    uint8_t extra = 0;
    const zip_int64_t tail = zip_fread(file.get(), &extra, 1);
    if (tail < 0) {
      throw FormatError(detail::concat(where, ": corrupt data: ", zip_file_strerror(file.get())));
    }
    UNLEARN_CHECK_AS(FormatError, tail == 0, where, ": corrupt data: it holds more than the ",
                     st.size, " bytes its directory entry gives");
    return bytes;
  }

 private:
  std::string path_;
  zip_t* zip_ = nullptr;
};

/// One part (train, val or test) before class names are known.
struct Part {
  Dataset data;
  int64_t max_label = -1;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

/// uint8 (N,H,W) or (N,H,W,C) with C in {1,3}, as a contiguous N×C×H×W tensor.
torch::Tensor images_of(NpyArray array, const std::string& where) {
  UNLEARN_CHECK_AS(FormatError, array.type == NpyType::kUInt8, where,
                   ": images must be uint8 ('|u1'), found '", array.descr, "'");
  const std::vector<int64_t>& s = array.shape;
  const bool gray = s.size() == 3;
  const bool channels_last = s.size() == 4 && (s[3] == 1 || s[3] == 3);
  UNLEARN_CHECK_AS(FormatError, gray || channels_last, where, ": images have shape ", shape_text(s),
                   "; expected (N, H, W) or (N, H, W, 3) (3-D volumes are not "
                   "supported)");
  UNLEARN_CHECK_AS(FormatError, s[1] > 0 && s[2] > 0, where, ": images have shape ", shape_text(s),
                   "; height and width must be positive");
  torch::Tensor t = array.to_tensor();
  array.data = {};  // release the raw copy before the permuted one is made
  return gray ? t.unsqueeze(1).contiguous() : t.permute({0, 3, 1, 2}).contiguous();
}

/// Integer labels (N,) or (N,K) as int64 N, column `label_index` when K > 1.
torch::Tensor labels_of(const NpyArray& array, const std::string& where, const std::string& path,
                        const DataOptions& options) {
  UNLEARN_CHECK_AS(FormatError, array.is_integer(), where, ": labels must be integers, found '",
                   array.descr, "'");
  const std::vector<int64_t>& s = array.shape;
  UNLEARN_CHECK_AS(FormatError, s.size() == 1 || s.size() == 2, where, ": labels have shape ",
                   shape_text(s), "; expected (N,) or (N, 1)");
  const int64_t columns = s.size() == 2 ? s[1] : 1;
  UNLEARN_CHECK_AS(FormatError, columns > 0, where, ": labels have shape ", shape_text(s),
                   " (no label columns)");
  if (columns > 1 && options.label_index < 0) {
    throw InvalidArgument(detail::concat(where, ": labels are multi-label (", s[0], "×", columns,
                                         "); pick one column with --label-index k (0 to ",
                                         columns - 1, ")"));
  }
  const int64_t column = std::max<int64_t>(options.label_index, 0);
  UNLEARN_CHECK(column < columns, "--label-index ", options.label_index,
                " is out of range: the labels of ", path, " have ", columns, " column",
                columns == 1 ? "" : "s", " (0 to ", columns - 1, ")");
  torch::Tensor t = array.to_tensor().to(torch::kLong);
  if (s.size() == 2) t = t.select(1, column).contiguous();
  if (t.numel() > 0) {
    const int64_t lo = t.min().item<int64_t>();
    if (lo < 0) {
      const int64_t row = t.argmin().item<int64_t>();
      throw FormatError(detail::concat(where, ": label ", lo, " at row ", row, " is negative"));
    }
  }
  return t;
}

Part read_part(const ZipArchive& zip, const std::string& path, const std::string& split,
               const DataOptions& options) {
  const std::string images_name = split + "_images.npy";
  const std::string labels_name = split + "_labels.npy";
  // parse_npy adds its own "parse_npy: " in front of these.
  const std::string images_member = detail::concat(path, ": member ", images_name);
  const std::string labels_member = detail::concat(path, ": member ", labels_name);

  Part part;
  part.data.images =
      images_of(parse_npy(zip.read(images_name), images_member), "read_npz: " + images_member);
  part.data.labels = labels_of(parse_npy(zip.read(labels_name), labels_member),
                               "read_npz: " + labels_member, path, options);
  const int64_t n = part.data.images.size(0);
  UNLEARN_CHECK_AS(FormatError, part.data.labels.size(0) == n, "read_npz: ", path, ": ",
                   labels_name, " holds ", part.data.labels.size(0), " labels but ", images_name,
                   " holds ", n, " images");
  if (n > 0) part.max_label = part.data.labels.max().item<int64_t>();
  // MedMNIST's splits are "val" in the file; the ids say the same.
  part.data.metadata = Metadata::with_ids(n, split + "-", path);
  return part;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

/// `<stem>.classes.txt`, else `classes.txt` beside the archive; empty path when neither exists.
std::string class_file_for(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  fs::path own = p;
  own.replace_extension(".classes.txt");
  if (fs::is_regular_file(own, ec)) return own.string();
  const fs::path shared = p.parent_path() / "classes.txt";
  if (fs::is_regular_file(shared, ec)) return shared.string();
  return "";
}

std::vector<std::string> read_names(const std::string& file) {
  std::ifstream in(file);
  UNLEARN_CHECK_AS(IoError, in.good(), "read_npz: cannot read ", file);
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!line.empty()) names.push_back(line);
  }
  UNLEARN_CHECK_AS(FormatError, !names.empty(), "read_npz: ", file,
                   " holds no class names (expected one name per line)");
  return names;
}

/// Without class names the classes are 0..max_label: refuses labels (of every split, in split
/// order) that leave classes with no sample at all (one stray label of 200 in a 10-class set
/// would make 191 empty classes).
void check_dense_labels(const torch::Tensor& labels, int64_t max_label, const std::string& path) {
  if (max_label < 0 || labels.numel() == 0) return;
  const auto counts = torch::bincount(labels, {}, max_label + 1);
  const auto empty = torch::nonzero(counts.eq(0)).flatten();
  if (empty.numel() == 0) return;
  throw FormatError(detail::concat(
      "read_npz: ", path, ": labels run from 0 to ", max_label, " but ", empty.numel(),
      " of those ", max_label + 1, " classes have no sample in any split (the first is ",
      empty[0].item<int64_t>(), "); fix the labels, or name every class, one per line, in ",
      fs::path(path).stem().string(), ".classes.txt beside the archive"));
}

}  // namespace npz_impl
}  // namespace

std::vector<std::string> npz_members(const std::string& path) {
  return npz_impl::ZipArchive(path).names();
}

DataBundle read_npz(const std::string& path, const DataOptions& options) {
  const npz_impl::ZipArchive zip(path);

  // Check for every member first, so a missing one is reported before any slow read.
  const auto missing = [&](const std::string& key) {
    std::string present;
    for (const std::string& name : zip.names()) {
      present += (present.empty() ? "" : ", ") + name;
    }
    return FormatError(detail::concat(
        "read_npz: ", path, ": missing member '", key, "' (", key,
        ".npy); the archive holds: ", present.empty() ? "nothing" : present,
        " (expected train_images, train_labels, test_images, test_labels and optionally "
        "val_images, val_labels)"));
  };
  for (const char* key : {"train_images", "train_labels", "test_images", "test_labels"}) {
    if (!zip.has(std::string(key) + ".npy")) throw missing(key);
  }
  const bool val_images = zip.has("val_images.npy");
  const bool val_labels = zip.has("val_labels.npy");
  if (val_images != val_labels) throw missing(val_images ? "val_labels" : "val_images");

  std::vector<std::pair<std::string, npz_impl::Part>> parts;
  parts.emplace_back("train", npz_impl::read_part(zip, path, "train", options));
  if (val_images) parts.emplace_back("val", npz_impl::read_part(zip, path, "val", options));
  parts.emplace_back("test", npz_impl::read_part(zip, path, "test", options));

  int64_t max_label = -1;
  const torch::Tensor& first = parts.front().second.data.images;
  for (const auto& [split, part] : parts) {
    max_label = std::max(max_label, part.max_label);
    const torch::Tensor& im = part.data.images;
    UNLEARN_CHECK_AS(
        FormatError,
        im.size(1) == first.size(1) && im.size(2) == first.size(2) && im.size(3) == first.size(3),
        "read_npz: ", path, ": ", split, " images are ", im.size(1), "×", im.size(2), "×",
        im.size(3), " (C×H×W) but train images are ", first.size(1), "×", first.size(2), "×",
        first.size(3));
  }

  std::vector<std::string> names;
  const std::string class_file = npz_impl::class_file_for(path);
  if (!class_file.empty()) {
    names = npz_impl::read_names(class_file);
    UNLEARN_CHECK_AS(FormatError, max_label < static_cast<int64_t>(names.size()),
                     "read_npz: ", class_file, " lists ", names.size(), " class names but ", path,
                     " has label ", max_label);
  } else {
    std::vector<torch::Tensor> labels;
    for (const auto& [split, part] : parts) labels.push_back(part.data.labels);
    npz_impl::check_dense_labels(torch::cat(labels), max_label, path);
    for (int64_t k = 0; k <= std::max<int64_t>(max_label, 0); ++k) {
      names.push_back(std::to_string(k));
    }
  }

  DataBundle bundle;
  bundle.source = path;
  for (auto& [split, part] : parts) {
    part.data.class_names = names;
    part.data.validate(detail::concat("read_npz: ", path, " (", split, ")"));
    Dataset& slot =
        split == "train" ? bundle.train : (split == "val" ? bundle.validation : bundle.test);
    slot = std::move(part.data);
  }
  return bundle;
}

}  // namespace unlearn
