#include "unlearn/methods/psg.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <optional>
#include <sstream>

#include "unlearn/core/error.h"
#include "unlearn/methods/update_loop.h"
#include "unlearn/models/flops.h"
#include "unlearn/train/batches.h"
#include "unlearn/train/batchnorm.h"

namespace unlearn {

namespace F = torch::nn::functional;

void PsgOptions::validate() const {
  try {
    search_options({0.5}, {0.5}).validate();
  } catch (const UsageError&) {
    throw;
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());  // an option value from the user: a usage problem
  }
  auto one_of = [](const std::string& flag, const std::string& v,
                   std::initializer_list<const char*> choices) {
    std::string list;
    for (const char* c : choices) {
      if (v == c) return;
      list += (list.empty() ? "" : ", ") + std::string(c);
    }
    throw UsageError(detail::concat("--", flag, ": expected one of ", list, "; got '", v, "'"));
  };
  one_of("lambda-schedule", lambda_schedule(), {"constant", "inverse", "exponential", "linear"});
  one_of("reference", reference(), {"original", "current"});
  one_of("label-mode", label_mode(), {"hard", "soft", "raw-logits"});
  one_of("retain-target", retain_target(), {"labels", "distill", "raw-logits"});
  one_of("optimizer", optimizer(), {"sgd", "adam"});
  one_of("bn-mode", bn_mode(), {"train", "frozen", "recalibrate"});
  auto check = [](bool ok, const std::string& message) {
    if (!ok) throw UsageError(message);
  };
  check(lambda() >= 0, detail::concat("--lambda: expected >= 0, got ", lambda()));
  check(lambda_rate() >= 0, detail::concat("--lambda-rate: expected >= 0, got ", lambda_rate()));
  check(temperature() > 0, detail::concat("--temperature: expected > 0, got ", temperature()));
  check(top_k() >= 0, detail::concat("--top-k: expected >= 0 (0 = all), got ", top_k()));
  check(retain_weight() >= 0,
        detail::concat("--retain-weight: expected >= 0, got ", retain_weight()));
  check(lr() > 0, detail::concat("--lr: expected > 0, got ", lr()));
  check(momentum() >= 0 && momentum() < 1,
        detail::concat("--momentum: expected in [0,1), got ", momentum()));
  check(weight_decay() >= 0, detail::concat("--weight-decay: expected >= 0, got ", weight_decay()));
  check(passes() >= 1, detail::concat("--passes: expected >= 1, got ", passes()));
  check(batch() >= 1, detail::concat("--batch: expected >= 1, got ", batch()));
  check(retain_batch() >= 1, detail::concat("--retain-batch: expected >= 1, got ", retain_batch()));
  check(target_forget_acc() <= 100,
        detail::concat("--target-forget-acc: expected a percentage, got ", target_forget_acc()));
  check(recalibrate_samples() >= 1,
        detail::concat("--recalibrate-samples: expected >= 1, got ", recalibrate_samples()));
}

BoundarySearchOptions PsgOptions::search_options(const std::vector<double>& mean,
                                                 const std::vector<double>& std) const {
  return BoundarySearchOptions()
      .epsilon(epsilon())
      .inner_steps(inner_steps())
      .step_size(step_size())
      .norm(norm())
      .quantize(quantize())
      .gamma(gamma())
      .noise(noise())
      .stop(search_stop())
      .reduction(search_reduction())
      .authors_exact(authors_exact())
      .model_mean(mean)
      .model_std(std);
}

