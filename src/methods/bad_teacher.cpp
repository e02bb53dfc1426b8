#include "unlearn/methods/bad_teacher.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <utility>

#include "unlearn/core/error.h"
#include "unlearn/methods/last_layers.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void BadTeacherOptions::validate() const {
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  require_option(retain_fraction() > 0 && retain_fraction() <= 1, "retain-fraction",
                 "a share in (0,1]", retain_fraction());
  require_option(temperature() > 0, "temperature", "> 0", temperature());
  update().validate();
}

OptionTable BadTeacher::option_table(Options& o) {
  OptionTable table;
  table.add("epochs", "passes over the forget set plus the retain sample", o.epochs())
      .add("retain-fraction",
           "share of the retain set sampled to keep the competent teacher's "
           "knowledge",
           o.retain_fraction())
      .add("temperature", "temperature of both teachers' and the student's softmax",
           o.temperature());
  add_update_options(table, o.update());
  table.add("method-seed", "seed of the incompetent teacher, the retain sample and the batches",
            o.method_seed());
  return table;
}

Model incompetent_teacher(const ModelSpec& spec, uint64_t seed) { return seeded_model(spec, seed); }

MethodResult BadTeacher::run(const Model& original, const UnlearnData& data,
                             const RunContext& context, Observer& observer) const {
  namespace F = torch::nn::functional;
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(data.retain.numel() > 0,
                "bad-teacher: the retain set is empty; the competent teacher needs retain samples");
  const torch::Device device = context.device();
  const uint64_t seed = method_seed(o.method_seed(), context);

  const Model competent = frozen_copy(original, device);
  const Model incompetent = frozen_copy(incompetent_teacher(original.spec(), seed), device);
  Model student = working_copy(original, context);

  // D_f plus a random retain_fraction of D_r, and which of those rows are to be forgotten.
  auto gen = at::detail::createCPUGenerator(seed + 1);
  const auto n_retain = std::max<int64_t>(
      1, std::llround(o.retain_fraction() * static_cast<double>(data.retain.numel())));
  auto retain_sample = data.retain.index_select(
      0, torch::randperm(data.retain.numel(), gen, torch::kInt64).slice(0, 0, n_retain));
  auto rows = torch::cat({data.forget, retain_sample});
  auto is_forget = torch::zeros({data.labels.size(0)}, torch::kBool);
  is_forget.index_fill_(0, data.forget, true);
  const Shard shard = shard_of(context.group());
  BatchStream stream(rows, o.update().batch(), seed + 2, true, false, shard);

  const auto params = student.parameters();
  auto optimizer = make_optimizer(o.update(), params);
  UpdateLoop loop(context, "bad-teacher",
                  steps_for_epochs(rows.numel(), o.update().batch(), o.epochs(), shard));
  const double t = o.temperature();
  MethodResult result{original, {}, {}};
  result.trace = run_update_loop(
      loop, params, *optimizer,
      [&](int64_t) {
        auto idx = stream.next();
        auto batch = fetch_batch(data, idx, device);
        auto forget_mask = is_forget.index_select(0, idx).to(device);
        // Each teacher sees only the rows it teaches (both are in eval mode, so a row's output
        // does not depend on the rest of its batch).
        torch::Tensor target;
        {
          torch::NoGradGuard no_grad;
          target = torch::empty({idx.size(0), original.num_classes()}, batch.x.options());
          auto f = forget_mask.nonzero().flatten();
          auto r = forget_mask.logical_not().nonzero().flatten();
          if (f.numel() > 0) {
            target.index_copy_(
                0, f, torch::softmax(incompetent.logits(batch.x.index_select(0, f)) / t, 1));
          }
          if (r.numel() > 0) {
            target.index_copy_(0, r,
                               torch::softmax(competent.logits(batch.x.index_select(0, r)) / t, 1));
          }
        }
        auto log_p = torch::log_softmax(student.logits(batch.x) / t, 1);
        auto loss = F::kl_div(log_p, target, F::KLDivFuncOptions().reduction(torch::kBatchMean));
        const double share = forget_mask.to(torch::kFloat64).mean().item<double>();
        return StepLoss{loss, {{"forget_share", share}}};
      },
      observer);
  finish_model(student);
  result.summary = step_counts(result.trace, loop.steps);
  result.summary["forget_rows"] = data.forget.numel();
  result.summary["retain_rows"] = n_retain;
  result.model = std::move(student);
  return result;
}

}  // namespace unlearn
