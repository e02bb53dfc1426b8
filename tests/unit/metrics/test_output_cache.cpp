#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "test_util.h"
#include "unlearn/metrics/output_cache.h"

namespace unlearn {
namespace {

TEST(OutputCache, HitsOnlyForTheSameModelBytesAndData) {
  test::TempDir dir;
  std::ofstream(dir.file("a.pt")) << "model a";
  std::ofstream(dir.file("b.pt")) << "model b";
  OutputCache cache(dir.file("cache"));
  ModelOutputs out{torch::rand({5, 3}), torch::rand({2, 3})};
  EXPECT_FALSE(cache.find(dir.file("a.pt"), "data1").has_value());
  cache.store(dir.file("a.pt"), "data1", out);
  auto hit = cache.find(dir.file("a.pt"), "data1");
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(torch::equal(hit->train_logits, out.train_logits));
  EXPECT_TRUE(torch::equal(hit->test_logits, out.test_logits));
  EXPECT_FALSE(cache.find(dir.file("b.pt"), "data1").has_value());
  EXPECT_FALSE(cache.find(dir.file("a.pt"), "data2").has_value());
  // A changed model file is a different key.
  std::ofstream(dir.file("a.pt")) << "model a, retrained";
  EXPECT_FALSE(cache.find(dir.file("a.pt"), "data1").has_value());
}

TEST(OutputCache, MetricEntriesAreKeyedByModelDataAndSplit) {
  test::TempDir dir;
  std::ofstream(dir.file("a.pt")) << "model a";
  OutputCache cache(dir.file("cache"));
  const nlohmann::json entry = {{"metrics", {{"UA", 12.5}}}, {"path", "a.pt"}};
  EXPECT_FALSE(cache.find_entry(dir.file("a.pt"), "data1", "split1").has_value());
  cache.store_entry(dir.file("a.pt"), "data1", "split1", entry);
  auto hit = cache.find_entry(dir.file("a.pt"), "data1", "split1");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(*hit, entry);
  EXPECT_FALSE(cache.find_entry(dir.file("a.pt"), "data1", "split2").has_value());
  EXPECT_FALSE(cache.find_entry(dir.file("a.pt"), "data2", "split1").has_value());
  // Outputs and entries of the same model and data live side by side.
  EXPECT_FALSE(cache.find(dir.file("a.pt"), "data1").has_value());
  std::ofstream(dir.file("a.pt")) << "model a, retrained";
  EXPECT_FALSE(cache.find_entry(dir.file("a.pt"), "data1", "split1").has_value());
}

TEST(OutputCache, DisabledWithAnEmptyFolder) {
  test::TempDir dir;
  std::ofstream(dir.file("a.pt")) << "model a";
  OutputCache cache("");
  cache.store(dir.file("a.pt"), "d", ModelOutputs{torch::rand({1, 2}), torch::rand({1, 2})});
  EXPECT_FALSE(cache.find(dir.file("a.pt"), "d").has_value());
}

TEST(OutputCache, DataDigestChangesWithAnyLabel) {
  DataBundle a;
  a.train.images = torch::zeros({2, 1, 2, 2}, torch::kUInt8);
  a.train.labels = torch::tensor({0, 1}, torch::kInt64);
  a.test = a.train;
  DataBundle b = a;
  b.train.labels = torch::tensor({1, 1}, torch::kInt64);
  EXPECT_EQ(data_digest(a), data_digest(a));
  EXPECT_NE(data_digest(a), data_digest(b));
}

}  // namespace
}  // namespace unlearn
