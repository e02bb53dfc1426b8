// .npy parser and .npz reader, on arrays and archives written byte by byte in a temp folder.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zip.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <stdexcept>

#include "expect_error.h"
#include "idx_test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/data/npy.h"
#include "unlearn/data/npz.h"

namespace unlearn {
namespace {

using test::message_of;
using test_util::image_pixels;
using test_util::read_bytes;
using test_util::TempDir;
using test_util::write_bytes;

constexpr bool kLittleHost = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

/// A .npy file with the given header dict text, padded as NumPy pads it: spaces up to a multiple
/// of 64 bytes, then '\n'. `major` is the format version (1: 2-byte length, 2 and 3: 4-byte).
std::vector<uint8_t> npy_raw(std::string dict, const std::vector<uint8_t>& data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  dict.append((64 - (prefix + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  for (size_t i = 0; i < prefix - 8; ++i) out.push_back(static_cast<uint8_t>(dict.size() >> 8 * i));
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string tuple_text(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

/// A .npy file as numpy.save writes it.
std::vector<uint8_t> npy_bytes(const std::string& descr, const std::vector<int64_t>& shape,
                               const std::vector<uint8_t>& data, bool fortran = false,
                               int major = 1) {
  return npy_raw("{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                     ", 'shape': " + tuple_text(shape) + ", }",
                 data, major);
}

/// The bytes of `values` in little- or big-endian order.
template <typename T>
std::vector<uint8_t> encode(const std::vector<T>& values, bool big_endian) {
  std::vector<uint8_t> out;
  for (const T& v : values) {
    std::array<uint8_t, sizeof(T)> raw{};
    std::memcpy(raw.data(), &v, sizeof(T));
    if (big_endian == kLittleHost) std::reverse(raw.begin(), raw.end());
    out.insert(out.end(), raw.begin(), raw.end());
  }
  return out;
}

struct Member {
  std::string name;
  std::vector<uint8_t> bytes;
};

/// Packs `members` into a zip at `path`, each compressed with `method` (ZIP_CM_STORE/DEFLATE).
void write_npz(const std::string& path, const std::vector<Member>& members,
               zip_int32_t method = ZIP_CM_STORE) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (archive == nullptr) throw std::runtime_error("zip_open " + path);
  for (const Member& m : members) {
    zip_source_t* src = zip_source_buffer(archive, m.bytes.data(), m.bytes.size(), 0);
    const zip_int64_t index =
        src == nullptr ? -1 : zip_file_add(archive, m.name.c_str(), src, ZIP_FL_OVERWRITE);
    if (index < 0 ||
        zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), method, 0) != 0) {
      if (src != nullptr && index < 0) zip_source_free(src);
      zip_discard(archive);
      throw std::runtime_error("zip_file_add " + m.name);
    }
  }
  if (zip_close(archive) != 0) {
    const std::string msg = zip_strerror(archive);
    zip_discard(archive);
    throw std::runtime_error("zip_close " + path + ": " + msg);
  }
}

/// The compression method of member `name` as stored in `path`.
zip_uint16_t method_of(const std::string& path, const std::string& name) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY, &code);
  zip_stat_t st;
  zip_stat_init(&st);
  zip_stat(archive, name.c_str(), 0, &st);
  zip_discard(archive);
  return st.comp_method;
}

/// Gray images: `n` of h×w, '|u1', pixel (i, r, c) = i*16 + r*w + c (test_util::image_pixels).
Member gray_images(const std::string& split, int64_t n, int64_t h, int64_t w) {
  return {split + "_images.npy",
          npy_bytes("|u1", {n, h, w},
                    image_pixels(static_cast<uint32_t>(n), static_cast<uint32_t>(h),
                                 static_cast<uint32_t>(w)))};
}

/// RGB pixel (i, r, c, channel) of rgb_images.
int rgb_value(int64_t i, int64_t r, int64_t c, int64_t ch) {
  return static_cast<int>((i * 64 + r * 16 + c * 4 + ch) % 256);
}

/// RGB images: `n` of h×w×3 (channels last, as MedMNIST stores them).
Member rgb_images(const std::string& split, int64_t n, int64_t h, int64_t w) {
  std::vector<uint8_t> px;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < h; ++r) {
      for (int64_t c = 0; c < w; ++c) {
        for (int64_t ch = 0; ch < 3; ++ch)
          px.push_back(static_cast<uint8_t>(rgb_value(i, r, c, ch)));
      }
    }
  }
  return {split + "_images.npy", npy_bytes("|u1", {n, h, w, 3}, px)};
}

