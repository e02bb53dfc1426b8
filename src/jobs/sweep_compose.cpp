#include "sweep_compose.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

#include "inputs.h"
#include "unlearn/compose/polish.h"
#include "unlearn/compose/search.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/models/model.h"

namespace unlearn {

namespace fs = std::filesystem;

nlohmann::json compose_sweep_trials(const fs::path& dir, const std::string& forget,
                                    const std::vector<std::string>& trials,
                                    const std::vector<double>& forget_axis,
                                    const std::vector<double>& keep_axis, double suppress_tolerance,
                                    const DataBundle& bundle, const RunContext& context,
                                    Observer& observer) {
  std::optional<size_t> hard, kind;
  for (size_t i = 0; i < forget_axis.size(); ++i) {
    if (std::isnan(forget_axis[i]) || std::isnan(keep_axis[i])) continue;
    if (!hard || forget_axis[i] < forget_axis[*hard]) hard = i;
    if (!kind || keep_axis[i] > keep_axis[*kind]) kind = i;
  }
  if (!hard) return {{"skipped", "no trial finished"}};
  if (*hard == *kind) {
    return {{"skipped", trials[*hard] + " both forgets and retains best; nothing to compose"}};
  }
  observer.message("sweep: composing " + trials[*kind] + " (retains best) with " + trials[*hard] +
                   " (forgets best)");
  const std::string kind_path = (dir / "trials" / trials[*kind] / "model.pt").string();
  const std::string hard_path = (dir / "trials" / trials[*hard] / "model.pt").string();
  const Model kind_model = Model::load(kind_path), hard_model = Model::load(hard_path);
  const Model original = Model::load((dir / "models" / "original.pt").string());
  const Model retrain = Model::load((dir / "models" / "retrain.pt").string());
  const Split split =
      internal::split_for(forget, bundle, false, "forget", &original, "the sweep's original");
  const EvalData data = make_eval_data(bundle, kind_model.spec().input);
  const auto [small_data, small_split] = subsample_train(data, split, 10000, context.seed());
  const std::vector<MergeSource> sources{{&kind_model, kind_path}, {&hard_model, hard_path}};
  const CompositeSearch found = search_composites(sources, small_data, small_split, &retrain,
                                                  CompositeSearchOptions()
                                                      .goal(CompositeGoal::suppress)
                                                      .tolerance(suppress_tolerance)
                                                      .seed(context.seed()),
                                                  context, observer);

  Model composite = merge_weighted(sources, found.chosen);
  polish_composite(composite,
                   {data.train_inputs, data.train_labels, split.train.forget, split.train.retain},
                   PolishOptions().seed(context.seed()), context, observer);
  const auto evaluated = [&](const Model& m) {
    return nlohmann::json(
        evaluate(compute_outputs(m, data), data, split, EvalOptions().seed(context.seed()))
            .metrics);
  };
  fs::create_directories(dir / "compose");
  composite.spec().provenance = {
      {"command", "sweep --compose"},
      {"sources", {kind_path, hard_path}},
      {"weights", found.summary["candidates"][found.summary["chosen"].get<size_t>()]["weights"]}};
  composite.save((dir / "compose" / "model.pt").string(), true, "--out");
  write_text_atomically((dir / "compose" / "search.json").string(),
                        json_text(found.summary, 2) + "\n", true, "--out");
  const size_t chosen = found.summary["chosen"];
  return {{"retaining", {{"trial", trials[*kind]}, {"values", evaluated(kind_model)}}},
          {"forgetting", {{"trial", trials[*hard]}, {"values", evaluated(hard_model)}}},
          {"composite",
           {{"weights", found.summary["candidates"][chosen]["weights"]},
            {"values", evaluated(composite)},
            {"met", found.summary["met"]}}},
          {"constraint", found.summary["constraint"]},
          {"candidates", found.summary["candidates"].size()},
          {"model", (dir / "compose" / "model.pt").string()}};
}

std::string sweep_compose_markdown(const nlohmann::json& c) {
  std::ostringstream md;
  md << "\n## Composite of the best-retaining and the best-forgetting trial\n\n";
  if (c.contains("skipped")) {
    md << "Not composed: " << c["skipped"].get<std::string>() << ".\n";
    return md.str();
  }
  auto num = [](const nlohmann::json& v, const char* key) {
    if (!v.contains(key) || !v[key].is_number()) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v[key].get<double>());
    return std::string(buf);
  };
  md << "| model | UA | RA | FTA (val) | RTA (val) | MIA_efficacy |\n|---|---|---|---|---|---|\n";
  for (const auto& [label, key] : {std::pair<std::string, std::string>{"retaining", "retaining"},
                                   {"forgetting", "forgetting"},
                                   {"composite", "composite"}}) {
    const auto& e = c[key];
    const std::string name =
        e.contains("trial") ? label + " (" + e["trial"].get<std::string>() + ")" : label;
    const auto& v = e["values"];
    md << "| " << name << " | " << num(v, "UA") << " | " << num(v, "RA") << " | " << num(v, "FTA")
       << " | " << num(v, "RTA") << " | " << num(v, "MIA_efficacy") << " |\n";
  }
  md << "\nWeights of the second (forgetting) run per group: " << c["composite"]["weights"].dump()
     << "; " << c["candidates"].get<size_t>()
     << " candidates searched for the suppress goal, constraint " << c["constraint"].dump()
     << (c["composite"]["met"].get<bool>() ? " (met)" : " (not met by any candidate)") << ".\n";
  return md.str();
}

}  // namespace unlearn
