#include "unlearn/compose/polish.h"

#include <torch/torch.h>

#include <set>

#include "unlearn/compose/merge.h"
#include "unlearn/core/error.h"
#include "unlearn/train/batches.h"
#include "unlearn/train/batchnorm.h"

namespace unlearn {

void PolishOptions::validate() const {
  require_option(recalibrate_samples() >= 1, "recalibrate-samples", ">= 1",
                 static_cast<double>(recalibrate_samples()));
  require_option(finetune_epochs() >= 0, "finetune-epochs", ">= 0", finetune_epochs());
  finetune().validate();
}

std::vector<TraceRecord> polish_composite(Model& model, const UnlearnData& data,
                                          const PolishOptions& o, const RunContext& context,
                                          Observer& observer) {
  o.validate();
  const torch::Device device = context.device();
  model.to(device);
  if (o.recalibrate() && has_batchnorm(model)) {
    UNLEARN_CHECK(data.retain.numel() > 0, "compose: no retain samples to recalibrate batch norm");
    recalibrate_batchnorm(model, data.inputs, data.retain, o.recalibrate_samples(), 256, o.seed());
  }
  if (o.finetune_epochs() <= 0) return {};
  UNLEARN_CHECK(data.retain.numel() > 0,
                "compose: the retain set is empty; nothing to fine-tune on");

  std::set<std::string> frozen;
  for (const auto& group : o.freeze()) {
    for (auto& name : group_tensors(model, group)) frozen.insert(std::move(name));
  }
  model.train(true);
  std::vector<torch::Tensor> params;
  for (const auto& item : model.named_parameters()) {
    const bool trainable = frozen.count(item.key()) == 0;
    item.value().set_requires_grad(trainable);
    if (trainable) params.push_back(item.value());
  }
  UNLEARN_CHECK_AS(UsageError, !params.empty(), "--freeze: every parameter is frozen");
  // A frozen group keeps its batch-norm statistics as well as its weights.
  for (const auto& item : model.module().named_modules("", /*include_self=*/false)) {
    bool all_frozen = true, any = false;
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) {
      any = true;
      all_frozen = all_frozen && frozen.count(item.key() + "." + b.key()) == 1;
    }
    if (any && all_frozen) item.value()->train(false);
  }

  auto optimizer = make_optimizer(o.finetune(), params);
  BatchStream stream(data.retain, o.finetune().batch(), o.seed());
  UpdateLoop loop(context, "compose fine-tune",
                  steps_for_epochs(data.retain.numel(), o.finetune().batch(), o.finetune_epochs()));
  auto trace = run_update_loop(
      loop, params, *optimizer,
      [&](int64_t) {
        const Batch b = fetch_batch(data, stream.next(), device);
        return StepLoss{cross_entropy_to(model.logits(b.x), b.y), {}};
      },
      observer);
  finish_model(model);
  return trace;
}

}  // namespace unlearn
