#include "unlearn/methods/l1_sparse.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void L1SparseOptions::validate() const {
  require_option(gamma() >= 0, "gamma", ">= 0", gamma());
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  update().validate();
}

double l1_weight_at(double gamma, int64_t t, int64_t steps) {
  if (steps <= 1) return gamma;
  return gamma * static_cast<double>(steps - 1 - t) / static_cast<double>(steps - 1);
}

OptionTable L1Sparse::option_table(Options& o) {
  OptionTable table;
  table.add("gamma", "l1 weight at the first step; it falls linearly to 0 at the last", o.gamma())
      .add("epochs", "passes over the retain set (fractions allowed)", o.epochs());
  add_update_options(table, o.update());
  table.add("method-seed", "seed of the batch order, mixed with --seed", o.seed());
  return table;
}

MethodResult L1Sparse::run(const Model& original, const UnlearnData& data,
                           const RunContext& context, Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(data.retain.numel() > 0,
                "l1-sparse: the retain set is empty; fine-tuning needs retain samples");
  const torch::Device device = context.device();

  Model model = working_copy(original, device);
  const auto params = model.parameters();
  auto optimizer = make_optimizer(o.update(), params);
  BatchStream retain(data.retain, o.update().batch(), method_seed(o.seed(), context));

  UpdateLoop loop;
  loop.phase = name();
  loop.steps = steps_for_epochs(data.retain.numel(), o.update().batch(), o.epochs());
  auto trace = run_update_loop(
      loop, params, *optimizer,
      [&](int64_t t) {
        const Batch b = fetch_batch(data, retain.next(), device);
        const auto retain_loss = cross_entropy_to(model.logits(b.x), b.y);
        const double weight = l1_weight_at(o.gamma(), t, loop.steps);
        StepLoss out;
        out.loss = retain_loss;
        out.values["retain_loss"] = retain_loss.item<double>();
        out.values["l1_weight"] = weight;
        std::vector<torch::Tensor> norms;
        norms.reserve(params.size());
        for (const auto& p : params) norms.push_back(p.abs().sum());
        const auto l1 = torch::stack(norms).sum();
        out.values["l1_norm"] = l1.item<double>();
        if (weight > 0) out.loss = out.loss + weight * l1;
        return out;
      },
      observer);

  finish_model(model);
  MethodResult result{std::move(model), std::move(trace), {}};
  result.summary = {{"steps", loop.steps}};
  return result;
}

}  // namespace unlearn
