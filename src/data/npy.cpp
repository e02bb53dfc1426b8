#include "unlearn/data/npy.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "unlearn/core/error.h"

namespace unlearn {

// Helpers sit in a named namespace: the unity build compiles this file together with the other
// readers, whose anonymous-namespace helpers would otherwise clash with these.
namespace {
namespace npy_impl {

// "\x93NUMPY", then the major and minor version bytes.
constexpr uint8_t kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr int64_t kMagicSize = 6;
constexpr int kMaxDims = 32;  // NumPy's own limit

constexpr bool kNativeLittle = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

struct Dtype {
  NpyType type;
  int64_t itemsize;
  bool little;  // byte order of the stored elements (irrelevant for 1-byte types)
};

/// "<i8" -> int64 little endian, etc. Empty when the text is not a dtype we read.
std::optional<Dtype> dtype_of(const std::string& descr) {
  if (descr.size() < 3) return std::nullopt;
  const char order = descr[0];
  const char kind = descr[1];
  const std::string size_text = descr.substr(2);
  if (std::string("<>|=").find(order) == std::string::npos) return std::nullopt;
  if (!std::all_of(size_text.begin(), size_text.end(),
                   [](unsigned char c) { return std::isdigit(c) != 0; }) ||
      size_text.size() > 2) {
    return std::nullopt;
  }
  const int size = std::stoi(size_text);
  // '|' means "byte order does not apply", which NumPy only writes for 1-byte types.
  if (order == '|' && size != 1) return std::nullopt;
  const bool little = order == '<' || (order == '=' && kNativeLittle) || order == '|';
  const auto make = [&](NpyType t) { return Dtype{t, size, little}; };
  switch (kind) {
    case 'b':
      if (size == 1) return make(NpyType::kBool);
      break;
    case 'i':
      if (size == 1) return make(NpyType::kInt8);
      if (size == 2) return make(NpyType::kInt16);
      if (size == 4) return make(NpyType::kInt32);
      if (size == 8) return make(NpyType::kInt64);
      break;
    case 'u':
      if (size == 1) return make(NpyType::kUInt8);
      if (size == 2) return make(NpyType::kUInt16);
      if (size == 4) return make(NpyType::kUInt32);
      if (size == 8) return make(NpyType::kUInt64);
      break;
    case 'f':
      if (size == 4) return make(NpyType::kFloat32);
      if (size == 8) return make(NpyType::kFloat64);
      break;
    default:
      break;
  }
  return std::nullopt;
}

/// The three fields of the header dict, as parsed.
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

/// A recursive-descent reader for the Python dict literal NumPy writes, e.g.
/// {'descr': '<u1', 'fortran_order': False, 'shape': (3, 28, 28), }
/// Offsets in messages count from the start of the .npy bytes.
class HeaderParser {
 public:
  HeaderParser(std::string text, int64_t base, const std::string& where)
      : text_(std::move(text)), base_(base), where_(where) {}

  Header parse() {
    bool seen_descr = false;
    bool seen_fortran = false;
    bool seen_shape = false;
    Header header;
    skip_space();
    expect('{', "at the start of the header dict");
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const int64_t key_pos = pos_;
      const std::string key = parse_string("a key");
      skip_space();
      expect(':', "after key '" + key + "'");
      skip_space();
      if (key == "descr") {
        if (seen_descr) fail_at(key_pos, "key 'descr' appears twice");
        seen_descr = true;
        if (peek() == '[') {
          fail_at(pos_, "'descr' is a structured dtype (a list of fields), which is not supported");
        }
        header.descr = parse_string("the 'descr' value");
      } else if (key == "fortran_order") {
        if (seen_fortran) fail_at(key_pos, "key 'fortran_order' appears twice");
        seen_fortran = true;
        header.fortran_order = parse_bool("fortran_order");
      } else if (key == "shape") {
        if (seen_shape) fail_at(key_pos, "key 'shape' appears twice");
        seen_shape = true;
        header.shape = parse_shape();
      } else {
        fail_at(key_pos,
                "unexpected key '" + key + "' (expected 'descr', 'fortran_order', 'shape')");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') fail_at(pos_, "expected ',' or '}' after the value of '" + key + "'");
    }
    ++pos_;  // '}'
    skip_space();
    if (pos_ < size()) fail_at(pos_, "unexpected text after the header dict");
    if (!seen_descr) fail_at(0, "the header dict has no 'descr' key");
    if (!seen_fortran) fail_at(0, "the header dict has no 'fortran_order' key");
    if (!seen_shape) fail_at(0, "the header dict has no 'shape' key");
    return header;
  }

 private:
  int64_t size() const { return static_cast<int64_t>(text_.size()); }
  char peek() const { return pos_ < size() ? text_[static_cast<size_t>(pos_)] : '\0'; }

