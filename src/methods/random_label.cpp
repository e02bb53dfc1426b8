#include "unlearn/methods/random_label.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void RandomLabelOptions::validate() const {
  require_option(retain_weight() >= 0, "retain-weight", ">= 0", retain_weight());
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  update().validate();
}

torch::Tensor random_wrong_labels(const torch::Tensor& labels, int64_t classes,
                                  torch::Generator& generator) {
  UNLEARN_CHECK(classes >= 2, "random_wrong_labels: ", classes,
                " classes leave no wrong label to draw (expected >= 2)");
  // An offset in [1, classes) moves every label to one of the other classes, each equally likely.
  const auto offset = torch::randint(1, classes, labels.sizes(), generator, torch::kInt64);
  return (labels + offset.to(labels.device())).remainder(classes);
}

int64_t random_label_steps(const UnlearnData& data, const RandomLabelOptions& o,
                           const RunContext& context) {
  return steps_for_epochs(data.forget.numel(), o.update().batch(), o.epochs(),
                          shard_of(context.group()));
}

std::vector<TraceRecord> run_random_label_updates(Model& model, const UnlearnData& data,
                                                  const RandomLabelOptions& o,
                                                  torch::optim::Optimizer& optimizer,
                                                  const std::function<void()>& after_backward,
                                                  const std::string& phase,
                                                  const RunContext& context, Observer& observer) {
  const torch::Device device = context.device();
  const bool use_retain = o.retain_weight() > 0;
  UNLEARN_CHECK(!use_retain || data.retain.numel() > 0, phase,
                ": the retain set is empty; --retain-weight > 0 needs retain samples");
  const uint64_t seed = method_seed(o.seed(), context);
  const int64_t batch = o.update().batch();
  const Shard shard = shard_of(context.group());
  BatchStream forget(data.forget, batch, seed, true, false, shard);
  std::unique_ptr<BatchStream> retain;
  if (use_retain)
    retain = std::make_unique<BatchStream>(data.retain, batch, seed + 1, true, false, shard);
  torch::Generator label_generator = at::detail::createCPUGenerator(seed + 2);
  const int64_t classes = model.num_classes();

  UpdateLoop loop(context, phase, random_label_steps(data, o, context));
  loop.after_backward = after_backward;
  model.train(true);
  apply_bn_mode(model, o.update().bn_mode());
  return run_update_loop(
      loop, model.parameters(), optimizer,
      [&](int64_t) {
        const Batch f = fetch_batch(data, forget.next(), device);
        const auto wrong = random_wrong_labels(f.y, classes, label_generator);
        const int64_t nf = f.x.size(0);
        StepLoss out;
        if (!use_retain) {
          out.loss = cross_entropy_to(model.logits(f.x), wrong);
          out.values["forget_loss"] = out.loss.item<double>();
          return out;
        }
        // One forward pass over both batches, as if D_f (relabelled) and D_r were one set.
        const Batch r = fetch_batch(data, retain->next(), device);
        const auto logits = model.logits(torch::cat({f.x, r.x}));
        const auto forget_loss = cross_entropy_to(logits.slice(0, 0, nf), wrong);
        const auto retain_loss = cross_entropy_to(logits.slice(0, nf), r.y);
        out.loss = forget_loss + o.retain_weight() * retain_loss;
        out.values["forget_loss"] = forget_loss.item<double>();
        out.values["retain_loss"] = retain_loss.item<double>();
        return out;
      },
      observer);
}

OptionTable RandomLabel::option_table(Options& o) {
  OptionTable table;
  table
      .add("retain-weight", "weight of the retain batch's loss; 0 uses forget batches only",
           o.retain_weight())
      .add("epochs", "passes over the forget set (fractions allowed)", o.epochs());
  add_update_options(table, o.update());
  add_bn_mode_option(table, o.update());
  table.add("method-seed", "seed of the batch order and the random labels, mixed with --seed",
            o.seed());
  return table;
}

MethodResult RandomLabel::run(const Model& original, const UnlearnData& data,
                              const RunContext& context, Observer& observer) const {
  if (data.forget.numel() == 0) return unchanged_result(original);
  Model model = working_copy(original, context);
  const auto params = model.parameters();
  auto optimizer = make_optimizer(options_.update(), params);
  auto trace =
      run_random_label_updates(model, data, options_, *optimizer, {}, name(), context, observer);
  settle_bn_mode(model, options_.update().bn_mode(), data, method_seed(options_.seed(), context));
  finish_model(model);
  MethodResult result{std::move(model), std::move(trace), {}};
  result.summary = step_counts(result.trace, random_label_steps(data, options_, context));
  return result;
}

}  // namespace unlearn