/// int64 labels of shape (N,) or (N, 1) in the given byte order.
Member int64_labels(const std::string& split, const std::vector<int64_t>& labels, bool big_endian,
                    bool column) {
  const auto n = static_cast<int64_t>(labels.size());
  return {split + "_labels.npy",
          npy_bytes(big_endian ? ">i8" : "<i8",
                    column ? std::vector<int64_t>{n, 1} : std::vector<int64_t>{n},
                    encode(labels, big_endian))};
}

/// A small valid MedMNIST-style set: 3 train, 2 test gray 2×3 images, labels (N, 1).
std::vector<Member> small_set() {
  return {gray_images("train", 3, 2, 3), int64_labels("train", {2, 0, 1}, false, true),
          gray_images("test", 2, 2, 3), int64_labels("test", {1, 0}, false, true)};
}

std::vector<Member> replace_member(std::vector<Member> members, Member m) {
  for (Member& old : members) {
    if (old.name == m.name) old = m;
  }
  return members;
}

void expect_contains(const std::string& msg, const std::string& needle) {
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg << "\nexpected: " << needle;
}

// ---------------------------------------------------------------------------------------------
// parse_npy

TEST(NpyParse, Uint8Matrix) {
  const NpyArray a = parse_npy(npy_bytes("|u1", {2, 3}, {1, 2, 3, 4, 5, 255}), "m.npy");
  EXPECT_EQ(a.descr, "|u1");
  EXPECT_EQ(a.type, NpyType::kUInt8);
  EXPECT_EQ(a.itemsize, 1);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.numel(), 6);
  EXPECT_TRUE(a.is_integer());
  const torch::Tensor t = a.to_tensor();
  EXPECT_EQ(t.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(t.equal(torch::tensor({1, 2, 3, 4, 5, 255}, torch::kUInt8).view({2, 3})));
}

TEST(NpyParse, IntegerTypesInBothByteOrders) {
  const std::vector<int64_t> i64 = {-2, 0, 300, std::numeric_limits<int64_t>::max()};
  const std::vector<int32_t> i32 = {-70000, 1, 65536};
  const std::vector<int16_t> i16 = {-300, 2, 258};
  const std::vector<uint16_t> u16 = {0, 65535, 258};
  const std::vector<uint32_t> u32 = {4000000000u, 1};
  const std::vector<uint64_t> u64 = {uint64_t{1} << 40, 7};
  for (const bool big : {false, true}) {
    const std::string o = big ? ">" : "<";
    SCOPED_TRACE(o);
    const NpyArray a = parse_npy(npy_bytes(o + "i8", {4}, encode(i64, big)), "a.npy");
    EXPECT_EQ(a.type, NpyType::kInt64);
    EXPECT_TRUE(a.to_tensor().equal(torch::tensor(i64, torch::kLong)));

    const torch::Tensor b = parse_npy(npy_bytes(o + "i4", {3}, encode(i32, big)), "b").to_tensor();
    EXPECT_EQ(b.scalar_type(), torch::kInt);
    EXPECT_TRUE(b.equal(torch::tensor({-70000, 1, 65536}, torch::kInt)));

    const torch::Tensor c = parse_npy(npy_bytes(o + "i2", {3}, encode(i16, big)), "c").to_tensor();
    EXPECT_EQ(c.scalar_type(), torch::kShort);
    EXPECT_TRUE(c.equal(torch::tensor({-300, 2, 258}, torch::kShort)));

    // LibTorch has no uint16/32/64: they widen to int64.
    const torch::Tensor d = parse_npy(npy_bytes(o + "u2", {3}, encode(u16, big)), "d").to_tensor();
    EXPECT_EQ(d.scalar_type(), torch::kLong);
    EXPECT_TRUE(d.equal(torch::tensor({0, 65535, 258}, torch::kLong)));

    const torch::Tensor e = parse_npy(npy_bytes(o + "u4", {2}, encode(u32, big)), "e").to_tensor();
    EXPECT_TRUE(e.equal(torch::tensor({int64_t{4000000000}, int64_t{1}}, torch::kLong)));

    const torch::Tensor f = parse_npy(npy_bytes(o + "u8", {2}, encode(u64, big)), "f").to_tensor();
    EXPECT_TRUE(f.equal(torch::tensor({int64_t{1} << 40, int64_t{7}}, torch::kLong)));
  }
  const torch::Tensor s = parse_npy(npy_bytes("|i1", {2}, {0xff, 0x05}), "s").to_tensor();
  EXPECT_EQ(s.scalar_type(), torch::kChar);
  EXPECT_TRUE(s.equal(torch::tensor({-1, 5}, torch::kChar)));
  EXPECT_EQ(parse_npy(npy_bytes("<u1", {1}, {9}), "u").to_tensor().item<int>(), 9);
}

