#include <gtest/gtest.h>

#include <string>

#include "unlearn/core/error.h"
#include "unlearn/metrics/gap.h"

namespace unlearn {
namespace {

TEST(AvgGap, ByHand) {
  const MetricMap model = {
      {"UA", 10.0}, {"RA", 95.0}, {"TA", 90.0}, {"MIA_efficacy", 20.0}, {"FTA", 0.0}};
  const MetricMap retrain = {
      {"UA", 12.0}, {"RA", 94.0}, {"TA", 91.5}, {"MIA_efficacy", 16.0}, {"FTA", 50.0}};
  // |10-12| + |95-94| + |90-91.5| + |20-16| = 2 + 1 + 1.5 + 4 = 8.5; 8.5 / 4 = 2.125.
  // FTA is not part of the gap.
  EXPECT_DOUBLE_EQ(avg_gap(model, retrain), 2.125);
  EXPECT_DOUBLE_EQ(avg_gap(retrain, model), 2.125);
  EXPECT_DOUBLE_EQ(avg_gap(model, model), 0.0);
}

TEST(AvgGap, MissingKeyIsNamed) {
  const MetricMap full = {{"UA", 1.0}, {"RA", 2.0}, {"TA", 3.0}, {"MIA_efficacy", 4.0}};
  MetricMap no_ra = full;
  no_ra.erase("RA");
  try {
    avg_gap(full, no_ra);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'RA'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("retrain"), std::string::npos) << msg;
  }
  MetricMap no_mia = full;
  no_mia.erase("MIA_efficacy");
  try {
    avg_gap(no_mia, full);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'MIA_efficacy'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace unlearn
