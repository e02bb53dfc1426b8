#pragma once
// Distance of an unlearned model to the retrained gold standard.

#include <map>
#include <string>

namespace unlearn {

/// Metric name -> value in percent, e.g. {"UA": 99.1, "RA": 93.0, ...}.
using MetricMap = std::map<std::string, double>;

/// Avg-gap: mean of |UA−UA_re|, |RA−RA_re|, |TA−TA_re| and |MIA_efficacy−MIA_efficacy_re|.
/// Throws InvalidArgument naming the first key missing from either map.
double avg_gap(const MetricMap& model, const MetricMap& retrain);

}  // namespace unlearn
