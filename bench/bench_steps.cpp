// Micro-benchmarks of the hot steps on the reference configuration of docs/performance.md:
// AllCNN at width 0.25 on 32x32 Fashion-MNIST-sized inputs, at batch 64 and 256, in fp32 and
// under bf16 autocast, side by side in one run. Each reports items/s and, where the work is
// convolutions, achieved FLOP/s from the analytic count of models/flops.h; BM_Sgemm is the
// machine's attainable FP32 rate through LibTorch's BLAS in the same run.
//
//   build/bench/bench_unlearn --benchmark_min_time=2
//   build/bench/bench_unlearn --benchmark_filter='Psg|Sgemm'

#include <ATen/CPUGeneratorImpl.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <filesystem>

#include "unlearn/core/context.h"
#include "unlearn/core/precision.h"
#include "unlearn/data/dicom.h"
#include "unlearn/data/idx.h"
#include "unlearn/methods/boundary_search.h"
#include "unlearn/methods/psg.h"
#include "unlearn/methods/update_loop.h"
#include "unlearn/metrics/mia.h"
#include "unlearn/models/flops.h"
#include "unlearn/models/model.h"

namespace {

using unlearn::Precision;

constexpr int64_t kSize = 32;
const char* const kFashionTest = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* const kFashionTestLabels =
    "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
const std::vector<std::string> kClasses{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

unlearn::Model reference_model() {
  unlearn::ModelSpec spec;
  spec.arch = "allcnn";
  spec.input.size = kSize;
  spec.options = unlearn::ArchOptions(10).in_channels(1).width(0.25).input_size(kSize);
  return unlearn::Model::create(spec);
}

unlearn::Model frozen(const unlearn::Model& model) {
  unlearn::Model copy = model.clone();
  copy.train(false);
  for (auto& p : copy.parameters()) p.set_requires_grad(false);
  return copy;
}

Precision precision_arg(const benchmark::State& state) {
  return state.range(1) ? Precision::bf16 : Precision::fp32;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOPS"] =
      benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}

void batch_and_precision(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "bf16"});
  for (int64_t batch : {64, 256})
    for (int64_t bf16 : {0, 1}) b->Args({batch, bf16});
  b->Unit(benchmark::kMillisecond);
}

unlearn::BoundarySearchOptions reference_search() {
  // The authors' setting: one signed step of 0.1 with gamma 1e-4 noise on the batch-mean loss.
  return unlearn::BoundarySearchOptions().epsilon(0.1).inner_steps(1).gamma(1e-4).reduction(
      unlearn::GradientReduction::mean);
}

// Lower level alone: the input-gradient search on the frozen original, then its logits at x*.
void BM_BoundarySearch(benchmark::State& state) {
  unlearn::configure_threads(0);
  const int64_t batch = state.range(0);
  const Precision precision = precision_arg(state);
  const auto original = frozen(reference_model());
  auto x = torch::rand({batch, 1, kSize, kSize});
  auto y = torch::randint(10, {batch});
  auto gen = at::detail::createCPUGenerator(0);
  const auto search = reference_search();
  for (auto _ : state) {
    auto r = unlearn::boundary_search(
        [&](const torch::Tensor& t) { return original.logits(t, precision); }, x, y, search, 0.0,
        gen);
    benchmark::DoNotOptimize(r.logits_star);
  }
  state.SetItemsProcessed(state.iterations() * batch);
  set_flops(state, unlearn::pass_flops(unlearn::forward_cost(original), batch, 2, 1, 0));
}
BENCHMARK(BM_BoundarySearch)->Apply(batch_and_precision);

// Upper level alone: forward, backward to the weights and an SGD step (batch norm in train mode).
void BM_OuterStep(benchmark::State& state) {
  unlearn::configure_threads(0);
  const int64_t batch = state.range(0);
  const Precision precision = precision_arg(state);
  auto model = reference_model();
  model.train(true);
  torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(1e-5).momentum(0.9));
  auto x = torch::rand({batch, 1, kSize, kSize});
  auto y = torch::randint(10, {batch});
  for (auto _ : state) {
    model.module().zero_grad(true);
    unlearn::cross_entropy_to(model.logits(x, precision), y).backward();
    opt.step();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  set_flops(state, unlearn::pass_flops(unlearn::forward_cost(model), batch, 1, 0, 1));
}
BENCHMARK(BM_OuterStep)->Apply(batch_and_precision);