TEST(NpyParse, FloatsAndBools) {
  for (const bool big : {false, true}) {
    const std::string o = big ? ">" : "<";
    const torch::Tensor f =
        parse_npy(npy_bytes(o + "f4", {2}, encode(std::vector<float>{1.5F, -2.25F}, big)), "f")
            .to_tensor();
    EXPECT_EQ(f.scalar_type(), torch::kFloat);
    EXPECT_TRUE(f.equal(torch::tensor({1.5F, -2.25F})));
    const torch::Tensor d =
        parse_npy(npy_bytes(o + "f8", {1, 2}, encode(std::vector<double>{0.125, 1e300}, big)), "d")
            .to_tensor();
    EXPECT_EQ(d.scalar_type(), torch::kDouble);
    EXPECT_TRUE(d.equal(torch::tensor({0.125, 1e300}, torch::kDouble).view({1, 2})));
  }
  const NpyArray b = parse_npy(npy_bytes("|b1", {3}, {1, 0, 1}), "b");
  EXPECT_FALSE(b.is_integer());
  EXPECT_TRUE(b.to_tensor().equal(torch::tensor({true, false, true})));
}

TEST(NpyParse, Versions2And3ScalarsAndEmptyArrays) {
  for (const int major : {2, 3}) {
    const NpyArray a =
        parse_npy(npy_bytes("<i8", {2}, encode<int64_t>({5, -5}, false), false, major), "v");
    EXPECT_TRUE(a.to_tensor().equal(torch::tensor({5, -5}, torch::kLong)));
  }
  const NpyArray scalar = parse_npy(npy_bytes("|u1", {}, {42}), "scalar");
  EXPECT_EQ(scalar.to_tensor().dim(), 0);
  EXPECT_EQ(scalar.to_tensor().item<int>(), 42);
  const NpyArray empty = parse_npy(npy_bytes("<i8", {0, 1}, {}), "empty");
  EXPECT_EQ(empty.to_tensor().sizes(), torch::IntArrayRef({0, 1}));
  // Double quotes, Python 2's long suffix and no trailing comma are all valid Python.
  const NpyArray odd = parse_npy(
      npy_raw("{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"|u1\"}", {7, 8}), "odd");
  EXPECT_TRUE(odd.to_tensor().equal(torch::tensor({7, 8}, torch::kUInt8)));
}

TEST(NpyParse, RefusesBadMagicVersionAndTruncatedHeader) {
  expect_contains(message_of<FormatError>([] {
                    parse_npy({'P', 'K', 3, 4, 0, 0, 0, 0}, "x.npy");
                  }),
                  "parse_npy: x.npy: bad magic string at byte offset 0");
  expect_contains(message_of<FormatError>([] { parse_npy({}, "x.npy"); }), "bad magic");

  std::vector<uint8_t> v4 = npy_bytes("|u1", {1}, {1});
  v4[6] = 4;
  expect_contains(message_of<FormatError>([&] { parse_npy(v4, "x.npy"); }),
                  "format version 4.0 at byte offset 6 is not supported");

  // The header length says 118 bytes (128 - 10), but the bytes stop 30 bytes into it.
  std::vector<uint8_t> cut = npy_bytes("|u1", {1}, {1});
  cut.resize(40);
  const std::string msg = message_of<FormatError>([&] { parse_npy(cut, "d.npz: member a.npy"); });
  expect_contains(msg, "d.npz: member a.npy: truncated header");
  expect_contains(msg, "is 118 bytes, but only 30 follow");
  expect_contains(message_of<FormatError>([&] {
                    parse_npy({0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 5}, "x.npy");
                  }),
                  "truncated header at byte offset 8");
}

