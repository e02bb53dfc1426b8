#include "unlearn/data/metadata.h"

#include <torch/torch.h>

#include <string>
#include <utility>

#include "unlearn/core/error.h"

namespace unlearn {

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

int64_t Column::size() const {
  return std::visit([](const auto& v) { return static_cast<int64_t>(v.size()); }, values);
}

double Column::number(int64_t i) const {
  if (const auto* ints = std::get_if<std::vector<int64_t>>(&values)) {
    return static_cast<double>(ints->at(static_cast<size_t>(i)));
  }
  if (const auto* reals = std::get_if<std::vector<double>>(&values)) {
    return reals->at(static_cast<size_t>(i));
  }
  throw InvalidArgument(detail::concat("metadata: column '", name, "' holds strings, not numbers"));
}

const std::string& Column::text(int64_t i) const {
  const auto* texts = std::get_if<std::vector<std::string>>(&values);
  UNLEARN_CHECK(texts != nullptr, "metadata: column '", name, "' holds numbers, not strings");
  return texts->at(static_cast<size_t>(i));
}

Metadata Metadata::with_ids(int64_t rows, const std::string& id_prefix, const std::string& source) {
  UNLEARN_CHECK(rows >= 0, "Metadata::with_ids: expected rows >= 0, got ", rows);
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) ids.push_back(id_prefix + std::to_string(i));
  Metadata table;
  table.rows_ = rows;
  table.columns_.push_back(Column{"id", std::move(ids)});
  table.columns_.push_back(
      Column{"source", std::vector<std::string>(static_cast<size_t>(rows), source)});
  return table;
}

bool Metadata::has(const std::string& name) const {
  for (const auto& c : columns_) {
    if (c.name == name) return true;
  }
  return false;
}

const Column& Metadata::column(const std::string& name) const {
  for (const auto& c : columns_) {
    if (c.name == name) return c;
  }
  throw InvalidArgument(detail::concat("metadata: no column '", name, "'; known columns: ",
                                       columns_.empty() ? "(none)" : join(column_names())));
}

std::vector<std::string> Metadata::column_names() const {
  std::vector<std::string> names;
  names.reserve(columns_.size());
  for (const auto& c : columns_) names.push_back(c.name);
  return names;
}

void Metadata::set(Column column) {
  UNLEARN_CHECK(!column.name.empty(), "Metadata::set: column name must not be empty");
  const int64_t n = column.size();
  // An empty table takes its row count from its first column.
  if (columns_.empty()) {
    rows_ = n;
  } else {
    UNLEARN_CHECK(n == rows_, "Metadata::set: column '", column.name, "' has ", n,
                  " rows but the table has ", rows_);
  }
  for (auto& c : columns_) {
    if (c.name == column.name) {
      c = std::move(column);
      return;
    }
  }
  columns_.push_back(std::move(column));
}

Metadata Metadata::select(const torch::Tensor& indices) const {
  UNLEARN_CHECK(indices.dim() == 1, "Metadata::select: expected a 1-D index tensor, got ",
                indices.dim(), " dimensions");
  const torch::Tensor idx = indices.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t n = idx.size(0);
  const int64_t* p = idx.data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    UNLEARN_CHECK(p[k] >= 0 && p[k] < rows_, "Metadata::select: index ", p[k],
                  " out of range for a table of ", rows_, " rows");
  }
  Metadata out;
  out.rows_ = n;
  out.columns_.reserve(columns_.size());
  for (const auto& c : columns_) {
    Column picked{c.name, {}};
    picked.values = std::visit(
        [&](const auto& v) -> Column::Values {
          std::decay_t<decltype(v)> taken;
          taken.reserve(static_cast<size_t>(n));
          for (int64_t k = 0; k < n; ++k) taken.push_back(v[static_cast<size_t>(p[k])]);
          return taken;
        },
        c.values);
    out.columns_.push_back(std::move(picked));
  }
  return out;
}

}  // namespace unlearn
