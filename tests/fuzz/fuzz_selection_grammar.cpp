// Selections built from a grammar, then parsed and evaluated on a small data set. The input
// bytes are choices, not text: each one picks the next production, so the fuzzer reaches what
// random text rarely does: deep nesting of parentheses and `not`, long strings and `in` lists,
// hostile regular expressions (nested quantifiers, huge counts) matched against long values, and
// numbers at the edges of double and int64.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/core/error.h"
#include "unlearn/data/dataset.h"
#include "unlearn/select/selection.h"

namespace {

/// Reads the input one choice at a time; 0 once it is used up, so every input ends.
class Choices {
 public:
  Choices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t next() { return pos_ < size_ ? data_[pos_++] : 0; }
  size_t pick(size_t n) { return next() % n; }
  bool done() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

const char* const kColumns[] = {"class", "label", "id",      "device", "year",
                                "score", "split", "nowhere", "source", "patient"};
const char* const kOperators[] = {"==", "!=", "<", "<=", ">", ">=", "~", "in"};
const char* const kNumbers[] = {"0",
                                "-0",
                                "1",
                                "-1",
                                "2017",
                                "0.5",
                                "1e308",
                                "1e309",
                                "-1e309",
                                "1e-320",
                                "9223372036854775807",
                                "9223372036854775808",
                                "-9223372036854775809",
                                "0x10",
                                "1.",
                                ".5",
                                "nan",
                                "inf"};
const char* const kRegexPieces[] = {
    "(a*)*", "(a|a)*", "(a|aa)+", "(.*){1,9999}", ".{9999}", "a{2,1}",   "[^]", "\\b", "(?=a)",
    "(?!a)", "[",      ")",       "\\",           "\\1",     "a{99999}", "^",   "$",   "|",
    "[a-",   "(?:",    "Cirrus",  "\\d+",         "\\w",     "(",        "*"};

std::string quoted(Choices& c) {
  const char quote = c.pick(2) == 0 ? '\'' : '"';
  std::string body;
  const size_t length = c.pick(4) == 0 ? 1000 + c.next() * 40 : c.pick(16);
  const char* const alphabet = "aZ9 -_'\"\\\n\xc3\xa9";
  for (size_t i = 0; i < length; ++i) body += alphabet[c.pick(13)];
  return quote + body + quote;
}

std::string regex_literal(Choices& c) {
  std::string pattern;
  const size_t pieces = 1 + c.pick(8);
  for (size_t i = 0; i < pieces; ++i) pattern += kRegexPieces[c.pick(std::size(kRegexPieces))];
  return "'" + pattern + "'";
}

std::string literal(Choices& c) {
  return c.pick(2) == 0 ? kNumbers[c.pick(std::size(kNumbers))] : quoted(c);
}

std::string comparison(Choices& c) {
  const std::string column = kColumns[c.pick(std::size(kColumns))];
  const std::string op = kOperators[c.pick(std::size(kOperators))];
  if (op == "~") return column + " ~ " + regex_literal(c);
  if (op == "in") {
    std::string list = column + " in [";
    const size_t items = c.pick(4) == 0 ? 200 + c.next() * 4 : c.pick(6);
    for (size_t i = 0; i < items; ++i) list += (i > 0 ? ", " : "") + literal(c);
    return list + "]";
  }
  return column + " " + op + " " + literal(c);
}

std::string expression(Choices& c, int depth) {
  if (depth > 40 || c.done()) return comparison(c);
  switch (c.pick(9)) {
    case 0:
      return expression(c, depth + 1) + " and " + expression(c, depth + 1);
    case 1:
      return expression(c, depth + 1) + " or " + expression(c, depth + 1);
    case 2:
      return "not " + expression(c, depth + 1);
    case 3: {  // a run of parentheses, up to 255 deep (the limit is 100)
      const size_t levels = c.next();
      return std::string(levels, '(') + expression(c, depth + 1) + std::string(levels, ')');
    }
    case 4: {  // a run of `not`, up to 255 long
      std::string nots;
      for (size_t i = c.next(); i > 0; --i) nots += "not ";
      return nots + expression(c, depth + 1);
    }
    case 5:
      return "random(" + std::string(kNumbers[c.pick(std::size(kNumbers))]) + ", " +
             kNumbers[c.pick(std::size(kNumbers))] + ")";
    case 6:  // unbalanced or stray tokens
      return expression(c, depth + 1) + std::string(1, "()[],'\"@"[c.pick(8)]);
    default:
      return comparison(c);
  }
}

/// Eight rows with the columns the grammar names, one value long enough to make a backtracking
/// regex matcher hang.
const unlearn::Dataset& sample() {
  static const unlearn::Dataset data = [] {
    unlearn::Dataset d;
    d.images = torch::zeros({8, 1, 2, 2}, torch::kUInt8);
    d.labels = torch::arange(8, torch::kLong).remainder(4);
    d.class_names = {"cat", "dog", "bird", "fish"};
    d.metadata = unlearn::Metadata::with_ids(8, "train-", "file.idx");
    d.metadata.set(unlearn::Column{
        "device",
        std::vector<std::string>{"Cirrus 800", std::string(64, 'a'), "", "Spectralis",
                                 std::string(300, 'a') + "b", "\xc3\xa9", "a\nb", "Other"}});
    d.metadata.set(unlearn::Column{
        "year", std::vector<int64_t>{2017, 2018, 2019, 2020, 2017, INT64_MIN, INT64_MAX, 0}});
    d.metadata.set(unlearn::Column{
        "score", std::vector<double>{0.1, -0.0, 1e308, 0.7, 0.2, 5e-324, 0.3, 1.0}});
    return d;
  }();
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Choices choices(data, size);
  const std::string text = expression(choices, 0);
  try {
    unlearn::Selection::parse(text).mask(sample());
  } catch (const unlearn::Error&) {
  }
  return 0;
}
