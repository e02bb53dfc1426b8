#include "unlearn/methods/gradient_ascent.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void GradientAscentOptions::validate() const {
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  update().validate();
}

OptionTable GradientAscent::option_table(Options& o) {
  OptionTable table;
  table.add("epochs", "passes over the forget set (fractions allowed)", o.epochs());
  add_update_options(table, o.update());
  add_bn_mode_option(table, o.update());
  table.add("method-seed", "seed of the batch order, mixed with --seed", o.seed());
  return table;
}

MethodResult GradientAscent::run(const Model& original, const UnlearnData& data,
                                 const RunContext& context, Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  return run_passes_over_rows(
      original, data, data.forget, o.epochs(), o.update(), method_seed(o.seed(), context), name(),
      context, observer, [](Model& model, const Batch& b, int64_t, int64_t) {
        const auto forget_loss = cross_entropy_to(model.logits(b.x), b.y);
        return StepLoss{-forget_loss, {{"forget_loss", forget_loss.item<double>()}}};
      });
}

}  // namespace unlearn