TEST(NpyParse, RefusesUnsupportedDtypesAndFortranOrder) {
  expect_contains(message_of<FormatError>(
                      [] { parse_npy(npy_bytes("<c16", {1}, std::vector<uint8_t>(16)), "x.npy"); }),
                  "x.npy: 'descr' '<c16' is not supported");
  for (const std::string descr : {"<f2", "|O", "<U5", "|i4", "<i3", "u1", "<x8"}) {
    expect_contains(message_of<FormatError>([&] { parse_npy(npy_bytes(descr, {0}, {}), "x"); }),
                    "'descr' '" + descr + "' is not supported");
  }
  expect_contains(message_of<FormatError>([] {
                    parse_npy(npy_raw("{'descr': [('a', '<i4')], 'fortran_order': False, "
                                      "'shape': (1,), }",
                                      {0, 0, 0, 0}),
                              "x");
                  }),
                  "structured dtype");
  expect_contains(message_of<FormatError>([] {
                    parse_npy(npy_bytes("|u1", {2, 2}, {1, 2, 3, 4}, /*fortran=*/true), "f.npy");
                  }),
                  "f.npy: 'fortran_order' True is not supported; save with C order");
}

TEST(NpyParse, RefusesShapeMismatch) {
  const std::string msg = message_of<FormatError>([] {
    parse_npy(npy_bytes("<i2", {2, 3}, std::vector<uint8_t>(11)), "s.npy");
  });
  expect_contains(msg, "s.npy: 'shape' (2, 3) of '<i2' needs 12 bytes of data, but 11 bytes");
  expect_contains(msg, "follow the header at byte offset 128");
  expect_contains(message_of<FormatError>([] {
                    parse_npy(npy_bytes("|u1", {2}, {1, 2, 3}), "s.npy");
                  }),
                  "'shape' (2,) of '|u1' needs 2 bytes of data, but 3 bytes");
  // A shape whose byte count overflows int64 is reported, not wrapped around.
  expect_contains(message_of<FormatError>([] {
                    parse_npy(npy_bytes("<i8", {int64_t{1} << 40, int64_t{1} << 40}, {1}), "s");
                  }),
                  "needs more than 2^63 bytes of data, but 1 bytes");
}

TEST(NpyParse, RefusesMalformedDicts) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"'descr': '|u1', 'fortran_order': False, 'shape': (1,)}", "expected '{'"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (1,)", "expected ',' or '}'"},
      {"{'descr': '|u1', 'fortran_order': False}", "no 'shape' key"},
      {"{'descr': '|u1', 'shape': (1,)}", "no 'fortran_order' key"},
      {"{'fortran_order': False, 'shape': (1,)}", "no 'descr' key"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unexpected key"},
      {"{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (1,)}", "appears twice"},
      {"{'descr': '|u1', 'fortran_order': false, 'shape': (1,)}", "expected True or False"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (-1,)}", "non-negative integer"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': [1]}", "expected '('"},
      {"{'descr' '|u1', 'fortran_order': False, 'shape': (1,)}", "expected ':' after key 'descr'"},
      {"{'descr': |u1, 'fortran_order': False, 'shape': (1,)}", "expected a quoted string"},
      {"{'descr': '|u1', 'fortran_order': False, 'shape': (1,)} x", "unexpected text after"},
  };
  for (const auto& [dict_text, needle] : cases) {
    SCOPED_TRACE(dict_text);
    // clang 14 cannot capture a structured binding, hence the copy.
    const std::string dict = dict_text;
    const std::string msg =
        message_of<FormatError>([&] { parse_npy(npy_raw(dict, {1}), "h.npy"); });
    expect_contains(msg, "h.npy: malformed header at byte offset ");
    expect_contains(msg, needle);
  }
  // Offsets count from the start of the file: the header text starts at byte 10.
  expect_contains(message_of<FormatError>([] { parse_npy(npy_raw("x", {}), "h"); }),
                  "byte offset 10: expected '{'");
}

TEST(NpyParse, Uint64AboveInt64MaxIsRefusedOnConversion) {
  const NpyArray a =
      parse_npy(npy_bytes("<u8", {2}, encode<uint64_t>({1, uint64_t{1} << 63}, false)), "big.npy");
  expect_contains(
      message_of<FormatError>([&] { a.to_tensor(); }),
      "big.npy: element 1 (9223372036854775808) of a '<u8' array does not fit in int64");
}

