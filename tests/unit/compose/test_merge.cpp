// The merge operators: exact identities, group addressing and every refusal.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "expect_error.h"
#include "test_util.h"
#include "unlearn/compose/merge.h"
#include "unlearn/compose/polish.h"
#include "unlearn/train/batchnorm.h"

namespace unlearn {
namespace {

using test::message_of;
using test::same_state;

Model tiny(const std::string& arch, uint64_t seed, double width = 0.125) {
  torch::manual_seed(seed);
  ModelSpec spec;
  spec.arch = arch;
  const int64_t size = arch == "allcnn" ? 28 : 8;  // AllCNN needs at least 28 pixels
  spec.options = ArchOptions(3).in_channels(1).input_size(size).width(width);
  spec.input.size = size;
  Model m = Model::create(spec);
  // Distinct batch-norm statistics, so buffers are checked as well as weights.
  torch::NoGradGuard g;
  for (const auto& b : m.named_buffers()) {
    if (torch::isFloatingType(b.value().scalar_type())) b.value().uniform_(0.5, 1.5);
  }
  return m;
}

bool group_equal(const Model& a, const Model& b, const std::string& group) {
  auto ta = a.named_parameters(), tb = b.named_parameters();
  auto ba = a.named_buffers(), bb = b.named_buffers();
  for (const auto& name : group_tensors(a, group)) {
    const auto* pa = ta.find(name);
    const torch::Tensor x = pa ? *pa : ba[name];
    const torch::Tensor y = pa ? tb[name] : bb[name];
    if (!torch::equal(x, y)) return false;
  }
  return true;
}

TEST(Merge, SoupOfIdenticalModelsIsThatModelBitForBit) {
  for (const std::string arch : {"allcnn", "resnet18"}) {
    Model a = tiny(arch, 1);
    Model b = a.clone(), c = a.clone();
    Model merged = soup({{&a, "a"}, {&b, "b"}, {&c, "c"}});
    EXPECT_TRUE(same_state(merged, a)) << arch;
    Model weighted = soup({{&a, "a"}, {&b, "b"}, {&c, "c"}}, {0.2, 0.3, 0.5});
    EXPECT_TRUE(same_state(weighted, a)) << arch;
  }
}

TEST(Merge, SwappingAGroupInAndBackRestoresTheFirstModel) {
  Model a = tiny("allcnn", 1), b = tiny("allcnn", 2);
  Model mixed = swap_groups({{&a, "a"}, {&b, "b"}}, {{"classifier", 1}});
  EXPECT_TRUE(group_equal(mixed, b, "classifier"));
  EXPECT_TRUE(group_equal(mixed, a, "features"));
  EXPECT_FALSE(same_state(mixed, a));
  Model back = swap_groups({{&mixed, "mixed"}, {&a, "a"}}, {{"classifier", 1}});
  EXPECT_TRUE(same_state(back, a));
}

TEST(Merge, ResNetGroupsSwapIndependently) {
  Model a = tiny("resnet18", 1), b = tiny("resnet18", 2);
  Model mixed = swap_groups({{&a, "a"}, {&b, "b"}}, {{"layer4", 1}, {"fc", 1}});
  for (const std::string g : {"stem", "layer1", "layer2", "layer3"}) {
    EXPECT_TRUE(group_equal(mixed, a, g)) << g;
  }
  EXPECT_TRUE(group_equal(mixed, b, "layer4"));
  EXPECT_TRUE(group_equal(mixed, b, "fc"));
}

TEST(Merge, InterpolateReturnsItsEndpointsAndTheMidpoint) {
  Model a = tiny("allcnn", 1), b = tiny("allcnn", 2);
  EXPECT_TRUE(same_state(interpolate({&a, "a"}, {&b, "b"}, 0.0), a));
  EXPECT_TRUE(same_state(interpolate({&a, "a"}, {&b, "b"}, 1.0), b));
  Model mid = interpolate({&a, "a"}, {&b, "b"}, 0.5);
  const auto w = "classifier.weight";
  auto expected = (a.named_parameters()[w] + b.named_parameters()[w]) / 2;
  EXPECT_TRUE(torch::allclose(mid.named_parameters()[w], expected, 1e-6, 1e-7));
  // Per group: the classifier from b, the features from a.
  Model per_group = interpolate({&a, "a"}, {&b, "b"}, 0.0, {{"classifier", 1.0}});
  EXPECT_TRUE(group_equal(per_group, a, "features"));
  EXPECT_TRUE(group_equal(per_group, b, "classifier"));
}

TEST(Merge, TaskVectorsAddTheirDifferencesToTheBase) {
  Model base = tiny("allcnn", 1), r1 = tiny("allcnn", 2), r2 = tiny("allcnn", 3);
  EXPECT_TRUE(same_state(task_vector({&base, "base"}, {{&r1, "r1"}}), r1));
  EXPECT_TRUE(same_state(task_vector({&base, "base"}, {{&r1, "r1"}}, {0.0}), base));
  Model both = task_vector({&base, "base"}, {{&r1, "r1"}, {&r2, "r2"}}, {0.5, 2.0});
  const auto w = "features.0.weight";
  auto t0 = base.named_parameters()[w];
  auto expected =
      t0 + 0.5 * (r1.named_parameters()[w] - t0) + 2.0 * (r2.named_parameters()[w] - t0);
  EXPECT_TRUE(torch::allclose(both.named_parameters()[w], expected, 1e-5, 1e-6));
}

TEST(Merge, GroupsAreModuleGroupsOrParameterPrefixes) {
  Model a = tiny("allcnn", 1);
  const auto features = group_tensors(a, "features");
  const auto classifier = group_tensors(a, "classifier");
  EXPECT_FALSE(features.empty());
  EXPECT_FALSE(classifier.empty());
  EXPECT_EQ(features.size() + classifier.size(),
            a.named_parameters().size() + a.named_buffers().size());
  const auto prefix = group_tensors(a, "features.0.");
  EXPECT_FALSE(prefix.empty());
  for (const auto& n : prefix) EXPECT_EQ(n.rfind("features.0.", 0), 0u) << n;
  const std::string msg = message_of<UsageError>([&] { group_tensors(a, "head"); });
  EXPECT_NE(msg.find("group 'head'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("features, classifier"), std::string::npos) << msg;
}

TEST(Merge, RefusesDifferentArchitecturesAndShapesNamingTheParameter) {
  Model a = tiny("allcnn", 1), narrow = tiny("allcnn", 1, 0.0625), other = tiny("small-cnn", 1);
  std::string msg = message_of<InvalidArgument>([&] { soup({{&a, "a.pt"}, {&other, "o.pt"}}); });
  EXPECT_NE(msg.find("o.pt is a small-cnn but a.pt is a allcnn"), std::string::npos) << msg;
  msg = message_of<InvalidArgument>([&] { soup({{&a, "a.pt"}, {&narrow, "n.pt"}}); });
  EXPECT_NE(msg.find("parameter 'classifier.weight' is [3, 24] in a.pt but [3, 12] in n.pt"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("n.pt"), std::string::npos) << msg;
}

TEST(Merge, RefusesWeightsThatDoNotSumToOne) {
  Model a = tiny("allcnn", 1), b = tiny("allcnn", 2);
  std::string msg = message_of<UsageError>([&] { soup({{&a, "a"}, {&b, "b"}}, {0.5, 0.6}); });
  EXPECT_NE(msg.find("must sum to 1, they sum to 1.1"), std::string::npos) << msg;
  msg = message_of<UsageError>([&] { soup({{&a, "a"}, {&b, "b"}}, {1.0}); });
  EXPECT_NE(msg.find("1 weights for 2 models"), std::string::npos) << msg;
  msg = message_of<UsageError>([&] { interpolate({&a, "a"}, {&b, "b"}, 1.5); });
  EXPECT_NE(msg.find("[0, 1]"), std::string::npos) << msg;
  msg = message_of<UsageError>([&] {
    interpolate({&a, "a"}, {&b, "b"}, 0.5, {{"classifier", -0.1}});
  });
  EXPECT_NE(msg.find("--alpha classifier"), std::string::npos) << msg;
  msg = message_of<UsageError>([&] { swap_groups({{&a, "a"}, {&b, "b"}}, {{"classifier", 2}}); });
  EXPECT_NE(msg.find("only 2 models"), std::string::npos) << msg;
}

TEST(Polish, RecalibratesOnRetainRowsAndFineTunesOnlyTheUnfrozenGroups) {
  Model a = tiny("allcnn", 1);
  auto x = torch::rand({96, 1, 28, 28});
  auto y = torch::randint(0, 3, {96}, torch::kInt64);
  UnlearnData data{x, y, torch::arange(0, 32, torch::kInt64), torch::arange(32, 96, torch::kInt64)};
  RunContext context;
  NullObserver quiet;

  Model by_hand = a.clone();
  recalibrate_batchnorm(by_hand, x, data.retain, 2048, 256, 0);
  Model polished = a.clone();
  polish_composite(polished, data, PolishOptions(), context, quiet);
  EXPECT_TRUE(same_state(polished, by_hand));

  Model tuned = a.clone();
  const auto trace = polish_composite(
      tuned, data, PolishOptions().finetune_epochs(1).freeze({"features"}), context, quiet);
  EXPECT_EQ(trace.size(), 1u);  // 64 retain rows, batch 64
  EXPECT_TRUE(group_equal(tuned, by_hand, "features"));
  EXPECT_FALSE(group_equal(tuned, by_hand, "classifier"));

  const std::string msg = message_of<UsageError>([&] {
    Model m = a.clone();
    polish_composite(m, data, PolishOptions().finetune_epochs(1).freeze({"features", "classifier"}),
                     context, quiet);
  });
  EXPECT_NE(msg.find("every parameter is frozen"), std::string::npos) << msg;
}

}  // namespace
}  // namespace unlearn
