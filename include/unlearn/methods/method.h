#pragma once
// The interface every unlearning method implements, and the data it runs on.

#include <torch/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/models/model.h"

namespace unlearn {

/// The training data as a method sees it: every training row in the model's input format
/// (float in [0,1], see to_model_input), the labels, and the forget/retain row indices.
struct UnlearnData {
  torch::Tensor inputs;  // float, N×C×S×S, on the CPU
  torch::Tensor labels;  // int64, N
  torch::Tensor forget;  // int64 row indices (D_f)
  torch::Tensor retain;  // int64 row indices (D_r)
};

/// What a method returns: the unlearned model, a trace record per outer step, and a free-form
/// summary (e.g. PSG's relabel histogram).
struct MethodResult {
  Model model;
  std::vector<TraceRecord> trace;
  nlohmann::json summary = nlohmann::json::object();
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;
  /// Every option's effective value, as written into result files.
  virtual nlohmann::json options_json() const = 0;
  /// Unlearns D_f from `original`. Never mutates `original`: works on a deep copy.
  virtual MethodResult run(const Model& original, const UnlearnData& data,
                           const RunContext& context, Observer& observer) const = 0;
};

/// What every method with an Options struct shares: the options are validated on construction
/// and reported through `Derived::option_table`, the one list of flag names.
/// Example: class Finetune : public OptionsMethod<Finetune, FinetuneOptions> { ... };
template <class Derived, class OptionsT>
class OptionsMethod : public Method {
 public:
  using Options = OptionsT;
  explicit OptionsMethod(Options options) : options_(std::move(options)) { options_.validate(); }
  nlohmann::json options_json() const override {
    Options copy = options_;
    return Derived::option_table(copy).to_json();
  }
  const Options& options() const { return options_; }

 protected:
  Options options_;
};

}  // namespace unlearn
