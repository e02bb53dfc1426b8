#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/cf_k.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;

TEST(CfK, ForgetsTheForgetClassAndNeverMutatesItsInput) {
  auto p = make_problem(11);
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result = CfK(CfKOptions().k(2).epochs(30).lr(0.5)).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_LT(forget_accuracy(result.model, p), 50.0);
  EXPECT_FALSE(result.trace.empty());
  EXPECT_EQ(obs.records.size(), result.trace.size());
}

TEST(CfK, FrozenLayersStayBitIdenticalAndTrainedOnesStartFromTheOriginal) {
  auto p = make_problem(12);
  NullObserver obs;
  auto frozen_before = p.model.module().named_parameters()["features.1.weight"].clone();
  auto result = CfK(CfKOptions().k(1).epochs(5).lr(0.1)).run(p.model, p.udata, RunContext(), obs);
  auto params = result.model.module().named_parameters();
  EXPECT_TRUE(torch::equal(params["features.1.weight"], frozen_before));
  EXPECT_TRUE(torch::equal(params["features.1.bias"],
                           p.model.module().named_parameters()["features.1.bias"]));
  EXPECT_FALSE(torch::equal(params["classifier.weight"],
                            p.model.module().named_parameters()["classifier.weight"]));
  // At a negligible learning rate the trained layer is still the original's (unlike EU-k).
  auto tiny =
      CfK(CfKOptions().k(1).epochs(0.01).lr(1e-12)).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(torch::allclose(tiny.model.module().named_parameters()["classifier.weight"],
                              p.model.module().named_parameters()["classifier.weight"]));
  EXPECT_EQ(result.summary["trained_layers"], nlohmann::json::array({"classifier"}));
}

TEST(CfK, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(13);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = CfK(CfKOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(CfK, AnEmptyRetainSetIsAnError) {
  auto p = make_problem(14);
  p.udata.retain = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  EXPECT_THROW(CfK(CfKOptions().k(1)).run(p.model, p.udata, RunContext(), obs), InvalidArgument);
}

TEST(CfK, BadOptionsAreUsageErrorsNamingTheFlag) {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"epochs", "0"}, {"lr", "-1"}, {"k", "x"}}) {
    try {
      make_method("cf-k", {{flag, value}});
      ADD_FAILURE() << flag << ": no error";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--" + flag), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace unlearn
