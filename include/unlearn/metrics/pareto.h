#pragma once
// The Pareto front of a forgetting/retention trade-off (sweep trials, composite candidates).

#include <cstddef>
#include <vector>

namespace unlearn {

/// Indices of the Pareto-optimal points: lower `forget` and higher `keep` are better.
std::vector<size_t> pareto_front(const std::vector<double>& forget,
                                 const std::vector<double>& keep);

}  // namespace unlearn
