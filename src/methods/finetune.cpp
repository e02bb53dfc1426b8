#include "unlearn/methods/finetune.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void FinetuneOptions::validate() const {
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  update().validate();
}

OptionTable Finetune::option_table(Options& o) {
  OptionTable table;
  table.add("epochs", "passes over the retain set (fractions allowed)", o.epochs());
  add_update_options(table, o.update());
  table.add("method-seed", "seed of the batch order, mixed with --seed", o.seed());
  return table;
}

MethodResult Finetune::run(const Model& original, const UnlearnData& data,
                           const RunContext& context, Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(data.retain.numel() > 0,
                "finetune: the retain set is empty; fine-tuning needs retain samples");
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
      [&](int64_t) {
        const Batch b = fetch_batch(data, retain.next(), device);
        return StepLoss{cross_entropy_to(model.logits(b.x), b.y), {}};
      },
      observer);

  finish_model(model);
  MethodResult result{std::move(model), std::move(trace), {}};
  result.summary = {{"steps", loop.steps}};
  return result;
}

}  // namespace unlearn