OptionTable psg_option_table(PsgOptions& o) {
  OptionTable t;
  t.add("epsilon", "radius of the search ball, raw pixel units", o.epsilon())
      .add("inner-steps", "K, sign-gradient steps of the boundary search", o.inner_steps())
      .add("step-size", "alpha, the search step; 0 means epsilon / K", o.step_size())
      .add("norm", "ball and projection of the search", o.norm(), {"linf", "l2"})
      .add("quantize", "snap boundary points to the 1/255 grid", o.quantize())
      .add("lambda", "proximal weight of the search", o.lambda())
      .add("lambda-schedule", "decay of lambda over outer steps", o.lambda_schedule(),
           {"constant", "inverse", "exponential", "linear"})
      .add("lambda-rate", "rate r of the exponential schedule", o.lambda_rate())
      .add("gamma", "scale of the search noise", o.gamma())
      .add("noise", "law of the search noise", o.noise(),
           {"normal", "laplace", "cauchy", "uniform"})
      .add("search-stop", "freeze a sample once it crosses the boundary, or take all K steps",
           o.search_stop(), {"crossing", "none"})
      .add("search-reduction", "search gradient of the per-sample or the batch-mean loss",
           o.search_reduction(), {"sum", "mean"})
      .add("reference", "whose boundary is searched", o.reference(), {"original", "current"})
      .add("label-mode", "boundary labels", o.label_mode(), {"hard", "soft", "raw-logits"})
      .add("temperature", "temperature of soft labels and of distillation", o.temperature())
      .add("top-k", "keep the k largest entries of soft / raw-logit labels; 0 keeps all", o.top_k())
      .add("retain-weight", "phi, the weight of the retain term", o.retain_weight())
      .add("retain-target", "target of the retain term", o.retain_target(),
           {"labels", "distill", "raw-logits"})
      .add("optimizer", "outer optimiser", o.optimizer(), {"sgd", "adam"})
      .add("lr", "outer learning rate", o.lr())
      .add("momentum", "SGD momentum", o.momentum())
      .add("weight-decay", "outer weight decay", o.weight_decay())
      .add("passes", "passes over the forget set", o.passes())
      .add("batch", "forget batch size", o.batch())
      .add("retain-batch", "retain batch size", o.retain_batch())
      .add("target-forget-acc",
           "stop once the running forget-set accuracy (percent) is at or below this; <0: off",
           o.target_forget_acc())
      .add("grad-tol", "with --target-forget-acc, also require the gradient norm below this",
           o.grad_tol())
      .add("bn-mode", "batch-norm statistics during and after the update", o.bn_mode(),
           {"train", "frozen", "recalibrate"})
      .add("recalibrate-samples", "retain samples used by --bn-mode recalibrate",
           o.recalibrate_samples())
      .add("authors-exact", "reproduce the authors' search arithmetic", o.authors_exact())
      .add("method-seed", "seed of batch order and search noise", o.seed());
  return t;
}

PsgOptions psg_preset(const std::string& name) {
  // authors: the right-hand column of method-psg.md's option table.
  PsgOptions o = PsgOptions()
                     .epsilon(0.1)
                     .inner_steps(1)
                     .step_size(0)
                     .norm("linf")
                     .quantize(true)
                     .lambda(0)
                     .lambda_schedule("constant")
                     .gamma(1e-4)
                     .noise("normal")
                     .search_stop("crossing")
                     .search_reduction("mean")
                     .reference("original")
                     .label_mode("hard")
                     .retain_weight(0)
                     .retain_target("labels")
                     .optimizer("sgd")
                     .lr(1e-5)
                     .momentum(0.9)
                     .weight_decay(0)
                     .passes(10)
                     .batch(64)
                     .retain_batch(64)
                     .target_forget_acc(-1)
                     .grad_tol(-1)
                     .bn_mode("train");
  if (name == "authors") return o;
  if (name == "authors-exact") return o.authors_exact(true);
  if (name == "thorough") {
    // Ours: one full pass with a strong retain term, then batch-norm statistics recomputed on
    // retain data, so the forgetting is in the weights rather than in drifted statistics.
    // About 5x the default's time (docs/results.md).
    return PsgOptions().retain_weight(1.0).passes(1).target_forget_acc(-1).bn_mode("recalibrate");
  }
  throw UsageError(
      detail::concat("--preset: expected authors, authors-exact or thorough, got '", name, "'"));
}

PsgOptions boundary_shrink_options() {
  return PsgOptions().inner_steps(1).step_size(0).gamma(0).lambda(0).retain_weight(0);
}

double scheduled_lambda(const PsgOptions& o, int64_t t, int64_t total) {
  const double lambda = o.lambda();
  const std::string& s = o.lambda_schedule();
  if (s == "inverse") return lambda / static_cast<double>(std::max<int64_t>(t, 1));
  if (s == "exponential") return lambda * std::exp(-o.lambda_rate() * static_cast<double>(t));
  if (s == "linear") return lambda * (1.0 - static_cast<double>(t) / std::max<int64_t>(total, 1));
  return lambda;
}

Psg::Psg(PsgOptions options, std::string name)
    : options_(std::move(options)), name_(std::move(name)) {
  options_.validate();
}

nlohmann::json Psg::options_json() const {
  PsgOptions copy = options_;
  return psg_option_table(copy).to_json();
}

