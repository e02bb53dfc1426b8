#include "unlearn/metrics/gap.h"

#include <array>
#include <cmath>

#include "unlearn/core/error.h"

namespace unlearn {

double avg_gap(const MetricMap& model, const MetricMap& retrain) {
  // The four metrics of the SalUn protocol; FTA/RTA and the rest are reported but not ranked.
  static constexpr std::array<const char*, 4> kKeys = {"UA", "RA", "TA", "MIA_efficacy"};
  double sum = 0.0;
  for (const char* key : kKeys) {
    const auto m = model.find(key);
    UNLEARN_CHECK(m != model.end(), "avg_gap: metric '", key, "' missing from the model's metrics");
    const auto r = retrain.find(key);
    UNLEARN_CHECK(r != retrain.end(), "avg_gap: metric '", key,
                  "' missing from the retrain metrics");
    sum += std::abs(m->second - r->second);
  }
  return sum / static_cast<double>(kKeys.size());
}

}  // namespace unlearn
