// CIFAR-10 binary reader, on tiny batch files written to a temp folder.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "expect_error.h"
#include "idx_test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/data/cifar.h"

namespace unlearn {
namespace {

using test::message_of;
using test_util::TempDir;
using test_util::write_bytes;

constexpr size_t kRecord = 3073;

/// Pixel (channel, row, column) of the record with global index `i`: each channel has its own
/// range, so a swapped channel order shows.
int pixel(int64_t i, int64_t ch, int64_t r, int64_t c) {
  return static_cast<int>((i * 5 + ch * 85 + r * 3 + c) % 256);
}

/// Records `first`, `first + 1`, ... with the given labels, as the binary batches store them.
std::vector<uint8_t> batch(const std::vector<uint8_t>& labels, int64_t first) {
  std::vector<uint8_t> out;
  for (size_t k = 0; k < labels.size(); ++k) {
    out.push_back(labels[k]);
    for (int64_t ch = 0; ch < 3; ++ch) {
      for (int64_t r = 0; r < 32; ++r) {
        for (int64_t c = 0; c < 32; ++c) {
          out.push_back(static_cast<uint8_t>(pixel(first + static_cast<int64_t>(k), ch, r, c)));
        }
      }
    }
  }
  return out;
}

/// Train batches of 2, 1, 1, 1 and 2 records (labels 0..6 in order), a test batch of 3.
void write_cifar(const std::string& folder) {
  std::filesystem::create_directories(folder);
  const std::vector<std::vector<uint8_t>> train = {{0, 1}, {2}, {3}, {4}, {5, 9}};
  int64_t first = 0;
  for (size_t b = 0; b < train.size(); ++b) {
    write_bytes(folder + "/data_batch_" + std::to_string(b + 1) + ".bin", batch(train[b], first));
    first += static_cast<int64_t>(train[b].size());
  }
  write_bytes(folder + "/test_batch.bin", batch({7, 8, 0}, 100));
}

void expect_contains(const std::string& msg, const std::string& needle) {
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg << "\nexpected: " << needle;
}

TEST(Cifar10, ReadsBatchesInOrderChannelMajor) {
  TempDir dir;
  write_cifar(dir.path());
  const DataBundle b = read_cifar10_dir(dir.path());
  EXPECT_EQ(b.source, dir.path());
  ASSERT_EQ(b.train.size(), 7);
  ASSERT_EQ(b.test.size(), 3);
  EXPECT_EQ(b.validation.size(), 0);
  EXPECT_EQ(b.train.images.sizes(), torch::IntArrayRef({7, 3, 32, 32}));
  EXPECT_EQ(b.train.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({0, 1, 2, 3, 4, 5, 9}, torch::kLong)));
  EXPECT_TRUE(b.test.labels.equal(torch::tensor({7, 8, 0}, torch::kLong)));

  torch::Tensor expected = torch::empty({7, 3, 32, 32}, torch::kUInt8);
  auto e = expected.accessor<uint8_t, 4>();
  for (int64_t i = 0; i < 7; ++i) {
    for (int64_t ch = 0; ch < 3; ++ch) {
      for (int64_t r = 0; r < 32; ++r) {
        for (int64_t c = 0; c < 32; ++c) e[i][ch][r][c] = static_cast<uint8_t>(pixel(i, ch, r, c));
      }
    }
  }
  EXPECT_TRUE(b.train.images.equal(expected));
  // Spot checks worked out by hand: record 6 (batch 5's second), red (0,0); blue (31,31).
  EXPECT_EQ(b.train.images[6][0][0][0].item<int>(), 30);
  EXPECT_EQ(b.train.images[6][2][31][31].item<int>(), (30 + 170 + 93 + 31) % 256);
  EXPECT_EQ(b.test.images[1][1][2][3].item<int>(), (505 + 85 + 6 + 3) % 256);