// ---------------------------------------------------------------------------------------------
// read_npz

TEST(NpzRead, GrayStoredWithValidationPart) {
  TempDir dir;
  const std::string path = dir.file("pneumonia.npz");
  std::vector<Member> members = small_set();
  members.push_back(gray_images("val", 2, 2, 3));
  members.push_back(int64_labels("val", {4, 3}, false, true));
  write_npz(path, members, ZIP_CM_STORE);
  ASSERT_EQ(method_of(path, "train_images.npy"), ZIP_CM_STORE);

  const DataBundle b = read_npz(path, {});
  EXPECT_EQ(b.source, path);
  ASSERT_EQ(b.train.size(), 3);
  EXPECT_EQ(b.train.images.sizes(), torch::IntArrayRef({3, 1, 2, 3}));
  EXPECT_EQ(b.train.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(b.train.images.is_contiguous());
  // Pixel (i, r, c) was written as i*16 + r*3 + c.
  const torch::Tensor expected =
      torch::tensor({0, 1, 2, 3, 4, 5, 16, 17, 18, 19, 20, 21, 32, 33, 34, 35, 36, 37},
                    torch::kUInt8)
          .view({3, 1, 2, 3});
  EXPECT_TRUE(b.train.images.equal(expected));
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({2, 0, 1}, torch::kLong)));
  EXPECT_TRUE(b.test.labels.equal(torch::tensor({1, 0}, torch::kLong)));
  EXPECT_EQ(b.test.images[1][0][1][2].item<int>(), 16 + 3 + 2);

  ASSERT_EQ(b.validation.size(), 2);
  EXPECT_TRUE(b.validation.labels.equal(torch::tensor({4, 3}, torch::kLong)));
  // K = 1 + the largest label of all parts, the validation part included.
  const std::vector<std::string> names = {"0", "1", "2", "3", "4"};
  EXPECT_EQ(b.train.class_names, names);
  EXPECT_EQ(b.validation.class_names, names);
  EXPECT_EQ(b.test.class_names, names);

  EXPECT_EQ(b.train.metadata.column("id").text(2), "train-2");
  EXPECT_EQ(b.validation.metadata.column("id").text(1), "val-1");
  EXPECT_EQ(b.test.metadata.column("id").text(0), "test-0");
  EXPECT_EQ(b.test.metadata.column("source").text(1), path);
  EXPECT_NO_THROW(b.train.validate("t"));
  EXPECT_NO_THROW(b.validation.validate("v"));
  EXPECT_NO_THROW(b.test.validate("t"));

  std::vector<std::string> listed = npz_members(path);
  EXPECT_EQ(listed.size(), 6u);
  EXPECT_EQ(listed[0], "train_images.npy");
}

TEST(NpzRead, RgbDeflatedBigEndianFlatLabels) {
  TempDir dir;
  const std::string path = dir.file("derma.npz");
  write_npz(path,
            {rgb_images("train", 2, 2, 3), int64_labels("train", {1, 0}, true, false),
             rgb_images("test", 1, 2, 3), int64_labels("test", {2}, true, false)},
            ZIP_CM_DEFLATE);
  ASSERT_EQ(method_of(path, "train_images.npy"), ZIP_CM_DEFLATE);
  ASSERT_EQ(method_of(path, "test_labels.npy"), ZIP_CM_DEFLATE);

  const DataBundle b = read_npz(path, {});
  EXPECT_EQ(b.validation.size(), 0);
  ASSERT_EQ(b.train.images.sizes(), torch::IntArrayRef({2, 3, 2, 3}));
  EXPECT_TRUE(b.train.images.is_contiguous());
  // Channels-last (N,H,W,3) became channels-first N×3×H×W.
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t ch = 0; ch < 3; ++ch) {
      for (int64_t r = 0; r < 2; ++r) {
        for (int64_t c = 0; c < 3; ++c) {
          ASSERT_EQ(b.train.images[i][ch][r][c].item<int>(), rgb_value(i, r, c, ch))
              << i << " " << ch << " " << r << " " << c;
        }
      }
    }
  }
  EXPECT_EQ(b.test.images[0][2][1][2].item<int>(), 0 * 64 + 1 * 16 + 2 * 4 + 2);
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({1, 0}, torch::kLong)));
  EXPECT_TRUE(b.test.labels.equal(torch::tensor({2}, torch::kLong)));
  EXPECT_EQ(b.train.class_names, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_NO_THROW(b.train.validate("t"));
}

