#include "unlearn/methods/scrub.h"

#include <torch/torch.h>

#include <utility>
#include <vector>

#include "unlearn/core/error.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void ScrubOptions::validate() const {
  require_option(epochs() >= 1, "epochs", ">= 1", static_cast<double>(epochs()));
  require_option(max_steps() >= 0, "max-steps", ">= 0", static_cast<double>(max_steps()));
  require_option(retain_batches() >= 0, "retain-batches", ">= 0 (0 = a full pass over D_r)",
                 static_cast<double>(retain_batches()));
  require_option(forget_batch() >= 1, "forget-batch", ">= 1", static_cast<double>(forget_batch()));
  require_option(alpha() >= 0, "alpha", ">= 0", alpha());
  require_option(gamma() >= 0, "gamma", ">= 0", gamma());
  require_option(temperature() > 0, "temperature", "> 0", temperature());
  update().validate();
}

OptionTable Scrub::option_table(Options& o) {
  OptionTable table;
  table
      .add("epochs", "epochs; each has a min step over D_r, the first --max-steps a max step too",
           o.epochs())
      .add("max-steps", "epochs that begin with a max step over D_f", o.max_steps())
      .add("retain-batches", "min-step batches per epoch; 0 = a full pass over D_r",
           o.retain_batches())
      .add("forget-batch", "batch size of the max step", o.forget_batch())
      .add("alpha", "weight of KL(teacher || student) in the min step", o.alpha())
      .add("gamma", "weight of the cross-entropy in the min step", o.gamma())
      .add("temperature", "distillation temperature T", o.temperature());
  add_update_options(table, o.update());
  add_bn_mode_option(table, o.update());
  table.add("method-seed", "seed of the batch order", o.method_seed());
  return table;
}

torch::Tensor distillation_kl(const torch::Tensor& student_logits,
                              const torch::Tensor& teacher_logits, double temperature) {
  namespace F = torch::nn::functional;
  const double t = temperature;
  return F::kl_div(torch::log_softmax(student_logits / t, 1), torch::softmax(teacher_logits / t, 1),
                   F::KLDivFuncOptions().reduction(torch::kBatchMean)) *
         (t * t);
}

MethodResult Scrub::run(const Model& original, const UnlearnData& data, const RunContext& context,
                        Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(data.retain.numel() > 0,
                "scrub: the retain set is empty; its min step needs retain samples");
  const torch::Device device = context.device();
  const uint64_t seed = method_seed(o.method_seed(), context);

  const Model teacher = frozen_copy(original, device);
  Model student = working_copy(original, context);
  // The optimiser holds the student's own parameters: the model that is trained.
  const auto params = student.parameters();
  auto optimizer = make_optimizer(o.update(), params);
  const Shard shard = shard_of(context.group());
  BatchStream forget(data.forget, o.forget_batch(), seed, true, false, shard);
  BatchStream retain(data.retain, o.update().batch(), seed + 1, true, false, shard);

  // The step plan: per epoch, a max pass over D_f (while epoch < max-steps), then min steps.
  const int64_t min_per_epoch =
      o.retain_batches() > 0 ? o.retain_batches() : retain.batches_per_pass();
  struct Planned {
    bool maximise;
    int64_t epoch;
  };
  std::vector<Planned> plan;
  for (int64_t e = 0; e < o.epochs(); ++e) {
    if (e < o.max_steps()) {
      for (int64_t b = 0; b < forget.batches_per_pass(); ++b) plan.push_back({true, e});
    }
    for (int64_t b = 0; b < min_per_epoch; ++b) plan.push_back({false, e});
  }

  UpdateLoop loop(context, "scrub", static_cast<int64_t>(plan.size()));
  student.train(true);
  apply_bn_mode(student, o.update().bn_mode());
  auto step = [&](int64_t t) {
    const Planned& p = plan[static_cast<size_t>(t)];
    auto batch = fetch_batch(data, p.maximise ? forget.next() : retain.next(), device);
    torch::Tensor teacher_logits;
    {
      torch::NoGradGuard no_grad;
      teacher_logits = teacher.logits(batch.x);
    }
    auto logits = student.logits(batch.x);
    auto kl = distillation_kl(logits, teacher_logits, o.temperature());
    StepLoss out;
    out.values = {{"max_step", p.maximise ? 1.0 : 0.0},
                  {"epoch", static_cast<double>(p.epoch + 1)},
                  {"kl", kl.item<double>()}};
    if (p.maximise) {
      out.loss = -kl;
    } else {
      auto ce = cross_entropy_to(logits, batch.y);
      out.values["ce"] = ce.item<double>();
      out.loss = o.alpha() * kl + o.gamma() * ce;
    }
    return out;
  };
  MethodResult result{original, {}, {}};
  result.trace = run_update_loop(loop, params, *optimizer, step, observer);
  settle_bn_mode(student, o.update().bn_mode(), data, seed);
  finish_model(student);

  int64_t max_count = 0;
  for (const auto& record : result.trace) max_count += record.values.at("max_step") > 0 ? 1 : 0;
  result.summary = step_counts(result.trace, loop.steps);
  result.summary["max_steps"] = max_count;
  result.summary["min_steps"] = static_cast<int64_t>(result.trace.size()) - max_count;
  result.model = std::move(student);
  return result;
}

}  // namespace unlearn
