// CSV sample sheets (parse_csv, typed_column, csv_field) and salted patient hashes.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "expect_error.h"
#include "idx_test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/core/sha256.h"
#include "unlearn/data/csv.h"
#include "unlearn/data/patient_hash.h"

namespace unlearn {
namespace {

using test::message_of;
using test_util::TempDir;

using Rows = std::vector<std::vector<std::string>>;

/// Expects `f` to throw FormatError whose message contains every one of `needles`.
template <typename F>
void expect_format_error(F&& f, const std::vector<std::string>& needles) {
  const std::string msg = message_of<FormatError>(std::forward<F>(f));
  for (const auto& needle : needles) {
    EXPECT_NE(msg.find(needle), std::string::npos)
        << "message: " << msg << "\nexpected: " << needle;
  }
}

TEST(Csv, PlainTable) {
  const CsvTable t = parse_csv("path,label\na.png,1\nb.png,0\n", "s.csv");
  EXPECT_EQ(t.path, "s.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"path", "label"}));
  EXPECT_EQ(t.rows, (Rows{{"a.png", "1"}, {"b.png", "0"}}));
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.find("label"), 1);
  EXPECT_EQ(t.find("split"), -1);
  EXPECT_EQ(t.require("path", "the image"), 0U);
  EXPECT_EQ(t.where(1), "s.csv:3");
}

TEST(Csv, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  // Row 1 spans lines 2-3; row 2 starts on line 4.
  const std::string text =
      "name,note\n"
      "\"a,b\",\"two\nlines\"\n"
      "\"say \"\"hi\"\"\",\"\"\n";
  const CsvTable t = parse_csv(text, "q.csv");
  ASSERT_EQ(t.rows.size(), 2U);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"a,b", "two\nlines"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"say \"hi\"", ""}));
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 4}));
}

TEST(Csv, CrlfBomAndBlankLines) {
  const std::string text = "\xEF\xBB\xBF\"path\",label\r\n\r\na.png,1\r\n\r\nb.png,2";
  const CsvTable t = parse_csv(text, "w.csv");
  // The byte-order mark goes, and the first header name is still read as a quoted field.
  EXPECT_EQ(t.header, (std::vector<std::string>{"path", "label"}));
  EXPECT_EQ(t.rows, (Rows{{"a.png", "1"}, {"b.png", "2"}}));
  EXPECT_EQ(t.lines, (std::vector<int64_t>{3, 5}));
}

TEST(Csv, BomBeforeUnquotedHeader) {
  const CsvTable t = parse_csv("\xEF\xBB\xBFpath\nx\n", "b.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"path"}));
  EXPECT_EQ(t.rows, (Rows{{"x"}}));
}

TEST(Csv, QuotedEmptyFieldIsARowNotABlankLine) {
  const CsvTable t = parse_csv("note\n\"\"\n\nx\n", "e.csv");
  EXPECT_EQ(t.rows, (Rows{{""}, {"x"}}));
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 4}));
}

TEST(Csv, HeaderOnlyHasNoRows) {
  const CsvTable t = parse_csv("path,label\n", "h.csv");
  EXPECT_EQ(t.header.size(), 2U);
  EXPECT_TRUE(t.rows.empty());
}

TEST(Csv, DuplicateHeaderName) {
  expect_format_error([] { parse_csv("\npath,label,path\na,1,b\n", "d.csv"); },
                      {"d.csv:2", "'path' appears twice"});
}

TEST(Csv, EmptyHeaderName) {
  expect_format_error([] { parse_csv("path,,label\n", "n.csv"); }, {"n.csv:1", "column 2"});
}

TEST(Csv, EmptyFile) {
  expect_format_error([] { parse_csv("", "z.csv"); }, {"z.csv", "empty file"});
  expect_format_error([] { parse_csv("\n\r\n", "z.csv"); }, {"z.csv", "empty file"});
}

TEST(Csv, UnterminatedQuoteNamesTheLineItOpensOn) {
  expect_format_error([] { parse_csv("a,b\n1,2\n3,\"open\nmore\n", "u.csv"); },
                      {"u.csv:3", "never closed"});
}

TEST(Csv, ShortRowNamesTheMissingColumn) {
  expect_format_error([] { parse_csv("path,label,split\na.png,1,train\nb.png,0\n", "s.csv"); },
                      {"s.csv:3", "2 fields", "header has 3", "missing column 'split'"});
}

TEST(Csv, LongRow) {
  expect_format_error([] { parse_csv("path,label\na.png,1,extra\n", "l.csv"); },
                      {"l.csv:2", "3 fields", "header has 2"});
}

