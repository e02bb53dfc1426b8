#include "unlearn/methods/retrain.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/methods/update_loop.h"
#include "unlearn/train/model_cache.h"

namespace unlearn {

void RetrainOptions::validate() const {
  require_option(epochs() == -1 || epochs() >= 1, "epochs", ">= 1 (or -1: inherit)",
                 static_cast<double>(epochs()));
  require_option(batch() == -1 || batch() >= 1, "batch", ">= 1 (or -1: inherit)",
                 static_cast<double>(batch()));
  require_option(lr() == -1 || lr() > 0, "lr", "> 0 (or -1: inherit)", lr());
  require_option(momentum() == -1 || (momentum() >= 0 && momentum() < 1), "momentum",
                 "a value in [0,1) (or -1: inherit)", momentum());
  require_option(weight_decay() == -1 || weight_decay() >= 0, "weight-decay",
                 ">= 0 (or -1: inherit)", weight_decay());
  require_option(train_seed() >= -1, "train-seed", ">= 0 (or -1: inherit)",
                 static_cast<double>(train_seed()));
}

OptionTable Retrain::option_table(Options& o) {
  OptionTable t;
  t.add("epochs", "training epochs; -1: the original's", o.epochs())
      .add("batch", "batch size; -1: the original's", o.batch())
      .add("lr", "peak learning rate; -1: the original's", o.lr())
      .add("momentum", "SGD momentum; -1: the original's", o.momentum())
      .add("weight-decay", "weight decay; -1: the original's", o.weight_decay())
      .add("schedule", "learning-rate schedule", o.schedule(),
           {"inherit", "cosine", "step", "constant"})
      .add("train-seed", "seed of initialisation and batch order; -1: the original's",
           o.train_seed())
      .add("cache", "reuse a cached retrain of the same data, rows, spec and recipe", o.cache());
  return t;
}

TrainOptions Retrain::recipe_for(const Model& original) const {
  TrainOptions r;
  const auto& prov = original.spec().provenance;
  if (prov.is_object() && prov.contains("recipe") && prov["recipe"].is_object()) {
    const auto& j = prov["recipe"];
    r.epochs(j.value("epochs", r.epochs()))
        .batch(j.value("batch", r.batch()))
        .lr(j.value("lr", r.lr()))
        .momentum(j.value("momentum", r.momentum()))
        .weight_decay(j.value("weight_decay", r.weight_decay()))
        .seed(j.value("seed", r.seed()));
    if (j.contains("schedule")) {
      const std::string text = j["schedule"].is_string() ? j["schedule"].get<std::string>() : "";
      const auto schedule = find_choice<LrSchedule>(text);
      UNLEARN_CHECK(schedule, "retrain: the original's provenance names an unknown schedule '",
                    text, "'");
      r.schedule(*schedule);
    }
  }
  const Options& o = options_;
  if (o.epochs() != -1) r.epochs(o.epochs());
  if (o.batch() != -1) r.batch(o.batch());
  if (o.lr() != -1) r.lr(o.lr());
  if (o.momentum() != -1) r.momentum(o.momentum());
  if (o.weight_decay() != -1) r.weight_decay(o.weight_decay());
  if (o.schedule() != "inherit") r.schedule(parse_choice<LrSchedule>(o.schedule(), "schedule"));
  if (o.train_seed() != -1) r.seed(static_cast<uint64_t>(o.train_seed()));
  return r;
}

MethodResult Retrain::run(const Model& original, const UnlearnData& data, const RunContext& context,
                          Observer& observer) const {
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(data.retain.numel() > 0, "retrain: the retain set is empty; nothing to train on");
  const TrainOptions recipe = recipe_for(original);
  recipe.validate();
  ModelSpec spec = original.spec();
  spec.provenance = nlohmann::json::object();

  const ModelCache cache(options_.cache() ? context.model_cache_dir() : "");
  std::string key;
  if (cache.enabled())
    key = training_key(data.inputs, data.labels, data.retain, spec, recipe, context.precision());
  MethodResult result{original, {}, {}};
  auto found = cache.find(key);
  // A model cached before its training time was kept is trained again, once: time budgets
  // (the bench's `budgets`) are shares of that time.
  if (found && !found->spec().provenance.contains("train_time_s")) found.reset();
  if (found) {
    observer.message("retrain: reusing the cached model " + cache.path(key));
    result.model = std::move(*found);
    result.model.to(context.device());
    result.summary = {{"cache_hit", true}, {"cache_file", cache.path(key)}};
    // The training time as measured when the cached model was trained.
    result.summary["train_time_s"] = result.model.spec().provenance["train_time_s"];
  } else {
    seed_everything(recipe.seed());
    Model model = Model::create(spec);
    TrainReport report =
        train_model(model, data.inputs, data.labels, data.retain, recipe, context, observer);
    result.model = std::move(model);
    result.summary = {{"cache_hit", false}, {"train_time_s", report.seconds}};
    result.model.spec().provenance["train_time_s"] = report.seconds;
    if (cache.enabled()) {
      cache.store(key, result.model);
      result.summary["cache_file"] = cache.path(key);
    }
  }
  finish_model(result.model);
  result.summary["recipe"] = {{"epochs", recipe.epochs()},
                              {"batch", recipe.batch()},
                              {"lr", recipe.lr()},
                              {"momentum", recipe.momentum()},
                              {"weight_decay", recipe.weight_decay()},
                              {"schedule", choice_name(recipe.schedule())},
                              {"seed", recipe.seed()}};
  return result;
}

}  // namespace unlearn
