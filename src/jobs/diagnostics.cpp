#include "diagnostics.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "unlearn/metrics/mia.h"
#include "unlearn/metrics/pca.h"
#include "unlearn/metrics/score_histogram.h"

namespace unlearn::internal {

namespace {

constexpr int64_t kMembershipBins = 20;
constexpr double kEmbeddingRowsPerSet = 300;  // per set: enough to see a cluster, small in the JSON

nlohmann::json membership_histograms(const ModelOutputs& outputs, const EvalData& data,
                                     const Split& split) {
  auto scores = [&](const torch::Tensor& logits, const torch::Tensor& labels,
                    const torch::Tensor& rows) {
    return score_histogram(
        true_class_probability(logits.index_select(0, rows), labels.index_select(0, rows)),
        kMembershipBins);
  };
  const auto all_test = torch::arange(outputs.test_logits.size(0), torch::kLong);
  return {{"forget", scores(outputs.train_logits, data.train_labels, split.train.forget)},
          {"retain", scores(outputs.train_logits, data.train_labels, split.train.retain)},
          {"test", scores(outputs.test_logits, data.test_labels, all_test)}};
}

nlohmann::json rounded_points(const torch::Tensor& xy) {
  nlohmann::json points = nlohmann::json::array();
  const auto a = xy.contiguous();
  const auto* p = a.data_ptr<double>();
  for (int64_t i = 0; i < a.size(0); ++i) {
    // Four significant digits are plenty for a scatter and keep the JSON small.
    points.push_back({std::round(p[2 * i] * 1e4) / 1e4, std::round(p[2 * i + 1] * 1e4) / 1e4});
  }
  return points;
}

}  // namespace

nlohmann::json diagnostics_entry(const std::map<std::string, Evaluated>& models,
                                 const EvalData& data, const Split& split, const Model& before,
                                 const Model* after, uint64_t seed) {
  nlohmann::json out;
  auto& membership = out["membership"];
  membership["score"] = "true-class probability";
  membership["bins"] = kMembershipBins;
  for (const auto& [role, evaluated] : models) {
    membership["roles"][role] = membership_histograms(evaluated.outputs, data, split);
  }
  if (after == nullptr) return out;
  const auto sample = [&](const torch::Tensor& rows, uint64_t salt) {
    const double share = std::min(1.0, kEmbeddingRowsPerSet / std::max<double>(1, rows.numel()));
    return subsample_rows(rows, share, seed ^ salt);
  };
  const auto forget_rows = sample(split.train.forget, 0x5eed1);
  const auto retain_rows = sample(split.train.retain, 0x5eed2);
  const auto all_rows = torch::cat({forget_rows, retain_rows});
  if (all_rows.numel() < 3) return out;
  const auto inputs = data.train_inputs.index_select(0, all_rows);
  const auto before_features = predict_features(before, inputs, 128);
  const auto after_features = predict_features(*after, inputs, 128);
  if (before_features.sizes() != after_features.sizes() || before_features.size(1) < 2) return out;
  const PcaFit fit = fit_pca(before_features, 2);
  const int64_t nf = forget_rows.numel();
  auto& embedding = out["embedding"];
  embedding["method"] = "pca";
  embedding["fitted_on"] = "before";
  embedding["explained"] = {fit.explained[0].item<double>(), fit.explained[1].item<double>()};
  for (const auto& [stage, feats] :
       {std::pair<const char*, const torch::Tensor*>{"before", &before_features},
        {"after", &after_features}}) {
    const auto xy = pca_project(fit, *feats);
    embedding["points"][stage] = {{"forget", rounded_points(xy.slice(0, 0, nf))},
                                  {"retain", rounded_points(xy.slice(0, nf))}};
  }
  return out;
}

}  // namespace unlearn::internal
