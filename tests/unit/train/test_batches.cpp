#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "unlearn/core/context.h"
#include "unlearn/core/data_parallel.h"
#include "unlearn/train/batches.h"

namespace unlearn {
namespace {

std::vector<int64_t> values(const torch::Tensor& t) {
  auto c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(BatchStream, RanksTogetherDrawWhatOneProcessDrawsWithTheGlobalBatch) {
  const auto rows = torch::arange(100, 140, torch::kInt64);  // 40 rows
  BatchStream alone(rows, 8, /*seed=*/5);
  BatchStream rank0(rows, 4, 5, true, false, Shard{0, 2});
  BatchStream rank1(rows, 4, 5, true, false, Shard{1, 2});
  EXPECT_EQ(alone.batches_per_pass(), 5);
  EXPECT_EQ(rank0.batches_per_pass(), 5);
  for (int step = 0; step < 12; ++step) {  // more than two passes: reshuffles agree too
    const auto whole = values(alone.next());
    const auto a = values(rank0.next());
    const auto b = values(rank1.next());
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(b.size(), 4u);
    std::multiset<int64_t> joined(a.begin(), a.end());
    joined.insert(b.begin(), b.end());
    EXPECT_EQ(joined, std::multiset<int64_t>(whole.begin(), whole.end())) << "step " << step;
  }
}

TEST(BatchStream, PadsAPassSoEveryRankGetsAsManyRows) {
  const auto rows = torch::arange(0, 7, torch::kInt64);  // 7 rows over 3 ranks: 2 padded
  std::multiset<int64_t> seen;
  for (int r = 0; r < 3; ++r) {
    BatchStream s(rows, 2, 1, true, false, Shard{r, 3});
    EXPECT_EQ(s.batches_per_pass(), 2);  // 9 rows in global batches of 6
    const auto first = values(s.next());
    const auto second = values(s.next());
    EXPECT_EQ(first.size(), 2u);
    EXPECT_EQ(second.size(), 1u);
    seen.insert(first.begin(), first.end());
    seen.insert(second.begin(), second.end());
  }
  EXPECT_EQ(seen.size(), 9u);
  for (int64_t v = 0; v < 7; ++v) EXPECT_GE(seen.count(v), 1u) << "row " << v << " never drawn";
}

TEST(DataParallel, BlocksOfRowsCoverEveryRowOnce) {
  int64_t next = 0;
  for (int r = 0; r < 3; ++r) {
    const auto [begin, end] = block_of_rows(10, Shard{r, 3});
    EXPECT_EQ(begin, next);
    EXPECT_GE(end - begin, 3);
    EXPECT_LE(end - begin, 4);
    next = end;
  }
  EXPECT_EQ(next, 10);
}

TEST(DataParallel, AloneEveryCollectiveIsTheIdentity) {
  ASSERT_EQ(RunContext().group(), nullptr);
  EXPECT_EQ(shard_of(nullptr).size, 1);
  EXPECT_TRUE(is_writing_rank(nullptr));
  EXPECT_EQ(sum_over_ranks(nullptr, {1.5, 2.0}), (std::vector<double>{1.5, 2.0}));
  auto p = torch::ones({3}, torch::requires_grad());
  p.mutable_grad() = torch::full({3}, 2.0);
  average_gradients(nullptr, {p});
  EXPECT_TRUE(torch::equal(p.grad(), torch::full({3}, 2.0)));
  const auto local = torch::arange(6).view({3, 2});
  EXPECT_TRUE(torch::equal(gather_row_blocks(nullptr, local, 3), local));
}

}  // namespace
}  // namespace unlearn
