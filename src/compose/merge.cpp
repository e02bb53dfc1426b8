#include "unlearn/compose/merge.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "unlearn/core/error.h"

namespace unlearn {

namespace {

/// Every parameter and buffer of `model` by its name in the root module.
std::map<std::string, torch::Tensor> named_tensors(const Model& model) {
  std::map<std::string, torch::Tensor> all;
  for (const auto& item : model.named_parameters()) all.emplace(item.key(), item.value());
  for (const auto& item : model.named_buffers()) all.emplace(item.key(), item.value());
  return all;
}

std::string group_list(const Model& model) {
  std::string known;
  for (const auto& g : model.groups()) known += (known.empty() ? "" : ", ") + g.name;
  return known;
}

bool is_one_hot(const std::vector<double>& w, size_t* index) {
  size_t ones = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == 1.0) {
      ++ones;
      *index = i;
    } else if (w[i] != 0.0) {
      return false;
    }
  }
  return ones == 1;
}

}  // namespace

std::vector<std::string> group_tensors(const Model& model, const std::string& group) {
  const auto all = named_tensors(model);
  std::vector<std::string> names;
  for (const auto& g : model.groups()) {
    if (g.name != group) continue;
    std::map<const void*, std::string> by_impl;
    for (const auto& [name, t] : all) by_impl.emplace(t.unsafeGetTensorImpl(), name);
    auto add = [&](const torch::Tensor& t) {
      if (auto it = by_impl.find(t.unsafeGetTensorImpl()); it != by_impl.end()) {
        names.push_back(it->second);
      }
    };
    for (const auto& p : g.module->parameters()) add(p);
    for (const auto& b : g.module->buffers()) add(b);
    return names;
  }
  for (const auto& [name, t] : all) {
    if (name.compare(0, group.size(), group) == 0) names.push_back(name);
  }
  UNLEARN_CHECK_AS(UsageError, !group.empty() && !names.empty(), "group '", group,
                   "' is neither a module group of ", model.spec().arch, " (", group_list(model),
                   ") nor a prefix of its parameter names");
  return names;
}

void check_same_shapes(const std::vector<MergeSource>& sources) {
  UNLEARN_CHECK_AS(UsageError, !sources.empty(), "compose: no models to merge");
  const MergeSource& first = sources.front();
  const auto reference = named_tensors(*first.model);
  for (size_t i = 1; i < sources.size(); ++i) {
    const MergeSource& other = sources[i];
    UNLEARN_CHECK(other.model->spec().arch == first.model->spec().arch, other.name, " is a ",
                  other.model->spec().arch, " but ", first.name, " is a ",
                  first.model->spec().arch);
    const auto tensors = named_tensors(*other.model);
    for (const auto& [name, t] : reference) {
      auto it = tensors.find(name);
      UNLEARN_CHECK(it != tensors.end(), other.name, " has no parameter '", name, "' (", first.name,
                    " has)");
      UNLEARN_CHECK(it->second.sizes() == t.sizes(), "parameter '", name, "' is ", t.sizes(),
                    " in ", first.name, " but ", it->second.sizes(), " in ", other.name);
    }
    for (const auto& [name, t] : tensors) {
      UNLEARN_CHECK(reference.count(name) == 1, other.name, " has a parameter '", name, "' that ",
                    first.name, " lacks");
    }
  }
}

