#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "test_util.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/context.h"
#include "unlearn/core/error.h"
#include "unlearn/core/parse.h"
#include "unlearn/core/sha256.h"
#include "unlearn/methods/option_table.h"

namespace unlearn {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(AtomicFile, WritesThenRefusesToOverwriteWithoutForce) {
  test::TempDir dir;
  const auto path = dir.file("out.json");
  write_text_atomically(path, "one", false, "--report");
  EXPECT_EQ(slurp(path), "one");
  try {
    write_text_atomically(path, "two", false, "--report");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("--report"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos);
  }
  EXPECT_EQ(slurp(path), "one");
  write_text_atomically(path, "two", true, "--report");
  EXPECT_EQ(slurp(path), "two");
}

TEST(AtomicFile, AFailedWriteLeavesNothingBehind) {
  test::TempDir dir;
  const auto path = dir.file("model.pt");
  EXPECT_THROW(write_atomically(path, false, "--out",
                                [](const std::string& tmp) {
                                  std::ofstream(tmp) << "half";
                                  throw Error("disk full");
                                }),
               Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(AtomicFile, MissingFolderIsNamed) {
  try {
    check_output_path("/nonexistent-folder-xyz/out.pt", false, "--out");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("nonexistent-folder-xyz"), std::string::npos);
  }
}

TEST(Context, ThreadsDefaultToAllCoresAndDevicesParse) {
  EXPECT_EQ(configure_threads(0), available_cores());
  EXPECT_EQ(configure_threads(1), 1);
  EXPECT_THROW(configure_threads(-1), InvalidArgument);
  EXPECT_EQ(parse_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_THROW(parse_device("tpu"), InvalidArgument);
  EXPECT_FALSE(torch_version().empty());
}

TEST(OptionTable, ParsesTypedValuesAndNamesTheFlagOnError) {
  double eps = 0.1;
  int64_t steps = 1;
  bool quantize = true;
  std::string norm = "linf";
  OptionTable t;
  t.add("epsilon", "", eps)
      .add("inner-steps", "", steps)
      .add("quantize", "", quantize)
      .add("norm", "", norm, {"linf", "l2"});
  t.apply({{"epsilon", "0.25"}, {"inner-steps", "4"}, {"quantize", "false"}, {"norm", "l2"}}, "m");
  EXPECT_DOUBLE_EQ(eps, 0.25);
  EXPECT_EQ(steps, 4);
  EXPECT_FALSE(quantize);
  EXPECT_EQ(norm, "l2");
  EXPECT_EQ(t.to_json()["inner-steps"], 4);
  EXPECT_THROW(t.apply({{"inner-steps", "4.5"}}, "m"), UsageError);
  EXPECT_THROW(t.apply({{"epsilon", "nan"}}, "m"), UsageError);
  EXPECT_THROW(t.apply({{"norm", "l1"}}, "m"), UsageError);
  try {
    t.apply({{"epsilonn", "1"}}, "m");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--epsilonn"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--epsilon,"), std::string::npos);
  }
}

}  // namespace
}  // namespace unlearn

namespace unlearn {
namespace {

TEST(Parse, WholeStringNumbersOnly) {
  EXPECT_EQ(parse_real("0.25"), 0.25);
  EXPECT_EQ(parse_real("-1e-3"), -1e-3);
  EXPECT_FALSE(parse_real(""));
  EXPECT_FALSE(parse_real("0.1x"));
  EXPECT_FALSE(parse_real("nan"));
  EXPECT_FALSE(parse_real("1e999"));
  EXPECT_EQ(parse_integer("42"), 42);
  EXPECT_EQ(parse_integer("-7"), -7);
  EXPECT_FALSE(parse_integer("4.5"));
  EXPECT_FALSE(parse_integer(""));
}

TEST(Sha256, KnownVectors) {
  Sha256 empty;
  EXPECT_EQ(empty.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.update(std::string("abc"));
  EXPECT_EQ(abc.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  test::TempDir dir;
  std::ofstream(dir.file("abc.txt")) << "abc";
  EXPECT_EQ(sha256_file(dir.file("abc.txt")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(sha256_file(dir.file("missing")), IoError);
}

}  // namespace
}  // namespace unlearn
