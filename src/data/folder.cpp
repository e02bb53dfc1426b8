#include "unlearn/data/folder.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"
#include "unlearn/core/parse.h"
#include "unlearn/data/csv.h"
#include "unlearn/data/image_file.h"
#include "unlearn/data/patient_hash.h"

namespace unlearn {

namespace {

// The library is built in unity batches, so these helpers have names no other file uses.

namespace fs = std::filesystem;

constexpr const char* kFolderLayouts =
    "expected DIR/train/<class>/*.png|jpg|jpeg and DIR/test/<class>/... (optionally "
    "DIR/val/<class>/...), or a CSV sample sheet (DIR/labels.csv or FILE.csv) with the columns "
    "path, label and split";
constexpr const char* kSheetName = "labels.csv";
constexpr int kSplits = 3;
constexpr std::array<const char*, kSplits> kSplitNames = {"train", "test", "val"};

/// One image to read.
struct FolderSample {
  std::string id;     // the metadata `id`
  std::string file;   // the resolved path, also the metadata `source`
  std::string where;  // "SHEET:LINE" for sample sheets, "" for class folders
  int64_t label = 0;
};

/// The samples of each split (train, test, val) and the class names.
struct FolderParts {
  std::array<std::vector<FolderSample>, kSplits> parts;
  std::vector<std::string> class_names;
};

std::string folder_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string folder_trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::string folder_join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

bool is_hidden_name(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

bool has_image_extension(const fs::path& p) {
  const std::string ext = folder_lower(p.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

/// Runs body(i) for i in [0, n) on LibTorch's thread pool. If any call throws, rethrows the
/// exception of the lowest i, so the error a user sees does not depend on thread timing.
template <typename Body>
void for_each_file(int64_t n, const Body& body) {
  std::mutex mutex;
  std::atomic<int64_t> first_bad{n};
  std::exception_ptr error;
  // Small grains: one file is already tens of microseconds of work.
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end && i < first_bad.load(); ++i) {
      try {
        body(i);
      } catch (...) {  // a worker thread's error, rethrown after the loop
        const std::lock_guard<std::mutex> lock(mutex);
        if (i < first_bad.load()) {
          first_bad = i;
          error = std::current_exception();
        }
        return;  // later files of this chunk cannot be the first failure
      }
    }
  });
  if (error) std::rethrow_exception(error);
}

/// Runs `read` for `sample`, putting the sheet's "FILE:LINE" in front of any error message.
template <typename Read>
void with_sheet_line(const FolderSample& sample, const Read& read) {
  if (sample.where.empty()) {
    read();
    return;
  }
  try {
    read();
  } catch (const FormatError& e) {  // adds the sample's location
    throw FormatError(detail::concat("read_folder: ", sample.where, ": ", e.what()));
  } catch (const IoError& e) {  // adds the sample's location
    throw IoError(detail::concat("read_folder: ", sample.where, ": ", e.what()));
  }
}

/// The common channel count and side of every part: 3 channels if any file has colour, else 1;
/// options.image_size, else the height of the first training image.
std::pair<int64_t, int64_t> target_shape(const FolderParts& listed, const DataOptions& options) {
  std::vector<const FolderSample*> all;
  for (const auto& part : listed.parts) {
    for (const auto& sample : part) all.push_back(&sample);
  }
  std::vector<ImageInfo> infos(all.size());
  for_each_file(static_cast<int64_t>(all.size()), [&](int64_t i) {
    const FolderSample& sample = *all[static_cast<size_t>(i)];
    with_sheet_line(sample, [&] { infos[static_cast<size_t>(i)] = read_image_info(sample.file); });
  });
  const bool colour = std::any_of(infos.begin(), infos.end(),
                                  [](const ImageInfo& info) { return info.channels >= 3; });
  // The train part is never empty here, and `all` starts with it.
  const int64_t size = options.image_size > 0 ? options.image_size : infos.front().height;
  return {colour ? 3 : 1, size};
}

/// Decodes `samples` into one Dataset (id and source metadata only; callers add the rest).
Dataset decode_part(const std::vector<FolderSample>& samples, int64_t channels, int64_t size,
                    const std::vector<std::string>& class_names) {
  const auto n = static_cast<int64_t>(samples.size());
  Dataset out;
  out.images = torch::empty({n, channels, size, size}, torch::kUInt8);
  auto* base = out.images.data_ptr<uint8_t>();
  const int64_t stride = channels * size * size;
  for_each_file(n, [&](int64_t i) {
    const FolderSample& sample = samples[static_cast<size_t>(i)];
    with_sheet_line(sample,
                    [&] { read_image_into(sample.file, channels, size, base + i * stride); });
  });
  out.labels = torch::empty({n}, torch::kLong);
  auto* labels = out.labels.data_ptr<int64_t>();
  std::vector<std::string> ids;
  std::vector<std::string> sources;
  ids.reserve(samples.size());
  sources.reserve(samples.size());
  for (int64_t i = 0; i < n; ++i) {
    const FolderSample& sample = samples[static_cast<size_t>(i)];
    labels[i] = sample.label;
    ids.push_back(sample.id);
    sources.push_back(sample.file);
  }
  out.class_names = class_names;
  out.metadata.set(Column{"id", std::move(ids)});
  out.metadata.set(Column{"source", std::move(sources)});
  return out;
}

// ---- Layout (a): class subfolders -------------------------------------------------------------

/// Non-hidden subfolders of `dir`, sorted by name.
std::vector<fs::path> sorted_subfolders(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && !is_hidden_name(entry.path())) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// The images of one split folder (`split_dir`/<class>/..., searched recursively), in path order.
std::vector<FolderSample> list_class_folders(const fs::path& root, const fs::path& split_dir,
                                             const std::vector<std::string>& class_names) {
  for (const auto& entry : fs::directory_iterator(split_dir)) {
    UNLEARN_CHECK_AS(
        FormatError,
        entry.is_directory() || !has_image_extension(entry.path()) || is_hidden_name(entry.path()),
        "read_folder: ", entry.path().string(),
        ": images must be in a subfolder named after their class, as in ",
        (split_dir / "<class>" / entry.path().filename()).string());
  }
  std::vector<FolderSample> samples;
  for (const fs::path& class_dir : sorted_subfolders(split_dir)) {
    const std::string name = class_dir.filename().string();
    const auto it = std::find(class_names.begin(), class_names.end(), name);
    UNLEARN_CHECK_AS(FormatError, it != class_names.end(), "read_folder: ", class_dir.string(),
                     ": class '", name, "' has no folder in ", (root / "train").string(),
                     " (the classes are: ", folder_join(class_names), ")");
    const auto label = static_cast<int64_t>(it - class_names.begin());
    std::vector<fs::path> files;
    for (auto walk = fs::recursive_directory_iterator(class_dir); walk != decltype(walk)();
         ++walk) {
      const fs::path& p = walk->path();
      if (is_hidden_name(p)) {
        if (walk->is_directory()) walk.disable_recursion_pending();
        continue;
      }
      if (walk->is_directory()) continue;
      UNLEARN_CHECK_AS(FormatError, has_image_extension(p), "read_folder: ", p.string(),
                       ": not a .png, .jpg or .jpeg file (remove it, or list the images in a ",
                       kSheetName, " sample sheet)");
      limits::check_file_count(samples.size() + files.size(), "read_folder: " + split_dir.string());
      files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      samples.push_back(
          FolderSample{file.lexically_relative(root).generic_string(), file.string(), "", label});
    }
  }
  return samples;
}

FolderParts list_class_layout(const fs::path& root) {
  std::error_code ec;
  const fs::path train = root / "train";
  const fs::path test = root / "test";
  UNLEARN_CHECK_AS(FormatError, fs::is_directory(test, ec), "read_folder: ", root.string(),
                   " has train/ but no test/ folder; ", kFolderLayouts);
  FolderParts out;
  for (const fs::path& class_dir : sorted_subfolders(train)) {
    out.class_names.push_back(class_dir.filename().string());
  }
  UNLEARN_CHECK_AS(FormatError, !out.class_names.empty(), "read_folder: ", train.string(),
                   " holds no class subfolders; ", kFolderLayouts);
  out.parts[0] = list_class_folders(root, train, out.class_names);
  out.parts[1] = list_class_folders(root, test, out.class_names);
  if (fs::is_directory(root / "val", ec)) {
    out.parts[2] = list_class_folders(root, root / "val", out.class_names);
  }
  for (int s = 0; s < 2; ++s) {
    UNLEARN_CHECK_AS(FormatError, !out.parts[s].empty(),
                     "read_folder: ", (root / kSplitNames[s]).string(),
                     " holds no .png, .jpg or .jpeg images");
  }
  return out;
}

// ---- Layout (b): a CSV sample sheet -----------------------------------------------------------

/// classes.txt beside the sheet (one name per line, blank lines skipped) if present; else empty.
std::vector<std::string> read_sheet_classes(const fs::path& dir) {
  const fs::path path = dir / "classes.txt";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  std::ifstream in(path);
  UNLEARN_CHECK_AS(IoError, in.good(), "read_folder: cannot read ", path.string());
  std::vector<std::string> names;
  std::set<std::string> seen;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    line = folder_trim(line);
    if (line.empty()) continue;
    UNLEARN_CHECK_AS(FormatError, seen.insert(line).second, "read_folder: ", path.string(), ":",
                     number, ": class '", line, "' is listed twice");
    names.push_back(line);
  }
  UNLEARN_CHECK_AS(FormatError, !names.empty(), "read_folder: ", path.string(),
                   " holds no class names (expected one name per line)");
  return names;
}

/// Labels as class indices, and the class names (see folder.h for the rules).
std::vector<std::string> resolve_labels(const CsvTable& table, size_t label_col,
                                        const fs::path& dir, std::vector<int64_t>& labels) {
  std::vector<std::string> texts;
  texts.reserve(table.rows.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    texts.push_back(folder_trim(table.rows[r][label_col]));
    UNLEARN_CHECK_AS(FormatError, !texts.back().empty(), "read_folder: ", table.where(r),
                     ": empty label");
  }
  labels.assign(texts.size(), 0);

  std::vector<std::string> names = read_sheet_classes(dir);
  if (!names.empty()) {
    std::map<std::string, int64_t> index;
    for (size_t k = 0; k < names.size(); ++k) index[names[k]] = static_cast<int64_t>(k);
    const auto k_max = static_cast<int64_t>(names.size());
    for (size_t r = 0; r < texts.size(); ++r) {
      if (const auto it = index.find(texts[r]); it != index.end()) {
        labels[r] = it->second;
        continue;
      }
      const std::optional<int64_t> number = parse_integer(texts[r]);
      UNLEARN_CHECK_AS(FormatError, number.has_value(), "read_folder: ", table.where(r),
                       ": unknown class '", texts[r], "' (", (dir / "classes.txt").string(),
                       " names: ", folder_join(names), ")");
      UNLEARN_CHECK_AS(FormatError, *number >= 0 && *number < k_max,
                       "read_folder: ", table.where(r), ": label ", *number,
                       " is out of range for the ", k_max, " classes of ",
                       (dir / "classes.txt").string());
      labels[r] = *number;
    }
    return names;
  }

  const bool all_integers = std::all_of(texts.begin(), texts.end(), [](const std::string& t) {
    return parse_integer(t).has_value();
  });
  if (all_integers) {
    int64_t k_max = 0;
    for (size_t r = 0; r < texts.size(); ++r) {
      labels[r] = *parse_integer(texts[r]);
      UNLEARN_CHECK_AS(FormatError, labels[r] >= 0, "read_folder: ", table.where(r),
                       ": negative label ", labels[r]);
      k_max = std::max(k_max, labels[r] + 1);
    }
    for (int64_t k = 0; k < k_max; ++k) names.push_back(std::to_string(k));
    return names;
  }

  // Labels are class names: classes are their sorted distinct set.
  const std::set<std::string> distinct(texts.begin(), texts.end());
  names.assign(distinct.begin(), distinct.end());
  for (size_t r = 0; r < texts.size(); ++r) {
    labels[r] = std::lower_bound(names.begin(), names.end(), texts[r]) - names.begin();
  }
  return names;
}

int split_index(const CsvTable& table, size_t row, size_t split_col) {
  const std::string value = folder_lower(folder_trim(table.rows[row][split_col]));
  for (int s = 0; s < kSplits; ++s) {
    if (value == kSplitNames[s]) return s;
  }
  throw FormatError(detail::concat("read_folder: ", table.where(row), ": split '",
                                   table.rows[row][split_col], "' is not train, test or val"));
}

struct SheetParts {
  FolderParts parts;
  std::array<std::vector<int64_t>, kSplits> rows;  // the sheet rows of each part, in order
  Metadata extra;  // the sheet's further columns, one row per sheet row
};

SheetParts list_sheet(const fs::path& sheet) {
  const CsvTable table = read_csv(sheet.string());
  const size_t path_col =
      table.require("path", "the image file of each row, relative to the sheet's folder");
  const size_t label_col = table.require("label", "the class index or class name of each row");
  const size_t split_col =
      table.require("split",
                    "train, test or val for each row; without a sample sheet, put the images in "
                    "DIR/train/<class>/ and DIR/test/<class>/ instead");
  UNLEARN_CHECK_AS(FormatError, !table.rows.empty(), "read_folder: ", sheet.string(),
                   " lists no images");
  const fs::path dir = sheet.parent_path();

  SheetParts out;
  std::vector<int64_t> labels;
  out.parts.class_names = resolve_labels(table, label_col, dir, labels);

  std::map<std::string, size_t> first_row_of;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const int s = split_index(table, r, split_col);
    const std::string written = folder_trim(table.rows[r][path_col]);
    UNLEARN_CHECK_AS(FormatError, !written.empty(), "read_folder: ", table.where(r),
                     ": empty path");
    const auto [it, fresh] = first_row_of.emplace(written, r);
    UNLEARN_CHECK_AS(FormatError, fresh, "read_folder: ", table.where(r), ": ", written,
                     " is already listed on line ", table.lines[it->second]);
    const fs::path file = fs::path(written).is_absolute() ? fs::path(written) : dir / written;
    std::error_code ec;
    UNLEARN_CHECK_AS(FormatError, fs::is_regular_file(file, ec), "read_folder: ", table.where(r),
                     ": no file ", written,
                     fs::path(written).is_absolute() ? "" : " (looked for " + file.string() + ")");
    out.parts.parts[s].push_back(FolderSample{written, file.string(), table.where(r), labels[r]});
    out.rows[s].push_back(static_cast<int64_t>(r));
  }
  for (int s = 0; s < 2; ++s) {
    UNLEARN_CHECK_AS(FormatError, !out.parts.parts[s].empty(), "read_folder: ", sheet.string(),
                     ": no row has split ", kSplitNames[s]);
  }

