#pragma once
// What a job reads before it works: models checked against the data, the split of a selection,
// and evaluation inputs in a model's format. Internal to jobs/.

#include <optional>
#include <string>

#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"
#include "unlearn/data/source.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/models/model.h"
#include "unlearn/select/selection.h"

namespace unlearn::internal {

/// The data source `spec`, with what its reader skipped or assumed told to `observer`.
DataBundle load_job_data(const std::string& spec, const DataOptions& options, Observer& observer);

/// Checks that a model (read from `path`) can be applied to a data source.
void check_compatible(const Model& model, const DataBundle& bundle, const std::string& path);

/// The split of `expression` (given with `flag`); `reference` ranks samples for outliers() and
/// `reference_flag` names where it comes from.
Split split_for(const std::string& expression, const DataBundle& bundle, bool allow_empty,
                const char* flag, const Model* reference, const char* reference_flag);

/// Eval data in `model`'s input format, reusing `shared` (made for `reference`) when the input
/// specs agree, else made into `storage`.
const EvalData& eval_data_for(const Model& model, const Model& reference, const EvalData& shared,
                              const DataBundle& bundle, std::optional<EvalData>& storage);

}  // namespace unlearn::internal
