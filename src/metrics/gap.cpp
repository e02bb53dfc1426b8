#include "unlearn/metrics/gap.h"

#include <array>
#include <cmath>

#include "unlearn/core/error.h"

namespace unlearn {

namespace {
// The four metrics of the SalUn protocol; FTA/RTA and the rest are reported but not ranked.
constexpr std::array<const char*, 4> kGapKeys = {"UA", "RA", "TA", "MIA_efficacy"};
}  // namespace

double avg_gap(const MetricMap& model, const MetricMap& retrain) {
  double sum = 0.0;
  for (const char* key : kGapKeys) {
    const auto m = model.find(key);
    UNLEARN_CHECK(m != model.end(), "avg_gap: metric '", key, "' missing from the model's metrics");
    const auto r = retrain.find(key);
    UNLEARN_CHECK(r != retrain.end(), "avg_gap: metric '", key,
                  "' missing from the retrain metrics");
    sum += std::abs(m->second - r->second);
  }
  return sum / static_cast<double>(kGapKeys.size());
}

std::optional<double> avg_gap_if_defined(const MetricMap& model, const MetricMap& retrain) {
  for (const char* key : kGapKeys) {
    if (!model.count(key) || !retrain.count(key)) return std::nullopt;
  }
  return avg_gap(model, retrain);
}

}  // namespace unlearn
