#include "inputs.h"

#include "unlearn/core/error.h"
#include "unlearn/jobs/reference_scorer.h"

namespace unlearn::internal {

DataBundle load_job_data(const std::string& spec, const DataOptions& options, Observer& observer) {
  DataBundle bundle = load_data(spec, options);
  for (const std::string& note : bundle.notes) observer.message(note);
  return bundle;
}

void check_compatible(const Model& model, const DataBundle& bundle, const std::string& path) {
  const int64_t k = bundle.train.num_classes();
  UNLEARN_CHECK(model.num_classes() == k, path, ": model has ", model.num_classes(),
                " classes but data '", bundle.source, "' has ", k);
}

Split split_for(const std::string& expression, const DataBundle& bundle, bool allow_empty,
                const char* flag, const Model* reference, const char* reference_flag) {
  UNLEARN_CHECK_AS(UsageError, !expression.empty(), flag, " is required");
  const Selection selection = Selection::parse(expression);
  UNLEARN_CHECK_AS(UsageError, reference != nullptr || !selection.uses_outliers(), flag,
                   ": outliers() ranks samples with a reference model; give ", reference_flag);
  std::optional<ModelOutlierScorer> scorer;
  if (reference != nullptr) scorer.emplace(*reference);
  return make_split(selection, bundle,
                    SplitOptions().allow_empty(allow_empty).scorer(scorer ? &*scorer : nullptr));
}

const EvalData& eval_data_for(const Model& model, const Model& reference, const EvalData& shared,
                              const DataBundle& bundle, std::optional<EvalData>& storage) {
  const auto& a = model.spec().input;
  const auto& b = reference.spec().input;
  if (a.channels == b.channels && a.size == b.size && a.mean == b.mean && a.std == b.std) {
    return shared;
  }
  storage = make_eval_data(bundle, a);
  return *storage;
}

}  // namespace unlearn::internal