TEST(NpzRead, MedMnistUint8AndOtherIntegerLabels) {
  // MedMNIST itself stores labels as uint8 (N, 1).
  for (const std::string descr : {"|u1", "<u1", "|i1", "<i2", ">i4", "<u4", ">u8"}) {
    SCOPED_TRACE(descr);
    const bool big = descr[0] == '>';
    std::vector<uint8_t> data;
    if (descr.substr(1) == "u1" || descr.substr(1) == "i1") data = {3, 0, 1};
    if (descr.substr(1) == "i2") data = encode<int16_t>({3, 0, 1}, big);
    if (descr.substr(1) == "i4") data = encode<int32_t>({3, 0, 1}, big);
    if (descr.substr(1) == "u4") data = encode<uint32_t>({3, 0, 1}, big);
    if (descr.substr(1) == "u8") data = encode<uint64_t>({3, 0, 1}, big);
    TempDir dir;
    const std::string path = dir.file("m.npz");
    // Class 2 appears in the test split: without class names every class needs a sample.
    write_npz(path, replace_member(replace_member(small_set(), {"train_labels.npy",
                                                                npy_bytes(descr, {3, 1}, data)}),
                                   int64_labels("test", {2, 0}, false, true)));
    const DataBundle b = read_npz(path, {});
    EXPECT_TRUE(b.train.labels.equal(torch::tensor({3, 0, 1}, torch::kLong)));
    EXPECT_EQ(b.train.num_classes(), 4);
  }
}

TEST(NpzRead, ClassNamesFromFiles) {
  TempDir dir;
  const std::string path = dir.file("organ.npz");
  write_npz(path, small_set());
  write_bytes(dir.file("classes.txt"), {'x', '\n', 'y', '\n', 'z', '\n'});
  EXPECT_EQ(read_npz(path, {}).test.class_names, (std::vector<std::string>{"x", "y", "z"}));

  // `<name>.classes.txt` wins over the folder's classes.txt; blank lines are skipped.
  write_bytes(dir.file("organ.classes.txt"), {'a', '\n', '\n', ' ', 'b', ' ', '\r', '\n', 'c'});
  EXPECT_EQ(read_npz(path, {}).train.class_names, (std::vector<std::string>{"a", "b", "c"}));

  write_bytes(dir.file("organ.classes.txt"), {'a', '\n', 'b', '\n'});  // labels go up to 2
  const std::string msg = message_of<FormatError>([&] { read_npz(path, {}); });
  expect_contains(msg, dir.file("organ.classes.txt") + " lists 2 class names");
  expect_contains(msg, "label 2");
}

// Found as a new user would (issue 22): one stray label made a model with 191 empty classes.
TEST(NpzRead, AStrayLabelWithoutClassNamesIsRefused) {
  TempDir dir;
  const std::string path = dir.file("stray.npz");
  write_npz(path, replace_member(small_set(), int64_labels("train", {1, 0, 200}, false, true)));
  const std::string msg = message_of<FormatError>([&] { read_npz(path, {}); });
  expect_contains(msg, "labels run from 0 to 200 but 198 of those 201 classes have no sample");
  expect_contains(msg, "stray.classes.txt");
  // Naming 201 classes declares the empty ones deliberate.
  std::vector<uint8_t> names;
  for (int k = 0; k <= 200; ++k) {
    for (char c : std::to_string(k) + "\n") names.push_back(static_cast<uint8_t>(c));
  }
  write_bytes(dir.file("stray.classes.txt"), names);
  EXPECT_EQ(read_npz(path, {}).train.class_names.size(), 201u);
}

