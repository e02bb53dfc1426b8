#pragma once
// `unlearn inspect`: what a data source or a model file holds, before anyone writes a selection.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "unlearn/data/source.h"
#include "unlearn/models/model.h"

namespace unlearn {

/// Counts, image shape, samples per class and, for every metadata column, its type and its
/// distinct values with counts (the `max_values` most frequent; id-like columns only count).
nlohmann::json inspect_data(const DataBundle& bundle, int64_t max_values = 25);

/// Architecture, options, input spec, class names, parameter count and provenance.
/// `torchscript` completes the spec of a `torchscript:FILE` model.
nlohmann::json inspect_model(const std::string& path, const TorchScriptSpecFlags& torchscript = {});

/// A model file when `target` is one (a file other than .npz/.csv that loads as a model), else
/// a data source as --data reads it.
nlohmann::json run_inspect_job(const std::string& target, const DataOptions& options,
                               const TorchScriptSpecFlags& torchscript = {});

/// The same as readable text.
std::string inspect_text(const nlohmann::json& info);

}  // namespace unlearn
