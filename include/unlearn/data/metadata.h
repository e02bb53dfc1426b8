#pragma once
// A typed, column-oriented table with one row per sample. Every table has the string columns
// `id` (unique per sample) and `source` (the file the sample came from); readers add whatever
// else they find (device, site, year, patient hash, ...).

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace unlearn {

/// One named column. Integers, reals and strings are kept apart so comparisons are typed.
struct Column {
  using Values = std::variant<std::vector<int64_t>, std::vector<double>, std::vector<std::string>>;
  std::string name;
  Values values;

  int64_t size() const;
  bool is_string() const { return std::holds_alternative<std::vector<std::string>>(values); }
  bool is_numeric() const { return !is_string(); }
  /// Numeric value of row `i` (ints widen to double). Only for numeric columns.
  double number(int64_t i) const;
  /// String value of row `i`. Only for string columns.
  const std::string& text(int64_t i) const;
};

class Metadata {
 public:
  Metadata() = default;
  /// A table of `rows` rows with `id` = "<prefix><row>" and `source` = `source` for every row.
  static Metadata with_ids(int64_t rows, const std::string& id_prefix, const std::string& source);

  int64_t rows() const { return rows_; }
  bool has(const std::string& name) const;
  /// Throws InvalidArgument naming the column and listing the known ones when absent.
  const Column& column(const std::string& name) const;
  const std::vector<Column>& columns() const { return columns_; }
  std::vector<std::string> column_names() const;

  /// Adds or replaces a column; its length must equal rows() (or set rows() if the table is empty).
  void set(Column column);

  /// The rows at `indices` (int64 tensor), in that order.
  Metadata select(const torch::Tensor& indices) const;

 private:
  int64_t rows_ = 0;
  std::vector<Column> columns_;
};

}  // namespace unlearn
