#include "unlearn/methods/delete.h"

#include <torch/torch.h>

#include <limits>

#include "unlearn/core/error.h"

namespace unlearn {

void DeleteOptions::validate() const {
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  update().validate();
}

OptionTable Delete::option_table(Options& o) {
  OptionTable table;
  table.add("epochs", "passes over the forget set (fractions allowed)", o.epochs());
  add_update_options(table, o.update());
  add_bn_mode_option(table, o.update());
  table.add("method-seed", "seed of the batch order, mixed with --seed", o.seed());
  return table;
}

torch::Tensor masked_teacher_target(const torch::Tensor& teacher_logits,
                                    const torch::Tensor& labels) {
  UNLEARN_CHECK(teacher_logits.dim() == 2 && teacher_logits.size(1) >= 2 && labels.dim() == 1 &&
                    labels.size(0) == teacher_logits.size(0),
                "masked_teacher_target: expected N×K logits (K >= 2) and N labels");
  // -inf, not a large negative number: the true class gets exactly zero mass in any precision.
  const auto masked = teacher_logits.to(torch::kFloat32)
                          .scatter(1, labels.to(torch::kLong).unsqueeze(1),
                                   -std::numeric_limits<float>::infinity());
  return torch::softmax(masked, 1);
}

MethodResult Delete::run(const Model& original, const UnlearnData& data, const RunContext& context,
                         Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  const Model teacher = frozen_copy(original, context.device());
  return run_passes_over_rows(
      original, data, data.forget, o.epochs(), o.update(), method_seed(o.seed(), context), name(),
      context, observer, [&teacher](Model& model, const Batch& b, int64_t, int64_t) {
        torch::Tensor target;
        {
          torch::NoGradGuard no_grad;
          target = masked_teacher_target(teacher.logits(b.x), b.y);
        }
        const auto log_student = torch::log_softmax(model.logits(b.x).to(torch::kFloat32), 1);
        // KL(target || student), summed over classes and averaged over the batch; the masked
        // class contributes nothing (0 · log 0 = 0).
        const auto kl = torch::nn::functional::kl_div(
            log_student, target,
            torch::nn::functional::KLDivFuncOptions().reduction(torch::kBatchMean));
        const double true_class_probability =
            log_student.exp().gather(1, b.y.unsqueeze(1)).mean().item<double>();
        return StepLoss{kl, {{"true_class_probability", true_class_probability}}};
      });
}

}  // namespace unlearn
