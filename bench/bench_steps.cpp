// Micro-benchmarks of the hot steps: one training step, one PSG outer step, one boundary
// search, and batched inference, on AllCNN (width 0.25, 28x28, batch 64), side by side.
//
//   build/bench/bench_unlearn --benchmark_min_time=2

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "unlearn/core/context.h"
#include "unlearn/methods/boundary_search.h"
#include "unlearn/models/model.h"

namespace {

unlearn::Model make_allcnn() {
  unlearn::ModelSpec spec;
  spec.arch = "allcnn";
  spec.options = unlearn::ArchOptions(10).in_channels(1).width(0.25).input_size(28);
  return unlearn::Model::create(spec);
}

void BM_TrainStep(benchmark::State& state) {
  unlearn::configure_threads(0);
  auto model = make_allcnn();
  model.train(true);
  torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  auto x = torch::rand({64, 1, 28, 28});
  auto y = torch::randint(10, {64});
  for (auto _ : state) {
    model.module().zero_grad(true);
    auto loss = torch::nn::functional::cross_entropy(model.logits(x), y);
    loss.backward();
    opt.step();
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_TrainStep)->Unit(benchmark::kMillisecond);

void BM_BoundarySearch(benchmark::State& state) {
  unlearn::configure_threads(0);
  auto model = make_allcnn();
  model.train(false);
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  auto x = torch::rand({64, 1, 28, 28});
  auto y = torch::randint(10, {64});
  auto gen = at::detail::createCPUGenerator(0);
  auto opts = unlearn::BoundarySearchOptions().gamma(1e-4).inner_steps(state.range(0));
  for (auto _ : state) {
    auto r = unlearn::boundary_search([&](const torch::Tensor& t) { return model.logits(t); }, x, y,
                                      opts, 0.0, gen);
    benchmark::DoNotOptimize(r.x_star);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_BoundarySearch)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond);

void BM_Inference(benchmark::State& state) {
  unlearn::configure_threads(0);
  auto model = make_allcnn();
  model.train(false);
  auto x = torch::rand({state.range(0), 1, 28, 28});
  for (auto _ : state) {
    torch::InferenceMode guard;
    benchmark::DoNotOptimize(model.logits(x));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Inference)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
