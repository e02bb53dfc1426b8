// `unlearn eval`: a model's metrics on a split, beside an optional original and retrain, judged
// the way forget judges them (evaluation.h).

#include <torch/torch.h>

#include <chrono>
#include <deque>
#include <map>
#include <optional>

#include "evaluation.h"
#include "inputs.h"
#include "unlearn/data/source.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/metrics/output_cache.h"
#include "unlearn/report/result.h"

namespace unlearn {

using namespace internal;  // what the jobs share (src/jobs/*.h)

nlohmann::json run_eval_job(const EvalJob& job, const RunContext& context, Observer& observer) {
  Model model = Model::load(job.model, job.torchscript);
  const DataSelection& s = job.selection;
  DataBundle bundle = load_job_data(s.data, s.data_options, observer);
  check_compatible(model, bundle, job.model);
  // outliers() must pick the samples forget picked: those the original model ranks highest.
  std::optional<Model> reference;
  if (!job.original.empty()) reference = Model::load(job.original, job.torchscript);
  Split split = split_for(s.forget, bundle, s.allow_empty, "--forget",
                          reference ? &*reference : nullptr, "--original MODEL");
  EvalData data = make_eval_data(bundle, model.spec().input);
  const OutputCache cache(context.output_cache_dir());
  const CacheUse cached = open_cache(job.use_cache, bundle, cache);

  std::vector<EntryRequest> requests{{"model", &model, job.model, &data, cached}};
  std::deque<Model> others;  // a deque keeps the requests' pointers valid as it grows
  std::deque<std::optional<EvalData>> own;
  for (const auto& [role, path] :
       {std::pair<std::string, std::string>{"original", job.original}, {"retrain", job.retrain}}) {
    if (path.empty()) continue;
    // The original was already loaded to rank outliers(): it is moved here, not read again.
    others.push_back(role == "original" ? std::move(*reference)
                                        : Model::load(path, job.torchscript));
    check_compatible(others.back(), bundle, path);
    own.emplace_back();
    const EvalData& odata = eval_data_for(others.back(), model, data, bundle, own.back());
    requests.push_back({role, &others.back(), path, &odata, cached});
  }
  nlohmann::json result;
  result["command"] = "eval";
  add_comparisons(result, evaluate_entries(requests, split, context, observer), split);
  add_relearn(job.relearn, result, "model", model, data, split, context);
  if (job.audit) {
    const auto audit_start = std::chrono::steady_clock::now();
    for (const EntryRequest& r : requests) {
      add_audits(result, r.role, *r.model, r.path, *r.data, split, context, observer, cached);
    }
    add_depth_gaps(result);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - audit_start;
    result["time_s"] = {{"audit", took.count()}};
  }
  result["data"] = data_entry(s.data, split);
  result["data"]["class_names"] = bundle.train.class_names;
  result["env"] = env_entry(context.threads(), context.seed(), context.device().str(),
                            precision_name(context.precision()));
  return result;
}

}  // namespace unlearn
