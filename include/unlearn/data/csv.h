#pragma once
// Comma-separated tables (RFC 4180: quoted fields, doubled quotes, CRLF or LF) with a header
// row, as hospitals keep sample sheets. Every error names the file and line.

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/data/metadata.h"

namespace unlearn {

struct CsvTable {
  std::string path;                            // for messages
  std::vector<std::string> header;             // column names, as written
  std::vector<std::vector<std::string>> rows;  // each row has header.size() fields
  std::vector<int64_t> lines;                  // 1-based line where each row starts

  /// Index of column `name`, or -1 when absent.
  int64_t find(const std::string& name) const;
  /// Index of column `name`; throws FormatError naming the file, the `role` of the column
  /// ("the label column") and the columns present.
  size_t require(const std::string& name, const std::string& role) const;
  /// "FILE:LINE" of row `row`, for messages.
  std::string where(size_t row) const;
};

/// Parses `text`; `path` is used in messages only. Throws FormatError "PATH:LINE: ..." for an
/// empty or duplicated column name, an unterminated quote, or a row whose field count differs
/// from the header's (the message names the first missing or the first extra column).
CsvTable parse_csv(const std::string& text, const std::string& path);

/// Reads and parses a file; IoError when it cannot be read.
CsvTable read_csv(const std::string& path);

/// A metadata column from text values: int64 when every value is an integer, double when every
/// value is a number, else strings. Empty cells make a column a string column.
Column typed_column(const std::string& name, std::vector<std::string> values);

/// One CSV field, quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& value);

}  // namespace unlearn