  void skip_space() {
    while (pos_ < size() && std::isspace(static_cast<unsigned char>(peek())) != 0) ++pos_;
  }

  [[noreturn]] void fail_at(int64_t pos, const std::string& what) const {
    throw FormatError(detail::concat("parse_npy: ", where_, ": malformed header at byte offset ",
                                     base_ + pos, ": ", what));
  }

  void expect(char c, const std::string& context) {
    if (peek() != c) fail_at(pos_, std::string("expected '") + c + "' " + context);
    ++pos_;
  }

  /// A Python string literal in single or double quotes (no escapes occur in NumPy headers).
  std::string parse_string(const std::string& what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail_at(pos_, "expected a quoted string as " + what);
    const int64_t start = pos_;
    const auto end = text_.find(quote, static_cast<size_t>(pos_ + 1));
    if (end == std::string::npos) fail_at(start, "unterminated string");
    std::string out =
        text_.substr(static_cast<size_t>(pos_ + 1), end - static_cast<size_t>(pos_) - 1);
    pos_ = static_cast<int64_t>(end) + 1;
    return out;
  }

  bool parse_bool(const std::string& key) {
    for (const auto& [word, value] :
         {std::pair<const char*, bool>{"True", true}, {"False", false}}) {
      const size_t n = std::strlen(word);
      if (text_.compare(static_cast<size_t>(pos_), n, word) == 0) {
        pos_ += static_cast<int64_t>(n);
        return value;
      }
    }
    fail_at(pos_, "expected True or False as the '" + key + "' value");
  }

  /// A tuple of non-negative integers: (), (5,), (5, 28, 28). Python 2's "5L" is accepted.
  std::vector<int64_t> parse_shape() {
    expect('(', "to start the 'shape' tuple");
    std::vector<int64_t> dims;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      const int64_t start = pos_;
      int64_t value = 0;
      if (std::isdigit(static_cast<unsigned char>(peek())) == 0) {
        fail_at(pos_, "expected a non-negative integer in 'shape'");
      }
      while (std::isdigit(static_cast<unsigned char>(peek())) != 0) {
        const int digit = peek() - '0';
        if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
          fail_at(start, "'shape' entry is too large");
        }
        value = value * 10 + digit;
        ++pos_;
      }
      if (peek() == 'L') ++pos_;
      dims.push_back(value);
      if (static_cast<int>(dims.size()) > kMaxDims) {
        fail_at(start, detail::concat("'shape' has more than ", kMaxDims, " dimensions"));
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail_at(pos_, "expected ',' or ')' in 'shape'");
    }
    ++pos_;  // ')'
    return dims;
  }

  std::string text_;
  int64_t base_;
  std::string where_;
  int64_t pos_ = 0;
};

uint32_t little_endian(const uint8_t* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

torch::ScalarType torch_type_of(NpyType type) {
  switch (type) {
    case NpyType::kBool:
      return torch::kBool;
    case NpyType::kInt8:
      return torch::kChar;
    case NpyType::kInt16:
      return torch::kShort;
    case NpyType::kInt32:
      return torch::kInt;
    case NpyType::kUInt8:
      return torch::kByte;
    case NpyType::kFloat32:
      return torch::kFloat;
    case NpyType::kFloat64:
      return torch::kDouble;
    case NpyType::kInt64:
    case NpyType::kUInt16:
    case NpyType::kUInt32:
    case NpyType::kUInt64:
      break;
  }
  return torch::kLong;
}

/// Reads element `i` of an unsigned array into a uint64.
uint64_t unsigned_at(const std::vector<uint8_t>& data, int64_t itemsize, int64_t i) {
  const uint8_t* p = data.data() + i * itemsize;
  if (itemsize == 2) {
    uint16_t v = 0;
    std::memcpy(&v, p, 2);
    return v;
  }
  if (itemsize == 4) {
    uint32_t v = 0;
    std::memcpy(&v, p, 4);
    return v;
  }
  uint64_t v = 0;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace npy_impl
}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool NpyArray::is_integer() const {
  return type != NpyType::kBool && type != NpyType::kFloat32 && type != NpyType::kFloat64;
}

torch::Tensor NpyArray::to_tensor() const {
  const int64_t n = numel();
  torch::Tensor out = torch::empty(shape, npy_impl::torch_type_of(type));
  if (n == 0) return out;
  switch (type) {
    case NpyType::kBool: {
      // NumPy bools are 0/1 bytes; anything else would break LibTorch's bool invariants.
      bool* p = out.data_ptr<bool>();
      for (int64_t i = 0; i < n; ++i) p[i] = data[static_cast<size_t>(i)] != 0;
      return out;
    }
    case NpyType::kUInt16:
    case NpyType::kUInt32:
    case NpyType::kUInt64: {
      int64_t* p = out.data_ptr<int64_t>();
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t v = npy_impl::unsigned_at(data, itemsize, i);
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          throw FormatError(detail::concat("parse_npy: ", where, ": element ", i, " (", v,
                                           ") of a '", descr, "' array does not fit in int64"));
        }
        p[i] = static_cast<int64_t>(v);
      }
      return out;
    }
    default:
      std::memcpy(out.data_ptr(), data.data(), static_cast<size_t>(n * itemsize));
      return out;
  }
}

