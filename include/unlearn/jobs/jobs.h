#pragma once
// The use cases of the command-line tool, one library call each: the CLI only parses options
// and calls these. Each returns the JSON it reports.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"
#include "unlearn/data/source.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/models/model.h"
#include "unlearn/train/trainer.h"

namespace unlearn {

/// `unlearn train`: a model trained on a data source, minus an optional --exclude selection.
struct TrainJob {
  std::string data = "fashion-mnist";
  std::string arch = "allcnn";
  double width = 1.0;
  int64_t input_size = 0;  // 0: the data's own size
  std::string exclude;     // empty: train on everything
  DataOptions data_options;
  /// Model that ranks samples when --exclude uses outliers() (the original of a retrain).
  std::string reference;
  TorchScriptSpecFlags torchscript;  // completes the spec of a `torchscript:FILE` reference
  /// "data": per-channel mean and std of the training images; "MEAN,STD": those values for
  /// every channel (the authors' Fashion-MNIST pipeline uses "0.5,0.5").
  std::string normalize = "data";
  bool allow_empty = false;
  TrainOptions recipe;
  std::string out;
  bool force = false;
  std::string registry;  // run registry file that records the run; empty: none
  /// Save the training state to checkpoint_path_for(out) every this many steps (0: never).
  int64_t checkpoint_every = 0;
  /// Continue from checkpoint_path_for(out) when it exists (a run that was killed).
  bool resume = false;
};
/// Where a run writing `out` keeps its checkpoint: OUT.ckpt, removed once OUT is written.
std::string checkpoint_path_for(const std::string& out);
nlohmann::json run_train_job(const TrainJob& job, const RunContext& context, Observer& observer);
/// The same on data already loaded (`job.data` then only names it in the provenance).
nlohmann::json run_train_job(const TrainJob& job, const DataBundle& bundle,
                             const RunContext& context, Observer& observer);

/// The data a job reads and the selection it forgets (or evaluates).
struct DataSelection {
  std::string data = "fashion-mnist";  // data source (data/source.h)
  DataOptions data_options;
  std::string forget;  // selection expression (select/selection.h)
  /// Accept a selection that matches no training sample, or every one.
  bool allow_empty = false;
};

/// The files a run that writes a model leaves behind; all are checked before any work.
struct OutputFiles {
  std::string out;       // the model file
  std::string report;    // optional result JSON
  std::string html;      // optional HTML report (include/unlearn/report/html_report.h)
  bool force = false;    // replace existing files
  std::string registry;  // run registry file that records the run; empty: none
  /// Write the audit manifest OUT.manifest.json (include/unlearn/jobs/verify.h), with the
  /// forgotten sample ids themselves when `manifest_ids`.
  bool manifest = false;
  bool manifest_ids = false;
};

/// `unlearn forget`: unlearn a selection from a model with one method, then evaluate the
/// original, the unlearned and (when given) the retrained model on the same split.
struct ForgetJob {
  std::string model;
  std::string retrain;               // optional
  TorchScriptSpecFlags torchscript;  // completes the spec of `torchscript:FILE` models
  DataSelection selection;
  std::string method = "psg";
  OptionValues method_options;
  OutputFiles outputs;
  /// Reuse the outputs of the original and retrain model files (metrics/output_cache.h; the
  /// folder is RunContext::output_cache_dir).
  bool use_cache = true;
  /// Also measure relearn time (metrics/relearn.h) of the unlearned and retrained models.
  bool relearn = false;
  /// Also run the depth audits (metrics/depth_audit.h) of the original, unlearned and retrained
  /// models, and the depth gap; their time is reported as time_s.audit.
  bool audit = false;
  /// When > 0, the input size the model must take (a check: the size is fixed by training).
  int64_t input_size = 0;
  /// Share of D_r (a seeded random subset) handed to the method; metrics still use all of it.
  double retain_share = 1.0;
  /// When > 0, the method's wall-clock budget in seconds (--time-budget): it fits its planned
  /// steps into it (methods/step_budget.h), and the result says whether it kept to it.
  double time_budget_s = 0;
};

/// A run keeps to its time budget when its unlearning time is at most this share of it above:
/// the step after the estimate is noise; a phase that alone outlasts the budget is not.
constexpr double kBudgetTolerance = 0.1;
/// Loads the model and builds the method first (so bad options and an unreadable model fail
/// before the data are read), then the data, then runs the forget pipeline (forget.cpp).
nlohmann::json run_forget_job(const ForgetJob& job, const RunContext& context, Observer& observer);
/// The same on data already loaded (`job.selection.data` then only names it in the result):
/// the bench cells and sweep trials.
nlohmann::json run_forget_job(const ForgetJob& job, const DataBundle& bundle,
                              const RunContext& context, Observer& observer);

/// `unlearn eval`: metrics of a model on a split, beside an optional original and retrain.
struct EvalJob {
  std::string model;
  std::string original;  // optional; also ranks samples for outliers()
  std::string retrain;   // optional
  TorchScriptSpecFlags torchscript;
  DataSelection selection;
  bool use_cache = true;
  /// Also measure the model's relearn time (target: the original's Acc(D_f), when given).
  bool relearn = false;
  /// Also run the depth audits of every model given, and the depth gap (needs --retrain).
  bool audit = false;
};
nlohmann::json run_eval_job(const EvalJob& job, const RunContext& context, Observer& observer);

}  // namespace unlearn
