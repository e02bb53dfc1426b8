#include "unlearn/data/csv.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "unlearn/core/error.h"
#include "unlearn/core/parse.h"

namespace unlearn {

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

/// Splits `text` from byte `start` into records of fields; `lines` gets the 1-based line each
/// record starts on.
std::vector<std::vector<std::string>> split_records(const std::string& text, size_t start,
                                                    const std::string& path,
                                                    std::vector<int64_t>& lines) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;       // inside a quoted field
  bool was_quoted = false;   // the current field started with a quote
  bool record_open = false;  // something of the current record has been seen
  int64_t line = 1;
  int64_t record_line = 1;
  int64_t quote_line = 0;

  auto end_field = [&] {
    fields.push_back(std::move(field));
    field.clear();
    was_quoted = false;
  };
  auto end_record = [&] {
    const bool last_was_quoted = was_quoted;
    end_field();
    // A line with nothing on it is skipped rather than read as a one-field row.
    if (!(fields.size() == 1 && fields[0].empty() && !last_was_quoted)) {
      records.push_back(std::move(fields));
      lines.push_back(record_line);
    }
    fields.clear();
    record_open = false;
  };

  for (size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (!record_open) {
      record_open = true;
      record_line = line;
    }
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
      quote_line = line;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
    } else {
      field += c;
    }
  }
  UNLEARN_CHECK_AS(FormatError, !quoted, path, ":", quote_line,
                   ": a quoted field is never closed (missing '\"')");
  if (record_open) end_record();
  return records;
}

}  // namespace

int64_t CsvTable::find(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int64_t>(i);
  }
  return -1;
}

size_t CsvTable::require(const std::string& name, const std::string& role) const {
  const int64_t index = find(name);
  UNLEARN_CHECK_AS(FormatError, index >= 0, path, ": no column '", name, "' (", role,
                   "); the columns are: ", join_names(header));
  return static_cast<size_t>(index);
}

std::string CsvTable::where(size_t row) const { return path + ":" + std::to_string(lines.at(row)); }

CsvTable parse_csv(const std::string& text, const std::string& path) {
  CsvTable table;
  table.path = path;
  std::vector<int64_t> lines;
  // Skip a UTF-8 byte-order mark, as spreadsheet exports write, before anything else: left in
  // place it would stop a quoted first header name from being read as quoted.
  const size_t start = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  auto records = split_records(text, start, path, lines);
  UNLEARN_CHECK_AS(FormatError, !records.empty(), path, ": empty file (expected a header row)");

  table.header = std::move(records.front());
  std::set<std::string> seen;
  for (size_t c = 0; c < table.header.size(); ++c) {
    const std::string& name = table.header[c];
    UNLEARN_CHECK_AS(FormatError, !name.empty(), path, ":", lines[0], ": column ", c + 1,
                     " of the header has no name");
    UNLEARN_CHECK_AS(FormatError, seen.insert(name).second, path, ":", lines[0], ": column '", name,
                     "' appears twice in the header");
  }
  for (size_t r = 1; r < records.size(); ++r) {
    auto& fields = records[r];
    const size_t want = table.header.size();
    if (fields.size() < want) {
      throw FormatError(detail::concat(path, ":", lines[r], ": row has ", fields.size(),
                                       " fields but the header has ", want, " (missing column '",
                                       table.header[fields.size()], "')"));
    }
    UNLEARN_CHECK_AS(FormatError, fields.size() == want, path, ":", lines[r], ": row has ",
                     fields.size(), " fields but the header has ", want,
                     " (an unquoted comma in a value?)");
    table.rows.push_back(std::move(fields));
    table.lines.push_back(lines[r]);
  }
  return table;
}

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  UNLEARN_CHECK_AS(IoError, in.good(), "cannot open ", path);
  std::ostringstream text;
  text << in.rdbuf();
  UNLEARN_CHECK_AS(IoError, !in.bad(), "cannot read ", path);
  return parse_csv(text.str(), path);
}

Column typed_column(const std::string& name, std::vector<std::string> values) {
  bool all_integers = true;
  bool all_numbers = true;
  for (const auto& v : values) {
    if (all_integers && !parse_integer(v)) all_integers = false;
    if (!parse_real(v)) {
      all_numbers = false;
      break;
    }
  }
  if (all_integers) {
    std::vector<int64_t> ints;
    ints.reserve(values.size());
    for (const auto& v : values) ints.push_back(*parse_integer(v));
    return Column{name, std::move(ints)};
  }
  if (all_numbers) {
    std::vector<double> reals;
    reals.reserve(values.size());
    for (const auto& v : values) reals.push_back(*parse_real(v));
    return Column{name, std::move(reals)};
  }
  return Column{name, std::move(values)};
}

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace unlearn
