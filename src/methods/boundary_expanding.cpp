#include "unlearn/methods/boundary_expanding.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <utility>

#include "unlearn/core/error.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void BoundaryExpandingOptions::validate() const {
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  update().validate();
}

OptionTable BoundaryExpanding::option_table(Options& o) {
  OptionTable table;
  table.add("epochs", "passes over the forget set", o.epochs());
  add_update_options(table, o.update());
  table.add("method-seed", "seed of the shadow neuron and of the batch order", o.method_seed());
  return table;
}

MethodResult BoundaryExpanding::run(const Model& original, const UnlearnData& data,
                                    const RunContext& context, Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  const torch::Device device = context.device();
  const uint64_t seed = method_seed(o.method_seed(), context);

  Model model = working_copy(original, context);
  const int64_t k = original.num_classes();
  int64_t dims = 0;
  {
    torch::NoGradGuard no_grad;
    model.train(false);
    dims = model.embed(data.inputs.index_select(0, data.forget.slice(0, 0, 1)).to(device)).size(1);
    model.train(true);
  }
  // The shadow class: one more output on the penultimate features, initialised like a fresh
  // torch::nn::Linear (uniform in ±1/sqrt(D)) but from our own seeded generator.
  torch::nn::Linear shadow(dims, 1);
  {
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(seed);
    const double bound = 1.0 / std::sqrt(static_cast<double>(dims));
    shadow->weight.uniform_(-bound, bound, gen);
    shadow->bias.uniform_(-bound, bound, gen);
  }
  shadow->to(device);

  auto params = model.parameters();
  for (const auto& p : shadow->parameters()) params.push_back(p);
  auto optimizer = make_optimizer(o.update(), params);
  const Shard shard = shard_of(context.group());
  BatchStream forget(data.forget, o.update().batch(), seed + 1, true, false, shard);

  UpdateLoop loop(context, "boundary-expanding",
                  steps_for_epochs(data.forget.numel(), o.update().batch(), o.epochs(), shard));
  MethodResult result{original, {}, {}};
  result.trace = run_update_loop(
      loop, params, *optimizer,
      [&](int64_t) {
        auto batch = fetch_batch(data, forget.next(), device);
        auto z = model.embed(batch.x);
        auto logits = torch::cat({model.head(z), shadow->forward(z)}, 1);
        auto target = torch::full_like(batch.y, k);
        auto shadow_share = logits.detach().argmax(1).eq(k).to(torch::kFloat64).mean();
        return StepLoss{cross_entropy_to(logits, target),
                        {{"shadow_share", shadow_share.item<double>()}}};
      },
      observer);
  // Pruning the shadow neuron: the model's own head never had it, so `model` is the result.
  finish_model(model);
  result.summary = step_counts(result.trace, loop.steps);
  result.summary["shadow_features"] = dims;
  result.model = std::move(model);
  return result;
}

}  // namespace unlearn
