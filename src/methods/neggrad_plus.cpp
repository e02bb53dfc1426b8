#include "unlearn/methods/neggrad_plus.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void NegGradPlusOptions::validate() const {
  require_option(alpha() >= 0 && alpha() <= 1, "alpha", "a value in [0,1]", alpha());
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  update().validate();
}

OptionTable NegGradPlus::option_table(Options& o) {
  OptionTable table;
  table.add("alpha", "weight of the retain loss; 1 - alpha weighs the forget ascent", o.alpha())
      .add("epochs", "passes over the forget set (fractions allowed)", o.epochs());
  add_update_options(table, o.update());
  add_bn_mode_option(table, o.update());
  table.add("method-seed", "seed of the batch order, mixed with --seed", o.seed());
  return table;
}

MethodResult NegGradPlus::run(const Model& original, const UnlearnData& data,
                              const RunContext& context, Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(o.alpha() == 0 || data.retain.numel() > 0,
                "neggrad-plus: the retain set is empty; --alpha > 0 needs retain samples");
  const torch::Device device = context.device();

  Model model = working_copy(original, context);
  apply_bn_mode(model, o.update().bn_mode());
  const auto params = model.parameters();
  auto optimizer = make_optimizer(o.update(), params);
  const uint64_t seed = method_seed(o.seed(), context);
  const int64_t batch = o.update().batch();
  const Shard shard = shard_of(context.group());
  BatchStream forget(data.forget, batch, seed, true, false, shard);
  std::unique_ptr<BatchStream> retain;
  if (o.alpha() > 0)
    retain = std::make_unique<BatchStream>(data.retain, batch, seed + 1, true, false, shard);

  UpdateLoop loop(context, name(), steps_for_epochs(data.forget.numel(), batch, o.epochs(), shard));
  auto trace = run_update_loop(
      loop, params, *optimizer,
      [&](int64_t) {
        // Two forward passes, so each batch is normalised by its own batch statistics.
        const Batch f = fetch_batch(data, forget.next(), device);
        const auto forget_loss = cross_entropy_to(model.logits(f.x), f.y);
        torch::Tensor loss = -(1 - o.alpha()) * forget_loss;
        StepLoss out;
        out.values["forget_loss"] = forget_loss.item<double>();
        if (retain) {
          const Batch r = fetch_batch(data, retain->next(), device);
          const auto retain_loss = cross_entropy_to(model.logits(r.x), r.y);
          loss = loss + o.alpha() * retain_loss;
          out.values["retain_loss"] = retain_loss.item<double>();
        }
        out.loss = loss;
        return out;
      },
      observer);

  settle_bn_mode(model, o.update().bn_mode(), data, seed);
  finish_model(model);
  MethodResult result{std::move(model), std::move(trace), {}};
  result.summary = step_counts(result.trace, loop.steps);
  return result;
}

}  // namespace unlearn