// One whole PSG step at phi = 0: search, boundary labels, update.
void BM_PsgStep(benchmark::State& state) {
  unlearn::configure_threads(0);
  const int64_t batch = state.range(0);
  const Precision precision = precision_arg(state);
  auto model = reference_model();
  const auto original = frozen(model);
  model.train(true);
  torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(1e-5).momentum(0.9));
  auto x = torch::rand({batch, 1, kSize, kSize});
  auto y = torch::randint(10, {batch});
  auto gen = at::detail::createCPUGenerator(0);
  const auto search = reference_search();
  for (auto _ : state) {
    auto found = unlearn::boundary_search(
        [&](const torch::Tensor& t) { return original.logits(t, precision); }, x, y, search, 0.0,
        gen);
    model.module().zero_grad(true);
    unlearn::cross_entropy_to(model.logits(x, precision), found.logits_star.argmax(1)).backward();
    opt.step();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  const auto cost = unlearn::forward_cost(model);
  set_flops(state,
            unlearn::pass_flops(cost, batch, 2, 1, 0) + unlearn::pass_flops(cost, batch, 1, 0, 1));
}
BENCHMARK(BM_PsgStep)->Apply(batch_and_precision);

// PSG's whole method (Psg::run, --preset authors --retain-weight 0.5, one pass) on a
// Fashion-MNIST-sized training set of 60 000 rows, with |D_f| and |D_r| varied: the time per
// outer step should not depend on either (docs/performance.md, "Scaling"). Run with repetitions
// and random interleaving so that every size sees the same machine:
//   bench_unlearn --benchmark_filter=PsgScaling --benchmark_repetitions=3
//                 --benchmark_enable_random_interleaving=true   (one line)
void BM_PsgScaling(benchmark::State& state) {
  unlearn::configure_threads(0);
  const int64_t forget_rows = state.range(0), retain_rows = state.range(1);
  constexpr int64_t kRows = 60000;
  static const auto inputs = torch::rand({kRows, 1, kSize, kSize});
  static const auto labels = torch::randint(10, {kRows});
  const auto order = torch::randperm(kRows, torch::kInt64);
  unlearn::UnlearnData data{inputs, labels, order.slice(0, 0, forget_rows),
                            order.slice(0, forget_rows, forget_rows + retain_rows)};
  const auto original = reference_model();
  const unlearn::Psg psg(unlearn::psg_preset("authors").retain_weight(0.5).passes(1));
  unlearn::Observer quiet;
  double steps = 0, seconds = 0;
  for (auto _ : state) {
    const auto result = psg.run(original, data, unlearn::RunContext(), quiet);
    steps = result.summary["steps"].get<double>();
    seconds = result.summary["loop_seconds"].get<double>();
    state.SetIterationTime(seconds);
  }
  state.counters["steps"] = steps;
  state.counters["ms_per_step"] = 1000 * seconds / std::max(1.0, steps);
}
BENCHMARK(BM_PsgScaling)
    ->ArgNames({"forget", "retain"})
    ->Args({600, 54000})
    ->Args({3000, 54000})
    ->Args({6000, 54000})
    ->Args({12000, 48000})
    ->Args({6000, 13500})
    ->Args({6000, 27000})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