TEST(NpzRead, MultiLabelNeedsLabelIndex) {
  TempDir dir;
  const std::string path = dir.file("chest.npz");
  // 3 samples × 14 findings; finding k of sample i is present when (i + k) % 3 == 0.
  const auto findings = [](int n) {
    std::vector<uint8_t> out;
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < 14; ++k) out.push_back((i + k) % 3 == 0 ? 1 : 0);
    }
    return out;
  };
  std::vector<Member> members = small_set();
  members = replace_member(members, {"train_labels.npy", npy_bytes("|u1", {3, 14}, findings(3))});
  members = replace_member(members, {"test_labels.npy", npy_bytes("|u1", {2, 14}, findings(2))});
  write_npz(path, members, ZIP_CM_DEFLATE);

  const std::string msg = message_of<InvalidArgument>([&] { read_npz(path, {}); });
  expect_contains(msg, path + ": member train_labels.npy: labels are multi-label (3×14)");
  expect_contains(msg, "pick one column with --label-index k (0 to 13)");

  DataOptions options;
  options.label_index = 4;  // (i + 4) % 3 == 0 for i = 2 only
  const DataBundle b = read_npz(path, options);
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({0, 0, 1}, torch::kLong)));
  EXPECT_TRUE(b.test.labels.equal(torch::tensor({0, 0}, torch::kLong)));
  EXPECT_EQ(b.train.class_names, (std::vector<std::string>{"0", "1"}));
  options.label_index = 0;
  EXPECT_TRUE(read_npz(path, options).train.labels.equal(torch::tensor({1, 0, 0}, torch::kLong)));

  options.label_index = 14;
  expect_contains(message_of<InvalidArgument>([&] { read_npz(path, options); }),
                  "--label-index 14 is out of range: the labels of " + path + " have 14 columns");
}

TEST(NpzRead, LabelIndexBeyondASingleColumnIsRefused) {
  TempDir dir;
  const std::string path = dir.file("m.npz");
  write_npz(path, small_set());
  DataOptions options;
  options.label_index = 0;
  EXPECT_EQ(read_npz(path, options).train.size(), 3);
  options.label_index = 1;
  expect_contains(message_of<InvalidArgument>([&] { read_npz(path, options); }),
                  "have 1 column (0 to 0)");
}

TEST(NpzErrors, MissingMemberListsThePresentOnes) {
  TempDir dir;
  const std::string path = dir.file("m.npz");
  std::vector<Member> members = small_set();
  members.pop_back();  // test_labels
  write_npz(path, members);
  const std::string msg = message_of<FormatError>([&] { read_npz(path, {}); });
  expect_contains(msg, "read_npz: " + path + ": missing member 'test_labels' (test_labels.npy)");
  expect_contains(msg, "the archive holds: train_images.npy, train_labels.npy, test_images.npy");

  members = small_set();
  members.push_back(gray_images("val", 1, 2, 3));
  write_npz(path, members);
  expect_contains(message_of<FormatError>([&] { read_npz(path, {}); }),
                  "missing member 'val_labels'");

  // libzip deletes an archive left empty, so the empty zip is written by hand: an end-of-central-
  // directory record and nothing else.
  std::vector<uint8_t> empty_zip(22, 0);
  empty_zip[0] = 'P';
  empty_zip[1] = 'K';
  empty_zip[2] = 5;
  empty_zip[3] = 6;
  write_bytes(path, empty_zip);
  expect_contains(message_of<FormatError>([&] { read_npz(path, {}); }),
                  "the archive holds: nothing");
}

TEST(NpzErrors, NotAZipAndMissingFile) {
  TempDir dir;
  const std::string path = dir.file("fake.npz");
  write_bytes(path, npy_bytes("|u1", {1}, {1}));  // an .npy is not an .npz
  const std::string msg = message_of<FormatError>([&] { read_npz(path, {}); });
  expect_contains(msg, "read_npz: " + path + ": not a zip archive");

  expect_contains(message_of<IoError>([&] { read_npz(dir.file("absent.npz"), {}); }),
                  dir.file("absent.npz"));
  EXPECT_THROW(read_npz(dir.path(), {}), IoError);
}

