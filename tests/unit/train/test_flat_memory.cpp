// Resident memory stays flat over hundreds of training and unlearning steps: nothing per step
// (autograd graphs, trace tensors, cached batches) is kept alive. A loop that kept each step's
// graph would grow by the activations of a batch every step, well over the margin here.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "unlearn/methods/psg.h"
#include "unlearn/train/trainer.h"

namespace unlearn {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // ASan's quarantine holds freed memory on purpose
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) /
         (1024.0 * 1024.0);
}

/// Samples resident memory at every progress report once `warmup` units are done.
class MemoryProbe : public Observer {
 public:
  explicit MemoryProbe(int64_t warmup) : warmup_(warmup) {}
  void progress(int64_t done, const std::string& /*note*/) override {
    if (done < warmup_) return;
    const double rss = resident_mib();
    if (done == warmup_ || baseline_ < 0) baseline_ = rss;
    peak_ = std::max(peak_, rss);
    last_ = done;
  }
  double growth_mib() const { return peak_ - baseline_; }
  int64_t last() const { return last_; }

 private:
  int64_t warmup_;
  double baseline_ = -1, peak_ = 0;
  int64_t last_ = 0;
};

struct ImageProblem {
  Model model;
  torch::Tensor x, y;
};

ImageProblem image_problem() {
  torch::manual_seed(3);
  ModelSpec spec;
  spec.arch = "small-cnn";
  spec.options = ArchOptions(4).in_channels(1).input_size(8).width(0.25);
  spec.input.channels = 1;
  spec.input.size = 8;
  spec.input.mean = {0.5};
  spec.input.std = {0.25};
  auto x = torch::rand({512, 1, 8, 8});
  auto y = torch::arange(512, torch::kInt64).remainder(4);
  x.index_put_({torch::indexing::Slice(), 0, 0, 0}, y.to(torch::kFloat32) / 4);  // learnable
  return {Model::create(spec), x, y};
}

// Allocator noise measured 0-1 MB here. A kept graph per step (activations of a batch, tens
// of KB each at this size, over 300+ steps) or a kept batch copy would pass it.
constexpr double kMarginMib = 4;

TEST(FlatMemory, TrainingHoldsNothingPerStep) {
  if (kSanitized) GTEST_SKIP() << "resident memory is not meaningful under ASan";
  torch::set_num_threads(1);
  auto p = image_problem();
  MemoryProbe probe(/*warmup=*/60);
  // 512 rows in batches of 16 for 12 epochs: 384 steps.
  train_model(p.model, p.x, p.y, torch::arange(512, torch::kInt64),
              TrainOptions().epochs(12).batch(16).lr(0.05), RunContext(), probe);
  EXPECT_EQ(probe.last(), 384);
  EXPECT_LT(probe.growth_mib(), kMarginMib);
}

TEST(FlatMemory, PsgHoldsNothingPerStep) {
  if (kSanitized) GTEST_SKIP() << "resident memory is not meaningful under ASan";
  torch::set_num_threads(1);
  auto p = image_problem();
  auto forget = torch::nonzero(p.y.eq(0)).flatten();
  auto retain = torch::nonzero(p.y.ne(0)).flatten();
  // 128 forget rows in batches of 8 for 20 passes: 320 outer steps, with a retain term.
  Psg psg(PsgOptions().batch(8).passes(20).retain_weight(0.5).target_forget_acc(-1));
  MemoryProbe probe(/*warmup=*/60);
  auto result = psg.run(p.model, UnlearnData{p.x, p.y, forget, retain}, RunContext(), probe);
  EXPECT_GE(probe.last(), 300);
  EXPECT_LT(probe.growth_mib(), kMarginMib);
}

}  // namespace
}  // namespace unlearn