Model merge_weighted(const std::vector<MergeSource>& sources, const MergeWeights& weights) {
  check_same_shapes(sources);
  const size_t n = sources.size();
  const Model& first = *sources.front().model;
  std::map<std::string, std::vector<double>> tensor_weights;
  auto check_count = [&](const std::vector<double>& w, const std::string& what) {
    UNLEARN_CHECK_AS(UsageError, w.size() == n, what, ": ", w.size(), " weights for ", n,
                     " models");
    for (double x : w) UNLEARN_CHECK_AS(UsageError, std::isfinite(x), what, ": weight ", x);
  };
  check_count(weights.weights, "weights");
  const auto names = named_tensors(first);
  for (const auto& [name, t] : names) tensor_weights[name] = weights.weights;
  for (const auto& [group, w] : weights.per_group) {
    check_count(w, "group '" + group + "'");
    for (const auto& name : group_tensors(first, group)) tensor_weights[name] = w;
  }

  Model merged = first.clone();
  std::vector<std::map<std::string, torch::Tensor>> inputs;
  for (const auto& s : sources) inputs.push_back(named_tensors(*s.model));
  torch::NoGradGuard no_grad;
  for (const auto& [name, target] : named_tensors(merged)) {
    const auto& w = tensor_weights.at(name);
    size_t only = 0;
    if (is_one_hot(w, &only)) {
      target.copy_(inputs[only].at(name));
    } else if (!torch::isFloatingType(target.scalar_type())) {
      const size_t heaviest = static_cast<size_t>(std::max_element(w.begin(), w.end()) - w.begin());
      target.copy_(inputs[heaviest].at(name));
    } else {
      auto sum = torch::zeros(target.sizes(), target.options().dtype(torch::kFloat64));
      for (size_t i = 0; i < n; ++i) {
        if (w[i] != 0.0) sum.add_(inputs[i].at(name).to(torch::kFloat64), w[i]);
      }
      target.copy_(sum);
    }
  }
  return merged;
}

Model swap_groups(const std::vector<MergeSource>& sources,
                  const std::vector<std::pair<std::string, size_t>>& take) {
  MergeWeights w;
  w.weights.assign(sources.size(), 0.0);
  w.weights[0] = 1.0;
  for (const auto& [group, index] : take) {
    UNLEARN_CHECK_AS(UsageError, index < sources.size(), "--take ", group, "=", index + 1,
                     ": there are only ", sources.size(), " models");
    std::vector<double> one(sources.size(), 0.0);
    one[index] = 1.0;
    w.per_group.emplace_back(group, one);
  }
  return merge_weighted(sources, w);
}

Model interpolate(const MergeSource& a, const MergeSource& b, double alpha,
                  const std::vector<std::pair<std::string, double>>& per_group) {
  auto check_alpha = [](double x, const std::string& where) {
    UNLEARN_CHECK_AS(UsageError, x >= 0.0 && x <= 1.0, "--alpha ", where,
                     ": expected a value in [0, 1], got ", x);
  };
  check_alpha(alpha, "");
  MergeWeights w;
  w.weights = {1.0 - alpha, alpha};
  for (const auto& [group, x] : per_group) {
    check_alpha(x, group);
    w.per_group.emplace_back(group, std::vector<double>{1.0 - x, x});
  }
  return merge_weighted({a, b}, w);
}

void check_sum_to_one(const std::vector<double>& weights, const std::string& flag) {
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  UNLEARN_CHECK_AS(UsageError, std::abs(sum - 1.0) <= 1e-6, flag,
                   ": the weights must sum to 1, they sum to ", sum);
}

Model soup(const std::vector<MergeSource>& sources, std::vector<double> weights) {
  if (weights.empty()) weights.assign(sources.size(), 1.0 / static_cast<double>(sources.size()));
  UNLEARN_CHECK_AS(UsageError, weights.size() == sources.size(), "--weights: ", weights.size(),
                   " weights for ", sources.size(), " models");
  check_sum_to_one(weights, "--weights");
  return merge_weighted(sources, {weights, {}});
}

Model task_vector(const MergeSource& base, const std::vector<MergeSource>& runs,
                  std::vector<double> scales) {
  UNLEARN_CHECK_AS(UsageError, !runs.empty(), "task-vector: give at least one run beside --base");
  if (scales.empty()) scales.assign(runs.size(), 1.0);
  UNLEARN_CHECK_AS(UsageError, scales.size() == runs.size(), "--scale: ", scales.size(),
                   " scales for ", runs.size(), " runs");
  std::vector<MergeSource> sources{base};
  sources.insert(sources.end(), runs.begin(), runs.end());
  MergeWeights w;
  w.weights.push_back(1.0 - std::accumulate(scales.begin(), scales.end(), 0.0));
  w.weights.insert(w.weights.end(), scales.begin(), scales.end());
  return merge_weighted(sources, w);
}

}  // namespace unlearn