TEST(NpzErrors, MalformedMembersNameTheMember) {
  TempDir dir;
  const std::string path = dir.file("m.npz");
  std::vector<uint8_t> cut = npy_bytes("|u1", {3, 1}, {0, 1, 2});
  cut.resize(30);
  const std::vector<std::pair<Member, std::string>> cases = {
      {{"train_labels.npy", cut}, "member train_labels.npy: truncated header"},
      {{"train_images.npy", npy_bytes("|u1", {3, 2, 3}, image_pixels(3, 2, 3), true)},
       "member train_images.npy: 'fortran_order' True is not supported; save with C order"},
      {{"test_labels.npy", npy_bytes("<c16", {2}, std::vector<uint8_t>(32))},
       "member test_labels.npy: 'descr' '<c16' is not supported"},
      {{"test_images.npy", npy_bytes("|u1", {2, 2, 3}, image_pixels(2, 2, 2))},
       "member test_images.npy: 'shape' (2, 2, 3) of '|u1' needs 12 bytes of data, but 8"},
      {{"train_images.npy", npy_bytes("<f4", {3, 2, 3}, std::vector<uint8_t>(72))},
       "member train_images.npy: images must be uint8 ('|u1'), found '<f4'"},
      {{"train_images.npy", npy_bytes("|u1", {3, 6}, image_pixels(3, 2, 3))},
       "member train_images.npy: images have shape (3, 6); expected (N, H, W) or (N, H, W, 3)"},
      {{"train_images.npy", npy_bytes("|u1", {1, 3, 3, 2}, image_pixels(3, 2, 3))},
       "images have shape (1, 3, 3, 2); expected"},
      {{"train_labels.npy", npy_bytes("<f8", {3}, std::vector<uint8_t>(24))},
       "member train_labels.npy: labels must be integers, found '<f8'"},
      {{"train_labels.npy", npy_bytes("|u1", {3, 1, 1}, {0, 1, 2})},
       "labels have shape (3, 1, 1); expected (N,) or (N, 1)"},
      {{"train_labels.npy", npy_bytes("|i1", {3}, {0, 0xff, 2})},
       "member train_labels.npy: label -1 at row 1 is negative"},
      {int64_labels("train", {0, 1}, false, true),
       ": train_labels.npy holds 2 labels but train_images.npy holds 3 images"},
      {gray_images("test", 2, 3, 2), "test images are 1×3×2 (C×H×W) but train images are 1×2×3"},
  };
  for (const auto& [member, needle] : cases) {
    SCOPED_TRACE(needle);
    write_npz(path, replace_member(small_set(), member), ZIP_CM_DEFLATE);
    const std::string msg = message_of<FormatError>([&] { read_npz(path, {}); });
    expect_contains(msg, path);
    expect_contains(msg, needle);
  }
}

TEST(NpzErrors, CorruptMemberDataNamesTheMember) {
  // Random pixels do not compress, so the member's data is long enough to damage in the middle.
  std::mt19937 rng(7);
  std::vector<uint8_t> noise(3 * 16 * 16);
  for (uint8_t& v : noise) v = static_cast<uint8_t>(rng());
  const std::vector<Member> members =
      replace_member(small_set(), {"train_images.npy", npy_bytes("|u1", {3, 16, 16}, noise)});
  for (const zip_int32_t method : {ZIP_CM_STORE, ZIP_CM_DEFLATE}) {
    SCOPED_TRACE(method);
    TempDir dir;
    const std::string path = dir.file("m.npz");
    write_npz(path, members, method);
    std::vector<uint8_t> bytes = read_bytes(path);
    // The first member's data follows its 30-byte local header, its name and its extra field.
    ASSERT_EQ(std::memcmp(bytes.data(), "PK\x03\x04", 4), 0);
    const size_t start = 30 + (bytes[26] | bytes[27] << 8) + (bytes[28] | bytes[29] << 8);
    const size_t compressed = bytes[18] | bytes[19] << 8 | bytes[20] << 16;
    ASSERT_GT(compressed, 400u);
    // Stored: these are pixel bytes, which only the CRC check can catch.
    for (size_t i = start + 300; i < start + 308; ++i) bytes[i] ^= 0x5a;
    write_bytes(path, bytes);
    const std::string msg = message_of<FormatError>([&] { read_npz(path, {}); });
    expect_contains(msg, "read_npz: " + path + ": member train_images.npy: corrupt data");
    if (method == ZIP_CM_STORE) expect_contains(msg, "CRC");
  }
}

}  // namespace
}  // namespace unlearn

namespace unlearn {
namespace {

// Found by fuzzing: 1.5 KB whose directory claims a 2 GB stored member. The reader allocated the
// claimed size before reading (10 s of page zeroing per file); now it refuses the claim.
TEST(ReadNpz, RefusesAMemberLargerThanTheArchiveCouldHold) {
  const std::string path = std::string(UNLEARN_FUZZ_CORPUS) + "/npz/huge-stored-claim.npz";
  const std::string msg = test::message_of<FormatError>([&] { read_npz(path, {}); });
  EXPECT_NE(msg.find("archive can hold"), std::string::npos) << msg;
}

}  // namespace
}  // namespace unlearn
