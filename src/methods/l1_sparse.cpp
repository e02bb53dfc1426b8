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
  const double gamma = o.gamma();
  return run_passes_over_rows(original, data, data.retain, o.epochs(), o.update(),
                              method_seed(o.seed(), context), name(), context, observer,
                              [gamma](Model& model, const Batch& b, int64_t t, int64_t steps) {
                                const auto retain_loss = cross_entropy_to(model.logits(b.x), b.y);
                                const double weight = l1_weight_at(gamma, t, steps);
                                std::vector<torch::Tensor> norms;
                                for (const auto& p : model.parameters())
                                  norms.push_back(p.abs().sum());
                                const auto l1 = torch::stack(norms).sum();
                                StepLoss out{retain_loss,
                                             {{"retain_loss", retain_loss.item<double>()},
                                              {"l1_weight", weight},
                                              {"l1_norm", l1.item<double>()}}};
                                if (weight > 0) out.loss = out.loss + weight * l1;
                                return out;
                              });
}

}  // namespace unlearn
