#include "unlearn/metrics/pareto.h"

#include <cmath>

namespace unlearn {

std::vector<size_t> pareto_front(const std::vector<double>& forget,
                                 const std::vector<double>& keep) {
  std::vector<size_t> front;
  for (size_t i = 0; i < forget.size(); ++i) {
    if (std::isnan(forget[i]) || std::isnan(keep[i])) continue;
    bool dominated = false;
    for (size_t j = 0; j < forget.size() && !dominated; ++j) {
      if (j == i || std::isnan(forget[j]) || std::isnan(keep[j])) continue;
      dominated = forget[j] <= forget[i] && keep[j] >= keep[i] &&
                  (forget[j] < forget[i] || keep[j] > keep[i]);
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

}  // namespace unlearn
