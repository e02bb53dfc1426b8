// IDX reader, directory reader and --data resolution, on tiny files written to a temp folder.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <optional>

#include "expect_error.h"
#include "idx_test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/data/idx.h"
#include "unlearn/data/source.h"

namespace unlearn {
namespace {

using test::message_of;

using test_util::idx_bytes;
using test_util::image_pixels;
using test_util::read_bytes;
using test_util::TempDir;
using test_util::write_bytes;
using test_util::write_idx_dir;

const std::vector<std::string> kDigits = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

class IdxPair : public ::testing::TestWithParam<bool> {};

TEST_P(IdxPair, RoundTrip) {
  const bool gz = GetParam();
  TempDir dir;
  const std::string images = dir.file(gz ? "imgs.gz" : "imgs");
  const std::string labels = dir.file(gz ? "lbls.gz" : "lbls");
  write_bytes(images, idx_bytes({3, 2, 3}, image_pixels(3, 2, 3)), gz);
  write_bytes(labels, idx_bytes({3}, {0, 9, 4}), gz);

  const IdxArray raw = read_idx_file(images);
  EXPECT_EQ(raw.type_code, 0x08);
  EXPECT_EQ(raw.dims, (std::vector<int64_t>{3, 2, 3}));
  EXPECT_EQ(raw.data, image_pixels(3, 2, 3));

  const Dataset d = read_idx_pair(images, labels, kDigits, "train");
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.images.sizes(), torch::IntArrayRef({3, 1, 2, 3}));
  EXPECT_EQ(d.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(d.images.is_contiguous());
  // Pixel (i, r, c) was written as i*16 + r*3 + c.
  EXPECT_EQ(d.images[2][0][1][2].item<int>(), 2 * 16 + 1 * 3 + 2);
  EXPECT_EQ(d.labels.scalar_type(), torch::kLong);
  EXPECT_TRUE(d.labels.equal(torch::tensor({0, 9, 4}, torch::kLong)));
  EXPECT_EQ(d.class_names, kDigits);
  EXPECT_EQ(d.metadata.column("id").text(0), "train-0");
  EXPECT_EQ(d.metadata.column("id").text(2), "train-2");
  EXPECT_EQ(d.metadata.column("source").text(1), gz ? "imgs.gz" : "imgs");
  EXPECT_NO_THROW(d.validate("test"));
}

INSTANTIATE_TEST_SUITE_P(PlainAndGzip, IdxPair, ::testing::Bool(),
                         [](const auto& param_info) { return param_info.param ? "gz" : "plain"; });

TEST(IdxFile, TruncatedDataNamesFileAndOffset) {
  for (const bool gz : {false, true}) {
    TempDir dir;
    const std::string path = dir.file("short-images");
    std::vector<uint8_t> bytes = idx_bytes({2, 2, 2}, image_pixels(2, 2, 2));
    bytes.resize(bytes.size() - 3);  // 16-byte header + 5 of 8 data bytes
    write_bytes(path, bytes, gz);
    const std::string msg = message_of<FormatError>([&] { read_idx_file(path); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated at byte offset 21"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected 8 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("found 5"), std::string::npos) << msg;
  }
}

TEST(IdxFile, CutGzipStreamIsFormatError) {
  TempDir dir;
  const std::string full = dir.file("full.gz");
  write_bytes(full, idx_bytes({4, 8, 8}, image_pixels(4, 8, 8)), true);
  std::vector<uint8_t> compressed = read_bytes(full);
  compressed.resize(compressed.size() / 2);
  const std::string cut = dir.file("cut.gz");
  write_bytes(cut, compressed);
  const std::string msg = message_of<FormatError>([&] { read_idx_file(cut); });
  EXPECT_NE(msg.find(cut), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset"), std::string::npos) << msg;
}

TEST(IdxFile, TruncatedHeader) {
  TempDir dir;
  const std::string path = dir.file("header");
  write_bytes(path, {0, 0, 8, 3, 0, 0});  // 3 dims promised, 2 bytes of them present
  const std::string msg = message_of<FormatError>([&] { read_idx_file(path); });
  EXPECT_NE(msg.find("truncated at byte offset 6"), std::string::npos) << msg;
}

TEST(IdxFile, EmptyFile) {
  TempDir dir;
  const std::string path = dir.file("empty");
  write_bytes(path, {});
  const std::string msg = message_of<FormatError>([&] { read_idx_file(path); });
  EXPECT_NE(msg.find("truncated at byte offset 0"), std::string::npos) << msg;
}

TEST(IdxFile, BadMagic) {
  TempDir dir;
  const std::string path = dir.file("magic");
  std::vector<uint8_t> bytes = idx_bytes({1}, {0});
  bytes[0] = 0x1f;
  write_bytes(path, bytes);
  const std::string msg = message_of<FormatError>([&] { read_idx_file(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 0"), std::string::npos) << msg;
}

TEST(IdxFile, WrongTypeCode) {
  TempDir dir;
  const std::string path = dir.file("floats");
  write_bytes(path, idx_bytes({1}, {0, 0, 0, 0}, 0x0D));
  const std::string msg = message_of<FormatError>([&] { read_idx_file(path); });
  EXPECT_NE(msg.find("0x0d"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 2"), std::string::npos) << msg;
}

TEST(IdxFile, BadDimensions) {
  TempDir dir;
  const std::string no_dims = dir.file("nodims");
  write_bytes(no_dims, {0, 0, 8, 0});
  EXPECT_NE(message_of<FormatError>([&] { read_idx_file(no_dims); }).find("offset 3"),
            std::string::npos);

  const std::string zero = dir.file("zero");
  write_bytes(zero, idx_bytes({2, 0}, {}));
  const std::string msg = message_of<FormatError>([&] { read_idx_file(zero); });
  EXPECT_NE(msg.find("dimension 1 is 0 at byte offset 8"), std::string::npos) << msg;

  const std::string huge = dir.file("huge");
  write_bytes(huge, idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu}, {}));
  EXPECT_NE(message_of<FormatError>([&] {
              read_idx_file(huge);
            }).find("larger than the limit of 17179869184 elements"),
            std::string::npos);
}

TEST(IdxFile, TrailingBytes) {
  TempDir dir;
  const std::string path = dir.file("long");
  std::vector<uint8_t> bytes = idx_bytes({2}, {1, 2});
  bytes.push_back(7);
  write_bytes(path, bytes);
  const std::string msg = message_of<FormatError>([&] { read_idx_file(path); });
  EXPECT_NE(msg.find("extra data at byte offset 10"), std::string::npos) << msg;
}

TEST(IdxFile, MissingFileIsIoError) {
  TempDir dir;
  const std::string path = dir.file("absent");
  EXPECT_NE(message_of<IoError>([&] { read_idx_file(path); }).find(path), std::string::npos);
  EXPECT_THROW(read_idx_file(dir.path()), IoError);
}

TEST(IdxPairErrors, CountMismatch) {
  TempDir dir;
  const std::string images = dir.file("imgs");
  const std::string labels = dir.file("lbls");
  write_bytes(images, idx_bytes({3, 2, 2}, image_pixels(3, 2, 2)));
  write_bytes(labels, idx_bytes({2}, {0, 1}));
  const std::string msg =
      message_of<FormatError>([&] { read_idx_pair(images, labels, kDigits, "train"); });
  EXPECT_NE(msg.find(labels + ": 2 labels but 3 images in " + images), std::string::npos) << msg;
}

TEST(IdxPairErrors, LabelOutOfRange) {
  TempDir dir;
  const std::string images = dir.file("imgs");
  const std::string labels = dir.file("lbls");
  write_bytes(images, idx_bytes({3, 2, 2}, image_pixels(3, 2, 2)));
  write_bytes(labels, idx_bytes({3}, {0, 10, 1}));
  const std::string msg =
      message_of<FormatError>([&] { read_idx_pair(images, labels, kDigits, "train"); });
  EXPECT_NE(msg.find(labels), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 10 at byte offset 9"), std::string::npos) << msg;
  EXPECT_NE(msg.find("10 classes"), std::string::npos) << msg;
}

TEST(IdxPairErrors, WrongRank) {
  TempDir dir;
  const std::string images = dir.file("imgs");
  const std::string labels = dir.file("lbls");
  write_bytes(images, idx_bytes({4}, {1, 2, 3, 4}));
  write_bytes(labels, idx_bytes({4}, {0, 1, 2, 3}));
  EXPECT_THROW(read_idx_pair(images, labels, kDigits, "train"), FormatError);
  EXPECT_THROW(read_idx_pair(labels, images, {}, "train"), InvalidArgument);
}

TEST(IdxDir, ReadsBothSplits) {
  TempDir dir;
  write_idx_dir(dir, 5, 3, /*gz=*/true);
  const DataBundle b = read_idx_dir(dir.path(), /*fashion=*/false);
  EXPECT_EQ(b.train.size(), 5);
  EXPECT_EQ(b.test.size(), 3);
  EXPECT_EQ(b.train.class_names, kDigits);
  EXPECT_EQ(b.test.metadata.column("id").text(2), "test-2");
  EXPECT_EQ(b.test.metadata.column("source").text(0), "t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(b.train.metadata.column("source").text(0), "train-images-idx3-ubyte.gz");

  const DataBundle f = read_idx_dir(dir.path(), /*fashion=*/true);
  EXPECT_EQ(f.train.class_names, fashion_mnist_classes());
  EXPECT_EQ(fashion_mnist_classes().size(), 10u);
  EXPECT_EQ(fashion_mnist_classes()[0], "T-shirt/top");
  EXPECT_EQ(fashion_mnist_classes()[9], "Ankle boot");
}

TEST(IdxDir, MissingFileNamesExpectedPath) {
  TempDir dir;
  write_idx_dir(dir, 4, 2, /*gz=*/false);
  std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte"));
  const std::string msg = message_of<IoError>([&] { read_idx_dir(dir.path(), false); });
  EXPECT_NE(msg.find(dir.file("t10k-labels-idx1-ubyte")), std::string::npos) << msg;
  EXPECT_THROW(read_idx_dir(dir.file("nowhere"), false), IoError);
}

/// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(LoadData, IdxSchemePlainDirAndClassesFile) {
  TempDir dir;
  write_idx_dir(dir, 4, 2, /*gz=*/false, /*classes=*/3);
  const DataBundle a = load_data("idx:" + dir.path());
  EXPECT_EQ(a.source, "idx:" + dir.path());
  EXPECT_EQ(a.train.class_names, kDigits);
  const DataBundle b = load_data(dir.path());
  EXPECT_EQ(b.train.size(), 4);

  write_bytes(dir.file("classes.txt"), {'a', '\n', '\n', ' ', 'b', ' ', '\r', '\n', 'c', '\n'});
  const DataBundle c = load_data("idx:" + dir.path());
  EXPECT_EQ(c.train.class_names, (std::vector<std::string>{"a", "b", "c"}));

  write_bytes(dir.file("classes.txt"), {'a', '\n', 'b', '\n'});  // labels go up to 2
  EXPECT_THROW(load_data("idx:" + dir.path()), FormatError);
}

TEST(LoadData, FashionMnistFollowsEnvironment) {
  TempDir dir;
  write_idx_dir(dir, 3, 2, /*gz=*/true);
  {
    ScopedEnv env("UNLEARN_DATA", dir.path());
    const DataBundle b = load_data("fashion-mnist");
    EXPECT_EQ(b.source, "fashion-mnist");
    EXPECT_EQ(b.train.class_names, fashion_mnist_classes());
    EXPECT_EQ(b.train.size(), 3);
  }
  ScopedEnv env("UNLEARN_DATA", dir.file("missing"));
  const std::string msg = message_of<IoError>([&] { load_data("fashion-mnist"); });
  EXPECT_NE(msg.find(dir.file("missing")), std::string::npos) << msg;
}

TEST(LoadData, RejectsUnknownSchemesAndMissingPaths) {
  EXPECT_NE(message_of<InvalidArgument>([] {
              load_data("hdf5:/tmp/x.h5");
            }).find("unknown scheme 'hdf5:'"),
            std::string::npos);
  EXPECT_THROW(load_data("npz:"), InvalidArgument);
  EXPECT_ANY_THROW(load_data("npz:/nonexistent/x.npz"));
  EXPECT_ANY_THROW(load_data("cifar10:/nonexistent"));
  const std::string msg = message_of<InvalidArgument>([] { load_data("mnist-fashion"); });
  EXPECT_NE(msg.find("'mnist-fashion'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("idx:DIR"), std::string::npos) << msg;
  EXPECT_THROW(load_data(""), InvalidArgument);
  EXPECT_THROW(load_data("idx:"), InvalidArgument);

  TempDir empty;
  EXPECT_THROW(load_data(empty.path()), InvalidArgument);  // a folder without IDX files
  EXPECT_THROW(load_data("idx:" + empty.file("nowhere")), IoError);
}

}  // namespace
}  // namespace unlearn
