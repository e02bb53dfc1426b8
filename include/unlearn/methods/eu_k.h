#pragma once
// EU-k, exact unlearning of the last k layers (Goel et al. 2022): the last k layers get fresh
// weights and are trained on D_r alone, the rest stays frozen. See docs/methods/eu-k.md.

#include <string>

#include "unlearn/methods/last_layers.h"

namespace unlearn {

/// Options of EU-k (shared with CF-k). Example: EuK m(EuKOptions().k(2).epochs(1));
using EuKOptions = LastLayersOptions;

class EuK : public OptionsMethod<EuK, EuKOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options) { return last_layers_option_table(options); }

  std::string name() const override { return "eu-k"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
