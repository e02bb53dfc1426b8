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
  return run_passes_over_rows(original, data, data.retain, o.epochs(), o.update(),
                              method_seed(o.seed(), context), name(), context, observer,
                              [](Model& model, const Batch& b, int64_t, int64_t) {
                                return StepLoss{cross_entropy_to(model.logits(b.x), b.y), {}};
                              });
}

}  // namespace unlearn