namespace {

/// Throws `fail(...)` unless `available` bytes are exactly what the header's shape needs.
template <class Fail>
void check_data_size(const npy_impl::Header& header, int64_t itemsize, int64_t available,
                     int64_t data_start, const Fail& fail) {
  int64_t expected = itemsize;
  for (int64_t d : header.shape) {
    if (d != 0 && expected > std::numeric_limits<int64_t>::max() / d) {
      expected = -1;  // beyond int64: reported below without overflowing
      break;
    }
    expected *= d;
  }
  if (expected == available) return;
  std::string shape_text = "(";
  for (size_t i = 0; i < header.shape.size(); ++i) {
    shape_text += (i > 0 ? ", " : "") + std::to_string(header.shape[i]);
  }
  shape_text += header.shape.size() == 1 ? ",)" : ")";
  throw fail(detail::concat("'shape' ", shape_text, " of '", header.descr, "' needs ",
                            expected < 0 ? std::string("more than 2^63") : std::to_string(expected),
                            " bytes of data, but ", available,
                            " bytes follow the header at byte offset ", data_start));
}

}  // namespace

NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& where) {
  const auto total = static_cast<int64_t>(bytes.size());
  const auto fail = [&](const std::string& what) -> FormatError {
    return FormatError(detail::concat("parse_npy: ", where, ": ", what));
  };

  if (total < npy_impl::kMagicSize ||
      std::memcmp(bytes.data(), npy_impl::kMagic, npy_impl::kMagicSize) != 0) {
    throw fail("bad magic string at byte offset 0 (expected \\x93NUMPY; is this a .npy array?)");
  }
  if (total < npy_impl::kMagicSize + 2) throw fail("truncated at byte offset 6: no version bytes");
  const int major = bytes[6];
  const int minor = bytes[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    throw fail(detail::concat("format version ", major, ".", minor,
                              " at byte offset 6 is not supported (expected 1.0, 2.0 or 3.0)"));
  }
  // Version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4 (3.0 allows UTF-8 text).
  const int length_bytes = major == 1 ? 2 : 4;
  const int64_t header_start = 8 + length_bytes;
  if (total < header_start) {
    throw fail(detail::concat("truncated header at byte offset 8: expected ", length_bytes,
                              " bytes of header length, found ", total - 8));
  }
  const int64_t header_len = npy_impl::little_endian(bytes.data() + 8, length_bytes);
  if (header_start + header_len > total) {
    throw fail(detail::concat("truncated header: the header length at byte offset 8 is ",
                              header_len, " bytes, but only ", total - header_start, " follow it (",
                              total, " bytes in all)"));
  }
  const std::string text(bytes.begin() + header_start, bytes.begin() + header_start + header_len);
  const npy_impl::Header header = npy_impl::HeaderParser(text, header_start, where).parse();

  const std::optional<npy_impl::Dtype> dtype = npy_impl::dtype_of(header.descr);
  if (!dtype) {
    throw fail(detail::concat("'descr' '", header.descr,
                              "' is not supported (expected bool, int8..int64, uint8..uint64, "
                              "float32 or float64, e.g. '|u1', '<i8', '>f4')"));
  }
  if (header.fortran_order) {
    throw fail(
        "'fortran_order' True is not supported; save with C order "
        "(numpy.ascontiguousarray)");
  }

  NpyArray out;
  out.descr = header.descr;
  out.type = dtype->type;
  out.itemsize = dtype->itemsize;
  out.shape = header.shape;
  out.where = where;

  const int64_t data_start = header_start + header_len;
  check_data_size(header, dtype->itemsize, total - data_start, data_start, fail);
  out.data.assign(bytes.begin() + data_start, bytes.end());
  if (out.itemsize > 1 && dtype->little != npy_impl::kNativeLittle) {
    for (size_t i = 0; i < out.data.size(); i += static_cast<size_t>(out.itemsize)) {
      std::reverse(out.data.begin() + static_cast<std::ptrdiff_t>(i),
                   out.data.begin() + static_cast<std::ptrdiff_t>(i) + out.itemsize);
    }
  }
  return out;
}

}  // namespace unlearn