  // Further columns become metadata; patient IDs only as salted hashes.
  std::string patient_source;
  for (size_t c = 0; c < table.header.size(); ++c) {
    if (c == path_col || c == label_col || c == split_col) continue;
    const std::string& name = table.header[c];
    std::vector<std::string> values;
    values.reserve(table.rows.size());
    for (const auto& row : table.rows) values.push_back(row[c]);
    if (is_patient_column(name)) {
      UNLEARN_CHECK_AS(FormatError, patient_source.empty(), "read_folder: ", sheet.string(),
                       ": the columns '", patient_source, "' and '", name,
                       "' both hold patient IDs; keep one");
      patient_source = name;
      for (auto& v : values) v = patient_hash(v);
      out.extra.set(Column{kPatientColumn, std::move(values)});
      continue;
    }
    const std::string lower = folder_lower(name);
    UNLEARN_CHECK_AS(FormatError,
                     lower != "id" && lower != "source" && lower != "class" && lower != "index",
                     "read_folder: ", sheet.string(), ": column '", name,
                     "' clashes with a built-in field (id = the path, source = the file read, "
                     "class = the label, index = the row); rename it");
    out.extra.set(typed_column(name, std::move(values)));
  }
  return out;
}

DataBundle decode_parts(const FolderParts& listed, const DataOptions& options,
                        const std::string& spec_path) {
  const auto [channels, size] = target_shape(listed, options);
  DataBundle bundle;
  bundle.source = spec_path;
  bundle.train = decode_part(listed.parts[0], channels, size, listed.class_names);
  bundle.test = decode_part(listed.parts[1], channels, size, listed.class_names);
  if (!listed.parts[2].empty()) {
    bundle.validation = decode_part(listed.parts[2], channels, size, listed.class_names);
  }
  return bundle;
}