// A supervised training step: the denominator of the speed-up over retraining.
void BM_TrainStep(benchmark::State& state) {
  unlearn::configure_threads(0);
  const int64_t batch = state.range(0);
  const Precision precision = precision_arg(state);
  auto model = reference_model();
  model.train(true);
  torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  auto x = torch::rand({batch, 1, kSize, kSize});
  auto y = torch::randint(10, {batch});
  for (auto _ : state) {
    model.module().zero_grad(true);
    torch::nn::functional::cross_entropy(model.logits(x, precision), y).backward();
    opt.step();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  set_flops(state, unlearn::pass_flops(unlearn::forward_cost(model), batch, 1, 0, 1));
}
BENCHMARK(BM_TrainStep)->Apply(batch_and_precision);

// One evaluation pass over 10k images in batches, in inference mode (always fp32 in the tool).
void BM_EvaluatePass(benchmark::State& state) {
  unlearn::configure_threads(0);
  const int64_t batch = state.range(0);
  const Precision precision = precision_arg(state);
  auto model = reference_model();
  model.train(false);
  const int64_t n = 10000;
  auto x = torch::rand({n, 1, kSize, kSize});
  for (auto _ : state) {
    torch::InferenceMode guard;
    int64_t correct = 0;
    for (int64_t start = 0; start < n; start += batch) {
      auto logits = model.logits(x.slice(0, start, std::min(n, start + batch)), precision);
      correct += logits.argmax(1).eq(0).sum().item<int64_t>();
    }
    benchmark::DoNotOptimize(correct);
  }
  state.SetItemsProcessed(state.iterations() * n);
  set_flops(state, unlearn::pass_flops(unlearn::forward_cost(model), n, 1, 0, 0));
}
BENCHMARK(BM_EvaluatePass)->Apply(batch_and_precision);

// The MIA-efficacy attack as forget evaluates it: an RBF-SVM on 10 000 members and 10 000
// non-members (one feature, the true-class probability), then 6 000 forget rows classified; the
// argument is libsvm's kernel cache in MB. Synthetic, overlapping probabilities: members mostly
// near 1, non-members more spread.
void BM_MiaEfficacy(benchmark::State& state) {
  const double cache_mb = static_cast<double>(state.range(0));
  auto gen = at::detail::createCPUGenerator(7);
  const auto near_one = [&](int64_t n, double spread, double power) {
    return 1.0 - spread * torch::rand({n}, gen, torch::kFloat64).pow(power);
  };
  const auto members = near_one(10000, 0.5, 6.0);
  const auto non_members = near_one(10000, 0.9, 3.0);
  const auto forget = near_one(6000, 0.7, 4.0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(unlearn::mia_efficacy(members, non_members, forget,
                                                   unlearn::MiaOptions().cache_mb(cache_mb)));
  }
}
BENCHMARK(BM_MiaEfficacy)
    ->Arg(50)
    ->Arg(100)
    ->Arg(200)
    ->ArgName("cache_mb")
    ->Unit(benchmark::kMillisecond);

// Data loading, once per run: decode the Fashion-MNIST test images (10k, gzipped IDX) and
// convert them to the model's 32x32 float input.
void BM_DecodeAndResize(benchmark::State& state) {
  if (!std::filesystem::exists(kFashionTest)) {
    state.SkipWithError("Debian's dataset-fashion-mnist is not installed");
    return;
  }
  unlearn::configure_threads(0);
  const auto spec = reference_model().spec().input;
  for (auto _ : state) {
    auto data = unlearn::read_idx_pair(kFashionTest, kFashionTestLabels, kClasses, "test");
    benchmark::DoNotOptimize(unlearn::to_model_input(data.images, spec));
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_DecodeAndResize)->Unit(benchmark::kMillisecond);

// Data loading, per DICOM file: pydicom's CT_small.dcm (128x128, 16-bit) read with GDCM in the
// worker process (the default; core/isolated_worker.h) and in this process. The difference is
// what containing GDCM's aborts costs per file (the worker is started once, outside the loop).
void BM_ReadDicom(benchmark::State& state) {
  const std::string path = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm";
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("python3-pydicom's test files are not installed");
    return;
  }
  unlearn::configure_threads(0);
  const auto where = state.range(0) == 0 ? unlearn::DicomIsolation::worker_process
                                         : unlearn::DicomIsolation::this_process;
  benchmark::DoNotOptimize(unlearn::read_dicom_image(path, where));
  for (auto _ : state) benchmark::DoNotOptimize(unlearn::read_dicom_image(path, where));
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(0) == 0 ? "worker process" : "this process");
}
BENCHMARK(BM_ReadDicom)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("in_process")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Data loading, per step: gathering a shuffled batch from the decoded tensor.
void BM_GatherBatch(benchmark::State& state) {
  unlearn::configure_threads(0);
  const int64_t batch = state.range(0);
  auto inputs = torch::rand({60000, 1, kSize, kSize});
  auto labels = torch::randint(10, {60000});
  auto gen = at::detail::createCPUGenerator(0);
  auto order = torch::randperm(60000, gen, torch::kInt64);
  int64_t cursor = 0;
  for (auto _ : state) {
    if (cursor + batch > 60000) cursor = 0;
    auto idx = order.slice(0, cursor, cursor + batch);
    cursor += batch;
    benchmark::DoNotOptimize(inputs.index_select(0, idx));
    benchmark::DoNotOptimize(labels.index_select(0, idx));
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_GatherBatch)->Arg(64)->Arg(256)->ArgName("batch")->Unit(benchmark::kMicrosecond);

// The machine's attainable FP32 rate: a 2048^2 sgemm through LibTorch's BLAS (OpenBLAS here).
void BM_Sgemm(benchmark::State& state) {
  unlearn::configure_threads(0);
  const int64_t n = state.range(0);
  auto a = torch::rand({n, n});
  auto b = torch::rand({n, n});
  auto c = torch::empty({n, n});
  for (auto _ : state) {
    torch::mm_out(c, a, b);
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
  set_flops(state, 2.0 * static_cast<double>(n) * n * n);
}
BENCHMARK(BM_Sgemm)->Arg(2048)->ArgName("n")->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  unlearn::configure_allocator();  // as the unlearn tool does
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
