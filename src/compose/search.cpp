#include "unlearn/compose/search.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "unlearn/core/error.h"
#include "unlearn/methods/update_loop.h"  // require_option
#include "unlearn/metrics/accuracy.h"
#include "unlearn/metrics/pareto.h"
#include "unlearn/train/batchnorm.h"

namespace unlearn {

namespace {

constexpr int64_t kEvalBatch = 128;

std::vector<std::string> searched_groups(const Model& model, const CompositeSearchOptions& o) {
  std::vector<std::string> groups = o.groups();
  if (groups.empty()) {
    for (const auto& g : model.groups()) groups.push_back(g.name);
  }
  for (const auto& g : groups) group_tensors(model, g);  // an unknown group fails here
  return groups;
}

/// Every way to give each of `groups` one of `choices` weight vectors (mixed-radix count).
std::vector<MergeWeights> every_assignment(const std::vector<std::string>& groups,
                                           const std::vector<std::vector<double>>& choices,
                                           const std::vector<double>& base) {
  std::vector<MergeWeights> out;
  std::vector<size_t> digit(groups.size(), 0);
  while (true) {
    MergeWeights w;
    w.weights = base;
    for (size_t g = 0; g < groups.size(); ++g)
      w.per_group.emplace_back(groups[g], choices[digit[g]]);
    out.push_back(std::move(w));
    size_t g = 0;
    while (g < groups.size() && ++digit[g] == choices.size()) digit[g++] = 0;
    if (g == groups.size()) return out;
  }
}

/// Candidate count for `choices` per group, or max+1 when it exceeds `max`.
int64_t count_or_more(size_t choices, size_t groups, int64_t max) {
  int64_t total = 1;
  for (size_t g = 0; g < groups; ++g) {
    total *= static_cast<int64_t>(choices);
    if (total > max) return max + 1;
  }
  return total;
}

nlohmann::json weights_json(const MergeWeights& w) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [group, weights] : w.per_group) j[group] = weights;
  if (j.empty()) j["all"] = w.weights;
  return j;
}

double value_or_nan(const MetricMap& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? std::nan("") : it->second;
}

/// The two accuracies the suppress goal reads, from one pass over only the rows they need: a
/// full evaluation (MIA attacks on every row) costs several times more per candidate.
MetricMap suppress_metrics(const Model& model, const EvalData& data, const Split& split) {
  auto accuracy = [&](const torch::Tensor& inputs, const torch::Tensor& labels,
                      const torch::Tensor& rows) {
    if (rows.numel() == 0) return std::nan("");
    // Batches of 128, as the evaluator uses: larger ones are slower per image on the CPU.
    return accuracy_percent(predict_logits(model, inputs.index_select(0, rows), kEvalBatch),
                            labels.index_select(0, rows));
  };
  if (split.has_test_part) {
    return {{"FTA", accuracy(data.test_inputs, data.test_labels, split.test.forget)},
            {"RTA", accuracy(data.test_inputs, data.test_labels, split.test.retain)}};
  }
  return {{"UA", 100.0 - accuracy(data.train_inputs, data.train_labels, split.train.forget)},
          {"RA", accuracy(data.train_inputs, data.train_labels, split.train.retain)}};
}

}  // namespace

void CompositeSearchOptions::validate() const {
  require_option(grid() >= 2, "grid", ">= 2", static_cast<double>(grid()));
  require_option(tolerance() >= 0, "tolerance", ">= 0", tolerance());
  require_option(max_gap() >= 0, "max-gap", ">= 0", max_gap());
  require_option(max_candidates() >= 1, "max-candidates", ">= 1",
                 static_cast<double>(max_candidates()));
  require_option(mia_samples() >= 1, "mia-samples", ">= 1", static_cast<double>(mia_samples()));
  require_option(recalibrate_samples() >= 1, "recalibrate-samples", ">= 1",
                 static_cast<double>(recalibrate_samples()));
}

