#pragma once
// Checkpoints of a running optimisation: model, optimiser, random-number and data-order state,
// so a killed run resumes where it stopped and ends with the same bytes as an unbroken run.

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "unlearn/models/model.h"

namespace unlearn {

/// Where and how often a run saves its state, and whether it starts from a saved one.
/// Example: Checkpointing{"model.pt.ckpt", 500, true, config_json}
struct Checkpointing {
  std::string path;     // empty: no checkpoints
  int64_t every = 0;    // optimiser steps between checkpoints; 0: none are written
  bool resume = false;  // continue from `path` when it exists
  /// What the run is (data, selection, architecture, recipe...). A checkpoint written by a run
  /// with other settings is refused, naming the first setting that differs.
  nlohmann::json config = nlohmann::json::object();

  bool due(int64_t steps_done, int64_t total) const {
    return !path.empty() && every > 0 && steps_done % every == 0 && steps_done < total;
  }
};

/// The loop's position between two steps: optimiser steps done, plus any running sums the
/// loop keeps (they must resume exactly for the result to be bit-identical).
struct LoopState {
  int64_t step = 0;
  nlohmann::json counters = nlohmann::json::object();
};

/// Writes the state atomically to `checkpointing.path` (replacing the previous checkpoint):
/// the model's parameters and buffers, the optimiser's state, the default CPU generator's
/// state and `state`. A data order is not stored: it is a function of its seed and the step.
void save_checkpoint(const Checkpointing& checkpointing, const LoopState& state, const Model& model,
                     torch::optim::Optimizer& optimizer);

/// With `checkpointing.resume` and a checkpoint at its path, restores the model, the optimiser
/// and the CPU generator from it and returns the loop's position; otherwise nullopt. Throws
/// FormatError naming the file when it is not a checkpoint, and Error naming the setting when
/// it was written by a different run.
std::optional<LoopState> load_checkpoint(const Checkpointing& checkpointing, Model& model,
                                         torch::optim::Optimizer& optimizer);

/// Removes the checkpoint once the run's output is written (a finished run needs none).
void remove_checkpoint(const Checkpointing& checkpointing);

}  // namespace unlearn
