// PSG's run, in its phases: each outer step draws the batches, searches the reference model's
// boundary (the lower level), takes one optimiser step (the upper level) and keeps the books
// (running accuracy, relabel counts, trace, FLOPs, phase times). Options are in psg_options.cpp.

#include "unlearn/methods/psg.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <optional>
#include <sstream>

#include "unlearn/core/data_parallel.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/step_budget.h"
#include "unlearn/methods/update_loop.h"
#include "unlearn/models/flops.h"
#include "unlearn/train/batches.h"
#include "unlearn/train/batchnorm.h"

namespace unlearn {

namespace F = torch::nn::functional;

namespace {

/// Largest per-sample search-gradient cache PSG keeps (see SearchGradientCache).
constexpr int64_t kGradientCacheBytes = int64_t{256} << 20;

// Wall time of the loop by phase, for docs/performance.md: a lap ends one phase and starts
// the next.
class PhaseClock {
 public:
  void lap(double& phase_seconds) {
    const auto now = std::chrono::steady_clock::now();
    phase_seconds += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// Seconds spent in each phase of the PSG loop.
struct LoopPhases {
  double batches = 0;      // drawing the batches and gathering their rows
  double search = 0;       // the boundary search (cached gradients) and the targets
  double update = 0;       // forwards, losses, backward, gradient averaging, optimiser step
  double bookkeeping = 0;  // running accuracy, relabel counts, trace and progress
};

/// Running forget accuracy over the last `capacity` samples seen by the outer update.
class RunningForgetAccuracy {
 public:
  explicit RunningForgetAccuracy(int64_t capacity) : capacity_(capacity) {}
  void add(int64_t correct, int64_t count) {
    window_.push_back({correct, count});
    correct_ += correct;
    count_ += count;
    while (count_ - window_.front().second >= capacity_) {
      correct_ -= window_.front().first;
      count_ -= window_.front().second;
      window_.pop_front();
    }
  }
  bool full() const { return count_ >= capacity_; }
  double percent() const { return count_ ? 100.0 * correct_ / count_ : 100.0; }

 private:
  int64_t capacity_;
  int64_t correct_ = 0, count_ = 0;
  std::deque<std::pair<int64_t, int64_t>> window_;
};

/// With the frozen original as reference and one search step, the search gradient of a forget
/// sample is the same in every pass: it is computed the first time the sample is drawn and
/// reused in later passes. The cache holds one input-sized gradient per forget row, so it is
/// used for modest sizes only (24 MB for 6 000 Fashion-MNIST images at 32x32).
class SearchGradientCache {
 public:
  static bool applies(const PsgOptions& o, const UnlearnData& data) {
    const int64_t rows = data.forget.numel();
    return o.reference() == BoundaryReference::original && o.inner_steps() == 1 &&
           !o.authors_exact() && rows * data.inputs[0].numel() * 4 <= kGradientCacheBytes;
  }

  SearchGradientCache(const UnlearnData& data, torch::Device device) : device_(device) {
    const int64_t rows = data.forget.numel();
    auto shape = data.inputs.sizes().vec();
    shape[0] = rows;
    gradients_ = torch::empty(shape, data.inputs.options().device(device));
    known_ = torch::zeros({rows}, torch::kBool);
    position_ = torch::full({data.inputs.size(0)}, -1, torch::kInt64);
    position_.index_put_({data.forget}, torch::arange(rows, torch::kInt64));
  }

  /// The search gradients of the batch (x, y drawn at rows `idx`) under `reduction`, computing
  /// the missing ones with `reference`; `computed` is set to how many were computed.
  torch::Tensor gradients(const LogitsFn& reference, const torch::Tensor& idx,
                          const torch::Tensor& x, const torch::Tensor& y,
                          GradientReduction reduction, int64_t& computed) {
    const auto pos = position_.index_select(0, idx);
    const auto missing = torch::nonzero(known_.index_select(0, pos).logical_not()).flatten();
    if (missing.numel() > 0) {
      const auto missing_device = missing.to(device_);
      const auto g = input_gradient(reference, x.index_select(0, missing_device),
                                    y.index_select(0, missing_device), GradientReduction::sum);
      const auto missing_pos = pos.index_select(0, missing);
      gradients_.index_put_({missing_pos.to(device_)}, g);
      known_.index_put_({missing_pos}, true);
    }
    computed = missing.numel();
    auto out = gradients_.index_select(0, pos.to(device_));
    if (reduction == GradientReduction::mean) out = out / static_cast<double>(x.size(0));
    return out;
  }

 private:
  torch::Device device_;
  torch::Tensor gradients_;  // one per forget row, in forget-row order
  torch::Tensor known_;      // bool per forget row: computed yet
  torch::Tensor position_;   // training row -> forget-row position (-1: not a forget row)
};

/// Targets for the forget term from the reference logits at the boundary points.
torch::Tensor boundary_targets(const PsgOptions& o, const torch::Tensor& logits_star) {
  if (o.label_mode() == LabelMode::hard) return logits_star.argmax(1);
  const int64_t k = o.top_k() > 0 ? std::min(o.top_k(), logits_star.size(1)) : 0;
  // Raw logits: the authors pass them as class-probability targets; top-k keeps the k largest
  // and divides by their sum. Soft: the softmax at the temperature.
  const auto scores = o.label_mode() == LabelMode::raw_logits
                          ? logits_star
                          : torch::softmax(logits_star / o.temperature(), 1);
  if (k == 0) return scores;
  auto top = scores.topk(k, 1);
  auto kept = torch::zeros_like(scores).scatter(1, std::get<1>(top), std::get<0>(top));
  return kept / kept.sum(1, true);
}

/// The rows of one outer step: a forget batch and, with a retain term, a retain batch.
struct StepBatches {
  torch::Tensor rows;  // the forget batch's training rows
  torch::Tensor x, y;
  torch::Tensor xr, yr;  // undefined without a retain term
};

/// What the lower level found for the forget batch.
struct SearchOutcome {
  BoundarySearchResult found;
  torch::Tensor targets;
  int64_t searched_rows = 0;  // rows whose search gradient this step computed
};

/// What the upper level's step did.
struct UpdateOutcome {
  torch::Tensor forget_logits;
  double forget_loss = 0, retain_loss = 0, loss = 0, grad_norm = 0;
};

/// One PSG run on one model: the state the outer steps share, and the phases of a step.
class PsgRun {
 public:
  PsgRun(const PsgOptions& o, std::string name, const Model& original, const UnlearnData& data,
         const RunContext& context);
  int64_t total_steps() const { return total_; }
  /// Outer step `step` (0-based); returns false when the stopping rule ends the loop after it.
  bool step(int64_t step, Observer& observer, std::vector<TraceRecord>& trace);
  /// The time budget dropped steps (the summary's stop_reason says so).
  void cut_by_budget() { stop_reason_ = "fitted into the time budget"; }
  /// Recalibrates if asked, and returns the model with its summary.
  MethodResult finish(std::vector<TraceRecord> trace, double loop_seconds);

 private:
  StepBatches draw_batches();
  SearchOutcome search(const StepBatches& batches, double lambda_t);
  UpdateOutcome update(const StepBatches& batches, const SearchOutcome& searched, int64_t step);
  torch::Tensor retain_loss(const torch::Tensor& logits_r, const StepBatches& batches) const;
  TraceRecord keep_books(int64_t step, double lambda_t, const StepBatches& batches,
                         const SearchOutcome& searched, const UpdateOutcome& updated);
  void count_flops(const StepBatches& batches, int64_t searched_rows);
  nlohmann::json relabel_histogram();
  bool reached_target(double grad_norm) const;

  const PsgOptions& o_;
  std::string name_;
  const UnlearnData& data_;
  torch::Device device_;
  Precision precision_;
  DataParallelGroup* group_;
  Model model_;
  Model frozen_;  // the original: boundary reference and distillation teacher
  BoundarySearchOptions search_options_;
  uint64_t seed_;
  BatchStream forget_stream_;
  std::optional<BatchStream> retain_stream_;
  at::Generator noise_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  int64_t total_;
  torch::Tensor relabel_;  // k x k counts: true class -> class at the boundary point
  RunningForgetAccuracy running_;
  std::optional<ForwardCost> cost_;  // unknown for networks that are not a chain of layers
  double flops_ = 0;
  std::optional<SearchGradientCache> cache_;
  LoopPhases phases_;
  PhaseClock clock_;
  int64_t steps_run_ = 0;
  std::string stop_reason_ = "completed all passes";
};

PsgRun::PsgRun(const PsgOptions& o, std::string name, const Model& original,
               const UnlearnData& data, const RunContext& context)
    : o_(o),
      name_(std::move(name)),
      data_(data),
      device_(context.device()),
      precision_(context.precision()),
      group_(context.group()),
      model_(working_copy(original, context)),
      frozen_(frozen_copy(original, device_)),
      search_options_(o.search_options(original.spec().input.mean, original.spec().input.std)),
      seed_(static_cast<uint64_t>(o.seed()) ^ context.seed()),
      forget_stream_(data.forget, o.batch(), seed_, true, false, shard_of(group_)),
      noise_(at::detail::createCPUGenerator(seed_ + 2)),
      total_(o.passes() * forget_stream_.batches_per_pass()),
      relabel_(torch::zeros({original.num_classes(), original.num_classes()}, torch::kInt64)),
      running_(std::max<int64_t>(256, o.batch())),
      cost_(chain_forward_cost(original)) {
  if (o.retain_weight() > 0) {
    retain_stream_.emplace(data.retain, o.retain_batch(), seed_ + 1, true, false, shard_of(group_));
  }
  params_ = model_.parameters();
  optimizer_ = make_optimizer(o.optimizer(), params_, o.lr(), o.momentum(), o.weight_decay());
  if (SearchGradientCache::applies(o, data)) cache_.emplace(data, device_);
  clock_ = PhaseClock();  // the loop's phases start now, after the set-up
}

bool PsgRun::step(int64_t step, Observer& observer, std::vector<TraceRecord>& trace) {
  const double lambda_t = scheduled_lambda(o_, step + 1, total_);
  const StepBatches batches = draw_batches();
  clock_.lap(phases_.batches);
  const SearchOutcome searched = search(batches, lambda_t);
  clock_.lap(phases_.search);
  const UpdateOutcome updated = update(batches, searched, step);
  clock_.lap(phases_.update);
  ++steps_run_;
  count_flops(batches, searched.searched_rows);
  TraceRecord record = keep_books(step, lambda_t, batches, searched, updated);
  observer.trace(record);
  trace.push_back(std::move(record));
  std::ostringstream note;
  note << "forget acc " << static_cast<int>(running_.percent()) << "% loss " << updated.loss;
  observer.progress(step + 1, note.str());
  clock_.lap(phases_.bookkeeping);
  if (reached_target(updated.grad_norm)) {
    stop_reason_ = "running forget accuracy reached the target";
    return false;
  }
  return true;
}

StepBatches PsgRun::draw_batches() {
  StepBatches b;
  b.rows = forget_stream_.next();
  b.x = data_.inputs.index_select(0, b.rows).to(device_);
  b.y = data_.labels.index_select(0, b.rows).to(device_);
  if (retain_stream_) {
    const auto rows = retain_stream_->next();
    b.xr = data_.inputs.index_select(0, rows).to(device_);
    b.yr = data_.labels.index_select(0, rows).to(device_);
  }
  return b;
}

// Lower level: the boundary points of the reference model, and the forget term's targets.
SearchOutcome PsgRun::search(const StepBatches& b, double lambda_t) {
  SearchOutcome out;
  out.searched_rows = b.x.size(0);
  if (o_.reference() == BoundaryReference::original) {
    const LogitsFn reference = [&](const torch::Tensor& t) {
      return frozen_.logits(t, precision_);
    };
    torch::Tensor known;
    if (cache_) {
      known =
          cache_->gradients(reference, b.rows, b.x, b.y, o_.search_reduction(), out.searched_rows);
    }
    out.found = boundary_search(reference, b.x, b.y, search_options_, lambda_t, noise_, known);
  } else {
    model_.train(false);
    out.found =
        boundary_search([&](const torch::Tensor& t) { return model_.logits(t, precision_); }, b.x,
                        b.y, search_options_, lambda_t, noise_);
  }
  out.targets = boundary_targets(o_, out.found.logits_star);
  return out;
}

// Upper level: one optimiser step on the forget term (+ phi * retain term).
UpdateOutcome PsgRun::update(const StepBatches& b, const SearchOutcome& searched, int64_t step) {
  model_.train(true);
  if (o_.bn_mode() == BnMode::frozen) model_.set_batchnorm_training(false);
  model_.module().zero_grad(/*set_to_none=*/true);
  const bool use_retain = retain_stream_.has_value();
  torch::Tensor logits_f, logits_r;
  if (use_retain && o_.bn_mode() == BnMode::frozen) {
    // Without batch statistics the two batches are independent: one forward serves both.
    auto both = model_.logits(torch::cat({b.x, b.xr}), precision_);
    logits_f = both.slice(0, 0, b.x.size(0));
    logits_r = both.slice(0, b.x.size(0));
  } else {
    logits_f = model_.logits(b.x, precision_);
    if (use_retain) logits_r = model_.logits(b.xr, precision_);
  }
  const auto forget_loss = cross_entropy_to(logits_f, searched.targets);
  const auto retain = use_retain ? retain_loss(logits_r, b) : torch::zeros({}, logits_f.options());
  const auto loss = forget_loss + o_.retain_weight() * retain;
  UpdateOutcome out;
  out.loss = loss.item<double>();
  if (!std::isfinite(out.loss)) {
    throw Error(detail::concat(name_, ": loss became ", out.loss, " at outer step ", step + 1,
                               "; try a smaller --lr"));
  }
  loss.backward();
  // Data-parallel runs: each rank searched its own share of the forget batch; the outer
  // update is the average over the ranks.
  average_gradients(group_, params_);
  out.grad_norm = grad_norm(params_);
  optimizer_->step();
  out.forget_logits = logits_f.detach();
  out.forget_loss = forget_loss.item<double>();
  out.retain_loss = retain.item<double>();
  return out;
}

torch::Tensor PsgRun::retain_loss(const torch::Tensor& logits_r, const StepBatches& b) const {
  if (o_.retain_target() == RetainTarget::labels) return F::cross_entropy(logits_r, b.yr);
  torch::Tensor teacher;
  {
    torch::NoGradGuard no_grad;
    teacher = frozen_.logits(b.xr, precision_);
  }
  if (o_.retain_target() == RetainTarget::raw_logits) return cross_entropy_to(logits_r, teacher);
  const double t = o_.temperature();
  return F::kl_div(torch::log_softmax(logits_r / t, 1), torch::softmax(teacher / t, 1),
                   F::KLDivFuncOptions().reduction(torch::kBatchMean)) *
         (t * t);
}

void PsgRun::count_flops(const StepBatches& b, int64_t searched_rows) {
  if (!cost_) return;
  const int k_steps = static_cast<int>(o_.inner_steps());
  // Search: K forwards with input gradients (only for rows the cache lacks), then the
  // reference logits at x*; update: a forward and a backward to the weights (and the
  // teacher's forward on the retain batch).
  flops_ += pass_flops(*cost_, searched_rows, k_steps, k_steps, 0) +
            pass_flops(*cost_, b.x.size(0), 2, 0, 1);
  if (retain_stream_) {
    const bool teacher = o_.retain_target() != RetainTarget::labels;
    flops_ += pass_flops(*cost_, b.xr.size(0), teacher ? 2 : 1, 0, 1);
  }
}

TraceRecord PsgRun::keep_books(int64_t step, double lambda_t, const StepBatches& b,
                               const SearchOutcome& searched, const UpdateOutcome& updated) {
  const auto pred = updated.forget_logits.argmax(1);
  // Over every rank's share, so all ranks see the same running accuracy and stop together.
  const auto counts = sum_over_ranks(
      group_,
      {static_cast<double>(pred.eq(b.y).sum().item<int64_t>()), static_cast<double>(b.y.size(0))});
  const auto correct = static_cast<int64_t>(counts[0]);
  const auto seen = static_cast<int64_t>(counts[1]);
  running_.add(correct, seen);
  const auto hard = searched.found.logits_star.argmax(1).to(torch::kCPU);
  relabel_.index_put_({b.y.to(torch::kCPU), hard}, torch::ones_like(hard), /*accumulate=*/true);

  TraceRecord record;
  record.step = step + 1;
  record.values = {{"flip_rate", searched.found.flipped.to(torch::kFloat64).mean().item<double>()},
                   {"lower_objective", searched.found.objective},
                   {"forget_loss", updated.forget_loss},
                   {"retain_loss", updated.retain_loss},
                   {"total_loss", updated.loss},
                   {"grad_norm", updated.grad_norm},
                   {"lambda", lambda_t},
                   {"forget_batch_acc", 100.0 * correct / std::max<int64_t>(1, seen)},
                   {"running_forget_acc", running_.percent()}};
  return record;
}

bool PsgRun::reached_target(double grad_norm) const {
  return o_.target_forget_acc() >= 0 && running_.full() &&
         running_.percent() <= o_.target_forget_acc() &&
         (o_.grad_tol() < 0 || grad_norm <= o_.grad_tol());
}

nlohmann::json PsgRun::relabel_histogram() {
  if (group_) {
    std::vector<torch::Tensor> counts{relabel_};
    group_->all_reduce_sum(counts);
    relabel_ = counts[0];
  }
  nlohmann::json histogram = nlohmann::json::array();
  const int64_t k = relabel_.size(0);
  for (int64_t a = 0; a < k; ++a) {
    std::vector<int64_t> row(k);
    for (int64_t b = 0; b < k; ++b) row[b] = relabel_[a][b].item<int64_t>();
    histogram.push_back(row);
  }
  return histogram;
}

MethodResult PsgRun::finish(std::vector<TraceRecord> trace, double loop_seconds) {
  if (o_.bn_mode() == BnMode::recalibrate) {
    recalibrate_batchnorm(model_, data_.inputs, data_.retain, o_.recalibrate_samples(), 256,
                          seed_ + 3);
  }
  finish_model(model_);
  MethodResult result{std::move(model_), std::move(trace), {}};
  result.summary = {{"steps", steps_run_},
                    {"planned_steps", total_},
                    {"stop_reason", stop_reason_},
                    {"bn_mode", choice_name(o_.bn_mode())},
                    {"relabel_counts", relabel_histogram()},
                    {"gradient_cache", cache_.has_value()},
                    {"loop_seconds", loop_seconds},
                    {"steps_per_second", steps_run_ / std::max(loop_seconds, 1e-9)},
                    {"loop_seconds_by_phase",
                     {{"batches", phases_.batches},
                      {"search", phases_.search},
                      {"update", phases_.update},
                      {"bookkeeping", phases_.bookkeeping}}}};
  if (cost_) {
    result.summary["flops"] = flops_;
    result.summary["gflops_per_second"] = flops_ / 1e9 / std::max(loop_seconds, 1e-9);
  }
  return result;
}

}  // namespace

MethodResult Psg::run(const Model& original, const UnlearnData& data, const RunContext& context,
                      Observer& observer) const {
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(options_.retain_weight() == 0 || data.retain.numel() > 0, name_,
                ": --retain-weight > 0 needs retain samples");
  PsgRun run(options_, name_, original, data, context);
  std::vector<TraceRecord> trace;
  const auto loop_start = std::chrono::steady_clock::now();
  observer.begin(name_, run.total_steps());
  StepBudget budget(run.total_steps(), context.deadline());
  bool reached_target = false;
  while (const auto step = budget.next()) {
    if (!run.step(*step, observer, trace)) {
      reached_target = true;
      break;
    }
  }
  if (!reached_target && budget.cut()) run.cut_by_budget();
  const double loop_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - loop_start).count();
  observer.end();
  return run.finish(std::move(trace), loop_seconds);
}

}  // namespace unlearn