std::vector<MergeWeights> composite_candidates(const Model& model, size_t sources,
                                               const CompositeSearchOptions& o) {
  o.validate();
  UNLEARN_CHECK_AS(UsageError, sources >= 2, "compose --search: give at least two models");
  const auto groups = searched_groups(model, o);
  std::vector<double> base(sources, 0.0);
  base[0] = 1.0;  // tensors outside the searched groups come from the first model
  std::vector<std::vector<double>> one_hot;
  for (size_t i = 0; i < sources; ++i) {
    std::vector<double> w(sources, 0.0);
    w[i] = 1.0;
    one_hot.push_back(w);
  }
  if (sources > 2) {
    const int64_t n = count_or_more(sources, groups.size(), o.max_candidates());
    UNLEARN_CHECK_AS(UsageError, n <= o.max_candidates(), "compose --search: ", sources,
                     " models over ", groups.size(), " groups make more than ", o.max_candidates(),
                     " candidates; name fewer --groups or raise --max-candidates");
    return every_assignment(groups, one_hot, base);
  }
  std::vector<std::vector<double>> mixes;
  for (int64_t k = 0; k < o.grid(); ++k) {
    const double alpha = static_cast<double>(k) / static_cast<double>(o.grid() - 1);
    mixes.push_back({1.0 - alpha, alpha});
  }
  const int64_t n = count_or_more(mixes.size(), groups.size(), o.max_candidates());
  if (n <= o.max_candidates()) return every_assignment(groups, mixes, base);
  // Too many groups for the full grid: one weight shared by every group, plus whole-group swaps.
  std::vector<MergeWeights> out;
  for (const auto& m : mixes) {
    MergeWeights w;
    w.weights = base;
    for (const auto& g : groups) w.per_group.emplace_back(g, m);
    out.push_back(std::move(w));
  }
  if (count_or_more(2, groups.size(), o.max_candidates()) + static_cast<int64_t>(out.size()) <=
      o.max_candidates()) {
    for (auto& w : every_assignment(groups, one_hot, base)) out.push_back(std::move(w));
  }
  return out;
}

std::pair<EvalData, Split> subsample_train(const EvalData& data, const Split& split,
                                           int64_t max_rows, uint64_t seed) {
  const int64_t nf = split.train.forget.numel(), nr = split.train.retain.numel();
  Split small = split;
  small.expression.clear();
  if (nf + nr <= max_rows) return {data, small};
  auto generator = at::detail::createCPUGenerator(seed);
  auto pick = [&](const torch::Tensor& rows, int64_t k) {
    auto order = torch::randperm(rows.numel(), generator, torch::kInt64).slice(0, 0, k);
    return std::get<0>(rows.index_select(0, order).sort());
  };
  int64_t kf = std::llround(static_cast<double>(max_rows) * static_cast<double>(nf) /
                            static_cast<double>(nf + nr));
  kf = std::clamp<int64_t>(kf, std::min<int64_t>(nf, 1), nf);
  const int64_t kr = std::clamp<int64_t>(max_rows - kf, std::min<int64_t>(nr, 1), nr);
  const auto rows = torch::cat({pick(split.train.forget, kf), pick(split.train.retain, kr)});
  EvalData out;
  out.train_inputs = data.train_inputs.index_select(0, rows);
  out.train_labels = data.train_labels.index_select(0, rows);
  out.test_inputs = data.test_inputs;
  out.test_labels = data.test_labels;
  out.class_names = data.class_names;
  small.train.forget = torch::arange(kf, torch::kInt64);
  small.train.retain = torch::arange(kf, kf + kr, torch::kInt64);
  return {std::move(out), std::move(small)};
}

namespace {

/// How the search judges a candidate under its goal: the metrics it reads, the forget and keep
/// sides, and how far a candidate is from meeting the constraint.
class CandidateJudge {
 public:
  CandidateJudge(const EvalData& data, const Split& split, const Model* retrain,
                 const CompositeSearchOptions& o, const RunContext& context)
      : data_(data),
        split_(split),
        o_(o),
        held_out_(split.has_test_part),
        // Without a held-out part, the forget side is Acc(D_f) = 100 - UA (as in `unlearn sweep`).
        forget_key_(held_out_ ? "FTA" : "Acc(D_f)"),
        keep_key_(held_out_ ? "RTA" : "RA"),
        eval_options_(EvalOptions().seed(context.seed()).mia_max_samples(o.mia_samples())) {
    if (retrain != nullptr) target_ = metrics_of(*retrain);
    bound_ = o.max_forget_acc();
    if (o.goal() == CompositeGoal::suppress && bound_ < 0) {
      UNLEARN_CHECK_AS(UsageError, retrain != nullptr,
                       "compose --search: the suppress goal needs --max-forget-acc or --retrain");
      bound_ = forget_side(target_) + o.tolerance();
    }
    UNLEARN_CHECK_AS(UsageError, o.goal() != CompositeGoal::match_retrain || retrain != nullptr,
                     "compose --search: the match-retrain goal needs --retrain");
  }

