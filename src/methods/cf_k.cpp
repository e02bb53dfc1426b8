#include "unlearn/methods/cf_k.h"

#include <utility>

namespace unlearn {

MethodResult CfK::run(const Model& original, const UnlearnData& data, const RunContext& context,
                      Observer& observer) const {
  return train_last_layers(name(), options_, /*reinitialise=*/false, original, data, context,
                           observer);
}

}  // namespace unlearn
