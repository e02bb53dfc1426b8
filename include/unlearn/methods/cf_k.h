#pragma once
// CF-k, catastrophic forgetting of the last k layers (Goel et al. 2022): the last k layers are
// fine-tuned on D_r from the original weights, the rest stays frozen. See docs/methods/cf-k.md.

#include <string>

#include "unlearn/methods/last_layers.h"

namespace unlearn {

/// Options of CF-k (shared with EU-k). Example: CfK m(CfKOptions().k(2).epochs(1));
using CfKOptions = LastLayersOptions;

class CfK : public OptionsMethod<CfK, CfKOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options) { return last_layers_option_table(options); }

  std::string name() const override { return "cf-k"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