  MetricMap metrics_of(const Model& m) const {
    return o_.goal() == CompositeGoal::suppress
               ? suppress_metrics(m, data_, split_)
               : evaluate(compute_outputs(m, data_, kEvalBatch), data_, split_, eval_options_)
                     .metrics;
  }
  double forget_side(const MetricMap& m) const {
    return held_out_ ? value_or_nan(m, "FTA") : 100.0 - value_or_nan(m, "UA");
  }
  double keep_side(const MetricMap& m) const { return value_or_nan(m, keep_key_); }
  /// How far `m` is from the constraint (<= 0: met; infinite when it cannot be told).
  double violation(const MetricMap& m) const {
    double v = 0;
    if (o_.goal() == CompositeGoal::suppress) {
      v = forget_side(m) - bound_;
    } else {
      v = std::max(
              std::abs(value_or_nan(m, "UA") - value_or_nan(target_, "UA")),
              std::abs(value_or_nan(m, "MIA_efficacy") - value_or_nan(target_, "MIA_efficacy"))) -
          o_.max_gap();
    }
    return std::isnan(v) ? INFINITY : v;
  }
  nlohmann::json constraint() const {
    if (o_.goal() == CompositeGoal::suppress) return {{forget_key_ + "_max", bound_}};
    return {{"max_gap", o_.max_gap()},
            {"UA_retrain", value_or_nan(target_, "UA")},
            {"MIA_retrain", value_or_nan(target_, "MIA_efficacy")}};
  }
  const std::string& forget_key() const { return forget_key_; }
  const std::string& keep_key() const { return keep_key_; }
  const MetricMap& target() const { return target_; }

 private:
  const EvalData& data_;
  const Split& split_;
  const CompositeSearchOptions& o_;
  bool held_out_;
  std::string forget_key_, keep_key_;
  EvalOptions eval_options_;
  MetricMap target_;
  double bound_ = -1;
};

/// Feasible candidates: the one that keeps most. None feasible: the smallest violation.
size_t choose_candidate(const std::vector<double>& keep, const std::vector<double>& violation,
                        bool& met) {
  size_t best = 0;
  met = false;
  for (size_t i = 0; i < keep.size(); ++i) {
    const bool ok = violation[i] <= 0;
    if (ok && (!met || keep[i] > keep[best])) {
      best = i;
      met = true;
    } else if (!met && !ok && violation[i] < violation[best]) {
      best = i;
    }
  }
  return best;
}

}  // namespace

CompositeSearch search_composites(const std::vector<MergeSource>& sources, const EvalData& data,
                                  const Split& split, const Model* retrain,
                                  const CompositeSearchOptions& o, const RunContext& context,
                                  Observer& observer) {
  o.validate();
  check_same_shapes(sources);
  const auto candidates = composite_candidates(*sources.front().model, sources.size(), o);
  const CandidateJudge judge(data, split, retrain, o, context);

  std::vector<double> forget, keep, violation;
  nlohmann::json rows = nlohmann::json::array();
  observer.begin("compose search", static_cast<int64_t>(candidates.size()));
  for (size_t i = 0; i < candidates.size(); ++i) {
    Model merged = merge_weighted(sources, candidates[i]);
    merged.to(context.device());
    if (o.recalibrate() && has_batchnorm(merged) && split.train.retain.numel() > 0) {
      recalibrate_batchnorm(merged, data.train_inputs, split.train.retain, o.recalibrate_samples(),
                            256, o.seed());
    }
    const MetricMap m = judge.metrics_of(merged);
    forget.push_back(judge.forget_side(m));
    keep.push_back(judge.keep_side(m));
    violation.push_back(judge.violation(m));
    rows.push_back({{"candidate", i},
                    {"weights", weights_json(candidates[i])},
                    {"forget_side", forget.back()},
                    {"keep_side", keep.back()},
                    {"metrics", m},
                    {"feasible", violation.back() <= 0}});
    observer.progress(static_cast<int64_t>(i + 1),
                      detail::concat(judge.forget_key(), " ", forget.back(), " ", judge.keep_key(),
                                     " ", keep.back()));
  }
  observer.end();

  bool met = false;
  const size_t best = choose_candidate(keep, violation, met);
  const auto front = pareto_front(forget, keep);
  for (size_t i : front) rows[i]["pareto"] = true;
  CompositeSearch result;
  result.chosen = candidates[best];
  result.summary = {{"goal", choice_name(o.goal())},
                    {"forget_side", judge.forget_key()},
                    {"keep_side", judge.keep_key()},
                    {"constraint", judge.constraint()},
                    {"met", met},
                    {"chosen", best},
                    {"candidates", rows},
                    {"pareto_front", front}};
  if (retrain != nullptr) result.summary["retrain_metrics"] = judge.target();
  return result;
}

}  // namespace unlearn
