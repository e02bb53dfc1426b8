#pragma once
// Distance of an unlearned model to the retrained gold standard.

#include <map>
#include <optional>
#include <string>

namespace unlearn {

/// Metric name -> value in percent, e.g. {"UA": 99.1, "RA": 93.0, ...}.
using MetricMap = std::map<std::string, double>;

/// Avg-gap: mean of |UA−UA_re|, |RA−RA_re|, |TA−TA_re| and |MIA_efficacy−MIA_efficacy_re|.
/// Throws InvalidArgument naming the first key missing from either map.
double avg_gap(const MetricMap& model, const MetricMap& retrain);

/// avg_gap, or nullopt when a metric it reads is missing from either map (undefined, as UA is
/// for an empty forget set).
std::optional<double> avg_gap_if_defined(const MetricMap& model, const MetricMap& retrain);

}  // namespace unlearn