TEST(Csv, RequireNamesFileRoleAndColumns) {
  const CsvTable t = parse_csv("path,label\n", "r.csv");
  expect_format_error([&] { t.require("split", "the split of each row"); },
                      {"r.csv", "no column 'split'", "the split of each row", "path, label"});
}

TEST(Csv, ReadCsvFile) {
  TempDir dir;
  const std::string path = dir.file("sheet.csv");
  test_util::write_bytes(path, {'a', ',', 'b', '\n', '1', ',', '2', '\n'});
  const CsvTable t = read_csv(path);
  EXPECT_EQ(t.path, path);
  EXPECT_EQ(t.rows, (Rows{{"1", "2"}}));
  const std::string msg = message_of<IoError>([&] { read_csv(dir.file("missing.csv")); });
  EXPECT_NE(msg.find("missing.csv"), std::string::npos) << msg;
}

TEST(Csv, TypedColumnIntegers) {
  const Column c = typed_column("year", {"2018", "-3", "+7", "0"});
  EXPECT_EQ(c.name, "year");
  ASSERT_TRUE(std::holds_alternative<std::vector<int64_t>>(c.values));
  EXPECT_EQ(std::get<std::vector<int64_t>>(c.values), (std::vector<int64_t>{2018, -3, 7, 0}));
}

TEST(Csv, TypedColumnReals) {
  const Column c = typed_column("dose", {"1", "2.5", "1e-3"});
  ASSERT_TRUE(std::holds_alternative<std::vector<double>>(c.values));
  EXPECT_EQ(std::get<std::vector<double>>(c.values), (std::vector<double>{1.0, 2.5, 0.001}));
}

TEST(Csv, TypedColumnStrings) {
  for (const std::vector<std::string>& values :
       {std::vector<std::string>{"A", "B"}, std::vector<std::string>{"1", "x"},
        std::vector<std::string>{"1", ""}, std::vector<std::string>{"1.5", "nan"},
        std::vector<std::string>{"2019", "2019b"}}) {
    const Column c = typed_column("v", values);
    EXPECT_TRUE(c.is_string()) << values[1];
    EXPECT_EQ(std::get<std::vector<std::string>>(c.values), values);
  }
}

TEST(Csv, FieldQuotingRoundTrips) {
  const std::vector<std::string> values = {"plain",      "a,b",    "say \"hi\"",
                                           "two\nlines", "cr\rlf", ""};
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  std::string header;
  std::string row;
  for (size_t i = 0; i < values.size(); ++i) {
    header += (i > 0 ? "," : "") + std::string("c") + std::to_string(i);
    row += (i > 0 ? "," : "") + csv_field(values[i]);
  }
  const CsvTable t = parse_csv(header + "\n" + row + "\n", "rt.csv");
  ASSERT_EQ(t.rows.size(), 1U);
  EXPECT_EQ(t.rows[0], values);
}

// ---- Patient IDs -------------------------------------------------------------------------------

/// Every test that hashes sets the same salt first; the salt is read once per process.
void use_test_salt() { ::setenv("UNLEARN_PATIENT_SALT", "unit-test-salt", 1); }

TEST(PatientHash, IsSaltedSha256Prefix) {
  use_test_salt();
  const std::string h = patient_hash("P-000123");
  ASSERT_EQ(h.size(), 18U);
  EXPECT_EQ(h.substr(0, 2), "p-");
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef", 2), std::string::npos) << h;
  // Worked out independently: SHA-256 over salt, a newline, then the ID.
  Sha256 digest;
  digest.update(patient_salt() + "\nP-000123");
  EXPECT_EQ(h, "p-" + digest.hex().substr(0, 16));
  EXPECT_EQ(h.find("000123"), std::string::npos);
}

TEST(PatientHash, StableTrimmedAndDistinct) {
  use_test_salt();
  EXPECT_EQ(patient_hash("P1"), patient_hash("P1"));
  EXPECT_EQ(patient_hash("  P1 "), patient_hash("P1"));  // DICOM pads values with spaces
  EXPECT_NE(patient_hash("P1"), patient_hash("P2"));
  EXPECT_EQ(patient_hash(""), "");
  EXPECT_EQ(patient_hash("   "), "");
}

TEST(PatientHash, PatientColumnNames) {
  for (const char* name : {"PatientID", "patient_id", "patient", "PATIENT", "Patient_ID"}) {
    EXPECT_TRUE(is_patient_column(name)) << name;
  }
  for (const char* name : {"patients", "id", "patient_age", "PatientName", ""}) {
    EXPECT_FALSE(is_patient_column(name)) << name;
  }
}

}  // namespace
}  // namespace unlearn
