#include "unlearn/methods/eu_k.h"

#include <utility>

namespace unlearn {

EuK::EuK(Options options) : options_(std::move(options)) { options_.validate(); }

nlohmann::json EuK::options_json() const {
  Options copy = options_;
  return option_table(copy).to_json();
}

MethodResult EuK::run(const Model& original, const UnlearnData& data, const RunContext& context,
                      Observer& observer) const {
  return train_last_layers(name(), options_, /*reinitialise=*/true, original, data, context,
                           observer);
}

}  // namespace unlearn
