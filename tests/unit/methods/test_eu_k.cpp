#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/cf_k.h"
#include "unlearn/methods/eu_k.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

/// A small CNN with batch norm on the blobs, drawn as 2-channel 4×4 constant images: four
/// layers (conv+BN, conv+BN, linear, linear).
struct CnnProblem {
  Model model;
  UnlearnData udata;
};

CnnProblem cnn_problem(uint64_t seed) {
  auto data = test::blobs(3, 20, seed);
  torch::manual_seed(seed);
  ModelSpec spec;
  spec.arch = "small-cnn";
  spec.options = ArchOptions(3).in_channels(2).input_size(4).width(0.25);
  spec.input.channels = 2;
  spec.input.size = 4;
  spec.input.mean.assign(2, 0.0);
  spec.input.std.assign(2, 1.0);
  auto x = data.x.expand({-1, 2, 4, 4}).contiguous();
  return {Model::create(spec), UnlearnData{x, data.y, torch::nonzero(data.y.eq(0)).flatten(),
                                           torch::nonzero(data.y.ne(0)).flatten()}};
}

TEST(LastLayers, LayersAreConvOrLinearWithTheirBatchNormInForwardOrder) {
  auto p = cnn_problem(1);
  auto layers = network_layers(p.model);
  ASSERT_EQ(layers.size(), 4u);
  EXPECT_EQ(layers[0].name, "features.0");
  EXPECT_EQ(layers[0].modules, (std::vector<std::string>{"features.0", "features.1"}));
  EXPECT_EQ(layers[1].modules, (std::vector<std::string>{"features.4", "features.5"}));
  EXPECT_EQ(layers[2].modules, (std::vector<std::string>{"features.10"}));
  EXPECT_EQ(layers[3].modules, (std::vector<std::string>{"classifier"}));
  auto last = last_layers(p.model, 2);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].name, "features.10");
}

TEST(LastLayers, AllCnnHasNineLayersAndResNet18TwentyOne) {
  ModelSpec spec;
  spec.options = ArchOptions(10).width(0.1);
  spec.arch = "allcnn";
  EXPECT_EQ(network_layers(Model::create(spec)).size(), 9u);  // 8 conv+BN, 1 linear
  spec.arch = "resnet18";
  auto layers = network_layers(Model::create(spec));
  // stem, 4 + 5 + 5 + 5 block convolutions (three projection shortcuts), fc.
  ASSERT_EQ(layers.size(), 21u);
  EXPECT_EQ(layers.back().name, "fc");
  EXPECT_EQ(layers[19].modules, (std::vector<std::string>{"layer4.1.conv2", "layer4.1.bn2"}));
}

TEST(LastLayers, SeededModelDependsOnlyOnTheSeedAndLeavesTheGlobalGeneratorAlone) {
  auto spec = test::point_model(2, 3, 1, 0).spec();
  torch::manual_seed(7);
  auto expected = torch::rand({3});
  torch::manual_seed(7);
  auto a = seeded_model(spec, 5);
  auto drawn = torch::rand({3});
  EXPECT_TRUE(torch::equal(drawn, expected));
  EXPECT_TRUE(test::same_state(a, seeded_model(spec, 5)));
  EXPECT_FALSE(test::same_state(a, seeded_model(spec, 6)));
}

TEST(EuK, ForgetsTheForgetClassAndNeverMutatesItsInput) {
  auto p = make_problem(3);
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto opts = EuKOptions().k(1).epochs(20).lr(0.1);
  auto result = EuK(opts).run(p.model, p.udata, RunContext().seed(3), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_LT(forget_accuracy(result.model, p), 10.0);
  EXPECT_GT(retain_accuracy(result.model, p), 90.0);
  EXPECT_EQ(result.trace.size(), 40u);  // 80 retain rows in batches of 64, 20 epochs
  EXPECT_EQ(obs.records.size(), result.trace.size());
}

TEST(EuK, FrozenLayersAndTheirBatchNormStatisticsStayBitIdentical) {
  auto p = cnn_problem(2);
  NullObserver obs;
  auto result =
      EuK(EuKOptions().k(2).epochs(3).lr(0.1).batch(8)).run(p.model, p.udata, RunContext(), obs);
  auto before = p.model.module().named_modules();
  auto after = result.model.module().named_modules();
  for (const char* frozen : {"features.0", "features.1", "features.4", "features.5"}) {
    for (auto& item : before[frozen]->named_parameters())
      EXPECT_TRUE(torch::equal(item.value(), after[frozen]->named_parameters()[item.key()]))
          << frozen << "." << item.key();
    for (auto& item : before[frozen]->named_buffers())
      EXPECT_TRUE(torch::equal(item.value(), after[frozen]->named_buffers()[item.key()]))
          << frozen << "." << item.key();
  }
  for (const char* trained : {"features.10", "classifier"}) {
    EXPECT_FALSE(torch::equal(before[trained]->named_parameters()["weight"],
                              after[trained]->named_parameters()["weight"]))
        << trained;
  }
}

TEST(EuK, TrainedLayersStartFromTheSeededFreshModel) {
  auto p = make_problem(4);
  NullObserver obs;
  // One step at a negligible learning rate shows the starting point of the trained layer.
  auto opts = EuKOptions().k(1).epochs(0.01).lr(1e-12);
  opts.method_seed(9);
  auto result = EuK(opts).run(p.model, p.udata, RunContext().seed(2), obs);
  auto fresh = seeded_model(p.model.spec(), 9 ^ 2);
  auto got = result.model.module().named_parameters()["classifier.weight"];
  EXPECT_TRUE(torch::allclose(got, fresh.module().named_parameters()["classifier.weight"]));
  EXPECT_FALSE(torch::allclose(got, p.model.module().named_parameters()["classifier.weight"]));
  // Layers below k keep the original weights.
  EXPECT_TRUE(torch::equal(result.model.module().named_parameters()["features.1.weight"],
                           p.model.module().named_parameters()["features.1.weight"]));
}

TEST(EuK, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(5);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = EuK(EuKOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(EuK, BadOptionsAreUsageErrorsNamingTheFlag) {
  try {
    make_method("eu-k", {{"k", "0"}});
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--k"), std::string::npos) << e.what();
  }
  // More layers than the model has: found at run time, still a usage error naming --k.
  auto p = make_problem(6);
  NullObserver obs;
  try {
    EuK(EuKOptions().k(3)).run(p.model, p.udata, RunContext(), obs);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--k"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace unlearn