  EXPECT_EQ(b.train.class_names, cifar10_classes());
  EXPECT_EQ(cifar10_classes().size(), 10u);
  EXPECT_EQ(cifar10_classes()[0], "airplane");
  EXPECT_EQ(cifar10_classes()[9], "truck");
  EXPECT_EQ(b.train.metadata.column("id").text(6), "train-6");
  EXPECT_EQ(b.test.metadata.column("id").text(2), "test-2");
  const std::string batch1 = (std::filesystem::path(dir.path()) / "data_batch_1.bin").string();
  const std::string batch5 = (std::filesystem::path(dir.path()) / "data_batch_5.bin").string();
  EXPECT_EQ(b.train.metadata.column("source").text(1), batch1);
  EXPECT_EQ(b.train.metadata.column("source").text(5), batch5);
  EXPECT_EQ(b.test.metadata.column("source").text(0),
            (std::filesystem::path(dir.path()) / "test_batch.bin").string());
  EXPECT_NO_THROW(b.train.validate("train"));
  EXPECT_NO_THROW(b.test.validate("test"));
}

TEST(Cifar10, UnpackedSubfolderAndMetaNames) {
  TempDir dir;
  const std::string inner = dir.file("cifar-10-batches-bin");
  write_cifar(inner);
  write_bytes(inner + "/batches.meta.txt",
              {'a',  '\n', 'b',  '\n', '\n', 'c',  '\n', 'd',  '\n', 'e',  '\n', 'f',
               '\n', 'g',  '\r', '\n', 'h',  '\n', 'i',  '\n', 'j',  '\n', '\n'});
  const DataBundle b = read_cifar10_dir(dir.path());
  EXPECT_EQ(b.train.size(), 7);
  EXPECT_EQ(b.test.class_names,
            (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}));
  EXPECT_EQ(b.test.metadata.column("source").text(0),
            (std::filesystem::path(inner) / "test_batch.bin").string());

  write_bytes(inner + "/batches.meta.txt", {'a', '\n', 'b', '\n'});
  expect_contains(message_of<FormatError>([&] { read_cifar10_dir(dir.path()); }),
                  "batches.meta.txt lists 2 class names; CIFAR-10 has 10");
}

TEST(Cifar10, PartialRecordNamesFileAndOffset) {
  TempDir dir;
  write_cifar(dir.path());
  const std::string path = dir.file("data_batch_3.bin");
  std::vector<uint8_t> bytes = batch({1, 2}, 0);
  bytes.resize(2 * kRecord + 100);
  write_bytes(path, bytes);
  const std::string msg = message_of<FormatError>([&] { read_cifar10_dir(dir.path()); });
  expect_contains(msg, path);
  expect_contains(msg, "6246 bytes is not a multiple of the 3073-byte record");
  expect_contains(msg, "the record starting at byte offset 6146 is cut short after 100 bytes");

  write_bytes(path, {});
  expect_contains(message_of<FormatError>([&] { read_cifar10_dir(dir.path()); }),
                  path + ": empty file");
}

TEST(Cifar10, LabelOutOfRangeNamesFileAndOffset) {
  TempDir dir;
  write_cifar(dir.path());
  const std::string path = dir.file("test_batch.bin");
  write_bytes(path, batch({3, 10, 1}, 0));
  const std::string msg = message_of<FormatError>([&] { read_cifar10_dir(dir.path()); });
  expect_contains(msg, path + ": label 10 at byte offset 3073 (record 1) is out of range for 10");
}

TEST(Cifar10, MissingFilesAndFolders) {
  TempDir dir;
  write_cifar(dir.path());
  std::filesystem::remove(dir.file("data_batch_4.bin"));
  const std::string msg = message_of<IoError>([&] { read_cifar10_dir(dir.path()); });
  expect_contains(msg, "read_cifar10_dir: missing " + dir.file("data_batch_4.bin"));

  write_cifar(dir.path());
  std::filesystem::remove(dir.file("test_batch.bin"));
  expect_contains(message_of<IoError>([&] { read_cifar10_dir(dir.path()); }),
                  dir.file("test_batch.bin"));

  expect_contains(message_of<IoError>([&] { read_cifar10_dir(dir.file("nowhere")); }),
                  "no such directory: " + dir.file("nowhere"));
}

}  // namespace
}  // namespace unlearn
