#include "unlearn/methods/cf_k.h"

#include <utility>

namespace unlearn {

CfK::CfK(Options options) : options_(std::move(options)) { options_.validate(); }

nlohmann::json CfK::options_json() const {
  Options copy = options_;
  return option_table(copy).to_json();
}

MethodResult CfK::run(const Model& original, const UnlearnData& data, const RunContext& context,
                      Observer& observer) const {
  return train_last_layers(name(), options_, /*reinitialise=*/false, original, data, context,
                           observer);
}

}  // namespace unlearn