namespace {

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

/// Largest per-sample search-gradient cache PSG keeps (see Psg::run).
constexpr int64_t kGradientCacheBytes = int64_t{256} << 20;

/// Targets for the forget term from the reference logits at the boundary points.
torch::Tensor boundary_targets(const PsgOptions& o, const torch::Tensor& logits_star) {
  if (o.label_mode() == "hard") return logits_star.argmax(1);
  const int64_t k = o.top_k() > 0 ? std::min(o.top_k(), logits_star.size(1)) : 0;
  if (o.label_mode() == "raw-logits") {
    // The authors pass raw logits as class-probability targets; top-k keeps the k largest
    // logits and divides by their sum.
    if (k == 0) return logits_star;
    auto top = logits_star.topk(k, 1);
    auto kept = torch::zeros_like(logits_star).scatter(1, std::get<1>(top), std::get<0>(top));
    return kept / kept.sum(1, true);
  }
  auto p = torch::softmax(logits_star / o.temperature(), 1);
  if (k == 0) return p;
  auto top = p.topk(k, 1);
  auto kept = torch::zeros_like(p).scatter(1, std::get<1>(top), std::get<0>(top));
  return kept / kept.sum(1, true);
}

/// Running forget accuracy over the last `capacity` samples seen by the outer update.
class RunningAccuracy {
 public:
  explicit RunningAccuracy(int64_t capacity) : capacity_(capacity) {}
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

}  // namespace

MethodResult Psg::run(const Model& original, const UnlearnData& data, const RunContext& context,
                      Observer& observer) const {
  const PsgOptions& o = options_;
  const torch::Device device = context.device();
  const Precision precision = context.precision();
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(o.retain_weight() == 0 || data.retain.numel() > 0, name_,
                ": --retain-weight > 0 needs retain samples");

  Model model = original.clone();
  model.to(device);
  broadcast_module(model.module());  // data-parallel runs start from rank 0's weights
  // The frozen original: boundary reference and distillation teacher. Its weights need no
  // gradients; the search differentiates with respect to the input only.
  Model frozen = original.clone();
  frozen.to(device);
  frozen.train(false);
  for (auto& p : frozen.parameters()) p.set_requires_grad(false);

  const auto search = o.search_options(original.spec().input.mean, original.spec().input.std);
  const uint64_t seed = static_cast<uint64_t>(o.seed()) ^ context.seed();
  BatchStream forget_stream(data.forget, o.batch(), seed, true, false, data_parallel_shard());
  const bool use_retain = o.retain_weight() > 0;
  std::unique_ptr<BatchStream> retain_stream;
  if (use_retain)
    retain_stream = std::make_unique<BatchStream>(data.retain, o.retain_batch(), seed + 1, true,
                                                  false, data_parallel_shard());
  auto noise_gen = at::detail::createCPUGenerator(seed + 2);

  auto params = model.parameters();
  auto optimizer = make_optimizer(o.optimizer(), params, o.lr(), o.momentum(), o.weight_decay());
  auto set_update_mode = [&] {
    model.train(true);
    if (o.bn_mode() == "frozen") model.set_batchnorm_training(false);
  };

  const int64_t total = o.passes() * forget_stream.batches_per_pass();
  const int64_t k = original.num_classes();
  auto relabel = torch::zeros({k, k}, torch::kInt64);
  RunningAccuracy running(std::max<int64_t>(256, o.batch()));
  MethodResult result{original, {}, {}};
  int64_t steps_run = 0;
  std::string stop_reason = "completed all passes";
  // Analytic FLOPs of the loop, for its achieved GFLOP/s (docs/performance.md); unknown for
  // networks that are not a plain chain of layers.
  std::optional<ForwardCost> cost;
  try {
    cost = forward_cost(original);
  } catch (const InvalidArgument&) {
  }
  const bool retain_teacher = use_retain && o.retain_target() != "labels";
  double flops = 0;

  const auto loop_start = std::chrono::steady_clock::now();
  LoopPhases phases;
  PhaseClock clock;
  const auto reference_logits = [&](const torch::Tensor& t) { return frozen.logits(t, precision); };
  // With the frozen original as reference and one search step, the search gradient of a
  // forget sample is the same in every pass: it is computed the first time the sample is drawn
  // and reused in later passes. The cache holds one input-sized gradient per forget row, so it
  // is used for modest sizes only (24 MB for 6 000 Fashion-MNIST images at 32x32).
  const int64_t nf = data.forget.numel();
  const bool cache_gradients = o.reference() == "original" && o.inner_steps() == 1 &&
                               !o.authors_exact() &&
                               nf * data.inputs[0].numel() * 4 <= kGradientCacheBytes;
  torch::Tensor cached_gradient, cached, cache_position;
  if (cache_gradients) {
    auto shape = data.inputs.sizes().vec();
    shape[0] = nf;
    cached_gradient = torch::empty(shape, data.inputs.options().device(device));
    cached = torch::zeros({nf}, torch::kBool);
    cache_position = torch::full({data.inputs.size(0)}, -1, torch::kInt64);
    cache_position.index_put_({data.forget}, torch::arange(nf, torch::kInt64));
  }
  // The search gradients of the batch (x, y drawn at rows `idx`) from the cache, computing the
  // missing ones; returns how many were computed.
  auto cached_search_gradient = [&](const torch::Tensor& idx, const torch::Tensor& x,
                                    const torch::Tensor& y, torch::Tensor& out) -> int64_t {
    const auto pos = cache_position.index_select(0, idx);
    const auto missing = torch::nonzero(cached.index_select(0, pos).logical_not()).flatten();
    if (missing.numel() > 0) {
      const auto missing_device = missing.to(device);
      const auto g = input_gradient(reference_logits, x.index_select(0, missing_device),
                                    y.index_select(0, missing_device), "sum");
      const auto missing_pos = pos.index_select(0, missing);
      cached_gradient.index_put_({missing_pos.to(device)}, g);
      cached.index_put_({missing_pos}, true);
    }
    out = cached_gradient.index_select(0, pos.to(device));
    if (o.search_reduction() == "mean") out = out / static_cast<double>(x.size(0));
    return missing.numel();
  };

  observer.begin(name_, total);
  for (int64_t step = 0; step < total; ++step) {
    const double lambda_t = scheduled_lambda(o, step + 1, total);
    auto idx = forget_stream.next();
    auto x = data.inputs.index_select(0, idx).to(device);
    auto y = data.labels.index_select(0, idx).to(device);
    torch::Tensor xr, yr;
    if (use_retain) {
      auto ridx = retain_stream->next();
      xr = data.inputs.index_select(0, ridx).to(device);
      yr = data.labels.index_select(0, ridx).to(device);
    }
    clock.lap(phases.batches);

    // Lower level: boundary points of the reference model.
    BoundarySearchResult found;
    int64_t searched_rows = x.size(0);  // rows whose search gradient this step computes
    if (o.reference() == "original") {
      torch::Tensor known;
      if (cache_gradients) searched_rows = cached_search_gradient(idx, x, y, known);
      found = boundary_search(reference_logits, x, y, search, lambda_t, noise_gen, known);
    } else {
      model.train(false);
      found = boundary_search([&](const torch::Tensor& t) { return model.logits(t, precision); }, x,
                              y, search, lambda_t, noise_gen);
    }
    const auto targets = boundary_targets(o, found.logits_star);
    clock.lap(phases.search);

    // Upper level: one optimiser step on the forget term (+ phi * retain term).
    set_update_mode();
    model.module().zero_grad(/*set_to_none=*/true);
    torch::Tensor logits_f, logits_r;
    if (use_retain && o.bn_mode() == "frozen") {
      // Without batch statistics the two batches are independent: one forward serves both.
      auto both = model.logits(torch::cat({x, xr}), precision);
      logits_f = both.slice(0, 0, x.size(0));
      logits_r = both.slice(0, x.size(0));
    } else {
      logits_f = model.logits(x, precision);
      if (use_retain) logits_r = model.logits(xr, precision);
    }
    auto forget_loss = cross_entropy_to(logits_f, targets);
    torch::Tensor retain_loss = torch::zeros({}, logits_f.options());
    if (use_retain) {
      if (o.retain_target() == "labels") {
        retain_loss = F::cross_entropy(logits_r, yr);
      } else {
        torch::Tensor teacher;
        {
          torch::NoGradGuard no_grad;
          teacher = frozen.logits(xr, precision);
        }
        if (o.retain_target() == "raw-logits") {
          retain_loss = cross_entropy_to(logits_r, teacher);
        } else {
          const double t = o.temperature();
          retain_loss =
              F::kl_div(torch::log_softmax(logits_r / t, 1), torch::softmax(teacher / t, 1),
                        F::KLDivFuncOptions().reduction(torch::kBatchMean)) *
              (t * t);
        }
      }
    }
    auto loss = forget_loss + o.retain_weight() * retain_loss;
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      throw Error(detail::concat(name_, ": loss became ", loss_value, " at outer step ", step + 1,
                                 "; try a smaller --lr"));
    }
    loss.backward();
    // Data-parallel runs: each rank searched its own share of the forget batch; the outer
    // update is the average over the ranks.
    average_gradients(params);
    const double gnorm = grad_norm(params);
    optimizer->step();
    clock.lap(phases.update);
    ++steps_run;
    if (cost) {
      const int k_steps = static_cast<int>(o.inner_steps());
      // Search: K forwards with input gradients (only for rows the cache lacks), then the
      // reference logits at x*; update: a forward and a backward to the weights (and the
      // teacher's forward on the retain batch).
      flops += pass_flops(*cost, searched_rows, k_steps, k_steps, 0) +
               pass_flops(*cost, x.size(0), 2, 0, 1);
      if (use_retain) flops += pass_flops(*cost, xr.size(0), retain_teacher ? 2 : 1, 0, 1);
    }

    const auto pred = logits_f.detach().argmax(1);
    // Over every rank's share, so all ranks see the same running accuracy and stop together.
    const auto counts = sum_over_ranks(
        {static_cast<double>(pred.eq(y).sum().item<int64_t>()), static_cast<double>(y.size(0))});
    const auto correct = static_cast<int64_t>(counts[0]);
    const auto seen = static_cast<int64_t>(counts[1]);
    running.add(correct, seen);
    const auto hard = found.logits_star.argmax(1).to(torch::kCPU);
    relabel.index_put_({y.to(torch::kCPU), hard}, torch::ones_like(hard), /*accumulate=*/true);

    TraceRecord record;
    record.step = step + 1;
    record.values = {{"flip_rate", found.flipped.to(torch::kFloat64).mean().item<double>()},
                     {"lower_objective", found.objective},
                     {"forget_loss", forget_loss.item<double>()},
                     {"retain_loss", retain_loss.item<double>()},
                     {"total_loss", loss_value},
                     {"grad_norm", gnorm},
                     {"lambda", lambda_t},
                     {"forget_batch_acc", 100.0 * correct / std::max<int64_t>(1, seen)},
                     {"running_forget_acc", running.percent()}};
    observer.trace(record);
    result.trace.push_back(record);
    std::ostringstream note;
    note << "forget acc " << static_cast<int>(running.percent()) << "% loss " << loss_value;
    observer.progress(step + 1, note.str());
    clock.lap(phases.bookkeeping);

    if (o.target_forget_acc() >= 0 && running.full() &&
        running.percent() <= o.target_forget_acc() && (o.grad_tol() < 0 || gnorm <= o.grad_tol())) {
      stop_reason = "running forget accuracy reached the target";
      break;
    }
  }
  const double loop_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - loop_start).count();
  observer.end();

  if (o.bn_mode() == "recalibrate") {
    recalibrate_batchnorm(model, data.inputs, data.retain, o.recalibrate_samples(), 256, seed + 3);
  }
  model.train(false);
  for (auto& p : model.parameters()) p.set_requires_grad(true);

  if (auto* group = data_parallel_group()) {
    std::vector<torch::Tensor> counts{relabel};
    group->all_reduce_sum(counts);
    relabel = counts[0];
  }
  nlohmann::json histogram = nlohmann::json::array();
  for (int64_t a = 0; a < k; ++a) {
    std::vector<int64_t> row(k);
    for (int64_t b = 0; b < k; ++b) row[b] = relabel[a][b].item<int64_t>();
    histogram.push_back(row);
  }
  result.summary = {{"steps", steps_run},
                    {"planned_steps", total},
                    {"stop_reason", stop_reason},
                    {"bn_mode", o.bn_mode()},
                    {"relabel_counts", histogram},
                    {"gradient_cache", cache_gradients},
                    {"loop_seconds", loop_seconds},
                    {"steps_per_second", steps_run / std::max(loop_seconds, 1e-9)},
                    {"loop_seconds_by_phase",
                     {{"batches", phases.batches},
                      {"search", phases.search},
                      {"update", phases.update},
                      {"bookkeeping", phases.bookkeeping}}}};
  if (cost) {
    result.summary["flops"] = flops;
    result.summary["gflops_per_second"] = flops / 1e9 / std::max(loop_seconds, 1e-9);
  }
  result.model = std::move(model);
  return result;
}

}  // namespace unlearn
