#include "unlearn/methods/eu_k.h"

#include <utility>

namespace unlearn {

MethodResult EuK::run(const Model& original, const UnlearnData& data, const RunContext& context,
                      Observer& observer) const {
  return train_last_layers(name(), options_, /*reinitialise=*/true, original, data, context,
                           observer);
}

}  // namespace unlearn
