#pragma once
// `unlearn sweep --compose`: after the trials, the best-forgetting and the best-retaining trial
// are composed by the composite search, on the sweep's own validation split. Internal to jobs/.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"

namespace unlearn {

/// The trials with the lowest `forget` and the highest `keep` value (validation axes; `trials`
/// names each trial's folder under dir/trials), merged
/// by the suppress-goal search against the sweep's retrain; writes dir/compose/{model.pt,
/// search.json}. Returns the summary for sweep.json (or {"skipped": why}).
nlohmann::json compose_sweep_trials(const std::filesystem::path& dir, const std::string& forget,
                                    const std::vector<std::string>& trials,
                                    const std::vector<double>& forget_axis,
                                    const std::vector<double>& keep_axis, double suppress_tolerance,
                                    const DataBundle& bundle, const RunContext& context,
                                    Observer& observer);

/// The markdown section of sweep.md for that summary.
std::string sweep_compose_markdown(const nlohmann::json& compose);

}  // namespace unlearn