DataBundle read_folder_unchecked(const std::string& spec_path, const DataOptions& options) {
  UNLEARN_CHECK(options.image_size >= 0, "read_folder: image size must be >= 0 (0 = the first ",
                "image's height), got ", options.image_size);
  UNLEARN_CHECK(!spec_path.empty(), "read_folder: empty path; ", kFolderLayouts);
  const fs::path spec(spec_path);
  std::error_code ec;
  fs::path sheet;
  if (fs::is_directory(spec, ec)) {
    if (fs::is_regular_file(spec / kSheetName, ec)) {
      sheet = spec / kSheetName;
    } else {
      UNLEARN_CHECK_AS(FormatError, fs::is_directory(spec / "train", ec),
                       "read_folder: ", spec_path, " has neither ", kSheetName,
                       " nor a train/ folder; ", kFolderLayouts);
      return decode_parts(list_class_layout(spec), options, spec_path);
    }
  } else if (fs::is_regular_file(spec, ec)) {
    UNLEARN_CHECK(folder_lower(spec.extension().string()) == ".csv", "read_folder: ", spec_path,
                  " is a file but not a .csv sample sheet; ", kFolderLayouts);
    sheet = spec;
  } else {
    throw IoError(detail::concat("read_folder: no such file or folder: ", spec_path));
  }

  const SheetParts listed = list_sheet(sheet);
  DataBundle bundle = decode_parts(listed.parts, options, spec_path);
  const std::array<Dataset*, kSplits> datasets = {&bundle.train, &bundle.test, &bundle.validation};
  for (int s = 0; s < kSplits; ++s) {
    if (listed.rows[s].empty() || listed.extra.columns().empty()) continue;
    const Metadata extra = listed.extra.select(torch::tensor(listed.rows[s], torch::kLong));
    for (const Column& column : extra.columns()) datasets[s]->metadata.set(column);
  }
  return bundle;
}

}  // namespace

DataBundle read_folder(const std::string& spec_path, const DataOptions& options) {
  DataBundle bundle;
  try {
    bundle = read_folder_unchecked(spec_path, options);
  } catch (const fs::filesystem_error& e) {
    // A folder that cannot be listed (permissions, a file vanishing mid-walk).
    throw IoError(detail::concat("read_folder: ", spec_path, ": ", e.what()));
  }
  bundle.train.validate(spec_path + " (train)");
  bundle.test.validate(spec_path + " (test)");
  if (bundle.validation.size() > 0) bundle.validation.validate(spec_path + " (val)");
  return bundle;
}

}  // namespace unlearn
