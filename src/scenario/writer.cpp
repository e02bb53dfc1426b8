#include "unlearn/scenario/writer.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/data/csv.h"
#include "unlearn/data/dicom.h"
#include "unlearn/data/image_file.h"

namespace unlearn {

namespace {

namespace fs = std::filesystem;

std::string cell(const Column& column, int64_t row) {
  if (column.is_string()) return column.text(row);
  if (const auto* ints = std::get_if<std::vector<int64_t>>(&column.values)) {
    return std::to_string(ints->at(static_cast<size_t>(row)));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", column.number(row));
  return buf;
}

struct Part {
  std::string split;
  const Dataset* data;
};

/// Metadata columns that go to the CSV: all but id, source and those written as DICOM tags.
std::vector<const Column*> csv_columns(const Dataset& data, const ImageFolderOptions& options) {
  std::vector<const Column*> columns;
  for (const auto& column : data.metadata.columns()) {
    if (column.name == "id" || column.name == "source") continue;
    if (options.format == "dicom" && options.dicom_tags.count(column.name)) continue;
    columns.push_back(&column);
  }
  return columns;
}

void write_images(const Part& part, const fs::path& root, const ImageFolderOptions& options,
                  int64_t& done, Observer& observer) {
  const Dataset& data = *part.data;
  const std::string ext = options.format == "dicom" ? ".dcm" : ".png";
  fs::create_directories(root / part.split);
  auto path_of = [&](int64_t row) {
    char name[32];
    std::snprintf(name, sizeof name, "%06lld", static_cast<long long>(row));
    return (root / part.split / (std::string(name) + ext)).string();
  };
  if (options.format == "png") {
    // stb's PNG writer keeps no shared state, so files are encoded in parallel.
    at::parallel_for(0, data.size(), 256, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) write_png(path_of(row), data.images[row]);
    });
    done += data.size();
    observer.progress(done, part.split);
    return;
  }
  for (int64_t row = 0; row < data.size(); ++row) {
    std::map<std::string, std::string> tags;
    for (const auto& [column, keyword] : options.dicom_tags) {
      if (data.metadata.has(column)) tags[keyword] = cell(data.metadata.column(column), row);
    }
    if (!options.year_column.empty() && data.metadata.has(options.year_column)) {
      tags["StudyDate"] = cell(data.metadata.column(options.year_column), row) + "0101";
    }
    write_dicom_image(path_of(row), data.images[row], tags);
    if (++done % 1000 == 0) observer.progress(done, part.split);
  }
}

void write_labels(const std::vector<Part>& parts, const fs::path& root,
                  const ImageFolderOptions& options) {
  std::ofstream csv(root / "labels.csv", std::ios::binary);
  const auto columns = csv_columns(*parts.front().data, options);
  csv << "path,label,split";
  for (const Column* c : columns) csv << ',' << csv_field(c->name);
  csv << '\n';
  const std::string ext = options.format == "dicom" ? ".dcm" : ".png";
  for (const Part& part : parts) {
    const Dataset& data = *part.data;
    const auto part_columns = csv_columns(data, options);
    UNLEARN_CHECK(part_columns.size() == columns.size(), "scenario: the ", part.split,
                  " part has different metadata columns from the train part");
    const torch::Tensor labels = data.labels.contiguous();
    for (int64_t row = 0; row < data.size(); ++row) {
      char name[32];
      std::snprintf(name, sizeof name, "%06lld", static_cast<long long>(row));
      csv << part.split << '/' << name << ext << ',' << labels[row].item<int64_t>() << ','
          << part.split;
      for (const Column* c : part_columns) csv << ',' << csv_field(cell(*c, row));
      csv << '\n';
    }
  }
  UNLEARN_CHECK_AS(IoError, csv.good(), "scenario: cannot write ", (root / "labels.csv").string());
}

}  // namespace

void write_image_folder(const DataBundle& bundle, const std::string& out,
                        const ImageFolderOptions& options, Observer& observer) {
  UNLEARN_CHECK(options.format == "png" || options.format == "dicom",
                "--format must be png or dicom, got '", options.format, "'");
  check_output_path(out, options.force, "--out");
  std::vector<Part> parts{{"train", &bundle.train}, {"test", &bundle.test}};
  if (bundle.validation.size() > 0) parts.push_back({"val", &bundle.validation});

  // Build beside the target, then rename: readers never see a half-written folder.
  const fs::path target = fs::absolute(out);
  const fs::path staging = target.string() + ".partial-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  UNLEARN_CHECK_AS(IoError, !ec, "--out: cannot create ", staging.string(), ": ", ec.message());
  PartialOutput partial(staging.string());
  {
    int64_t total = 0;
    for (const Part& part : parts) total += part.data->size();
    observer.begin("write " + options.format, total);
    int64_t done = 0;
    for (const Part& part : parts) write_images(part, staging, options, done, observer);
    observer.end();
    write_labels(parts, staging, options);
    std::ofstream classes(staging / "classes.txt");
    for (const auto& name : bundle.train.class_names) classes << name << '\n';
    UNLEARN_CHECK_AS(IoError, classes.good(), "--out: cannot write classes.txt");
    classes.close();
    if (fs::exists(target, ec)) fs::remove_all(target);  // check_output_path allowed it: --force
    fs::rename(staging, target);
    partial.keep();
  }
}

}  // namespace unlearn
