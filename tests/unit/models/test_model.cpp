#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/models/model.h"
#include "unlearn/models/sync_batch_norm.h"

namespace unlearn {
namespace {

ModelSpec spec_of(const std::string& arch, int64_t channels, int64_t size, double width) {
  ModelSpec s;
  s.arch = arch;
  s.options = ArchOptions(10).in_channels(channels).width(width).input_size(size);
  s.input.channels = channels;
  s.input.size = size;
  s.input.mean.assign(channels, 0.5);
  s.input.std.assign(channels, 0.5);
  return s;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct ArchCase {
  std::string arch;
  int64_t channels, size;
};

class ArchitectureTest : public ::testing::TestWithParam<ArchCase> {};

TEST_P(ArchitectureTest, LogitsAndFeaturesHaveTheRightShapeAndGroupsCoverEveryParameter) {
  const auto c = GetParam();
  Model m = Model::create(spec_of(c.arch, c.channels, c.size, 0.25));
  m.train(false);
  auto x = torch::rand({3, c.channels, c.size, c.size});
  EXPECT_EQ(m.logits(x).sizes(), (std::vector<int64_t>{3, 10}));
  auto f = m.embed(x);
  EXPECT_EQ(f.size(0), 3);
  EXPECT_TRUE(torch::allclose(m.head(f), m.logits(x)));
  int64_t grouped = 0;
  for (const auto& g : m.groups()) {
    for (const auto& p : g.module->parameters()) grouped += p.numel();
  }
  int64_t total = 0;
  for (const auto& p : m.parameters()) total += p.numel();
  EXPECT_EQ(grouped, total);
}

INSTANTIATE_TEST_SUITE_P(All, ArchitectureTest,
                         ::testing::Values(ArchCase{"allcnn", 1, 28}, ArchCase{"allcnn", 3, 32},
                                           ArchCase{"resnet18", 3, 32}, ArchCase{"resnet18", 1, 28},
                                           ArchCase{"small-cnn", 1, 28},
                                           ArchCase{"small-cnn", 1, 8}, ArchCase{"mlp", 1, 8}));

TEST(Model, AllCnnHasEightConvolutionsWithBatchNormAndNamedGroups) {
  Model m = Model::create(spec_of("allcnn", 1, 28, 1.0));
  int convs = 0, bns = 0;
  for (const auto& mod : m.module().modules()) {
    if (dynamic_cast<torch::nn::Conv2dImpl*>(mod.get())) ++convs;
    if (dynamic_cast<SyncBatchNorm2dImpl*>(mod.get())) ++bns;
  }
  EXPECT_EQ(convs, 8);
  EXPECT_EQ(bns, 8);
  auto groups = m.groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "features");
  EXPECT_EQ(groups[1].name, "classifier");
  // Full width: 96 and 192 channels; the classifier reads 192 features.
  EXPECT_EQ(m.group_parameters("classifier")[0].size(1), 192);
  Model quarter = Model::create(spec_of("allcnn", 1, 28, 0.25));
  EXPECT_EQ(quarter.group_parameters("classifier")[0].size(1), 48);
}

TEST(Model, AllCnnRefusesInputsSmallerThan28) {
  EXPECT_THROW(Model::create(spec_of("allcnn", 1, 16, 1.0)), InvalidArgument);
}

TEST(Model, ResNetGroupsAreNamedByStage) {
  Model m = Model::create(spec_of("resnet18", 3, 32, 0.125));
  std::vector<std::string> names;
  for (const auto& g : m.groups()) names.push_back(g.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"stem", "layer1", "layer2", "layer3", "layer4", "fc"}));
  EXPECT_THROW(m.group_parameters("head"), InvalidArgument);
}

TEST(Model, UnknownArchitectureNamesTheValue) {
  try {
    Model::create(spec_of("vgg", 1, 28, 1.0));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'vgg'"), std::string::npos);
  }
}

TEST(Model, CloneIsDeep) {
  Model a = Model::create(spec_of("small-cnn", 1, 8, 0.5));
  Model b = a.clone();
  EXPECT_TRUE(test::same_state(a, b));
  {
    torch::NoGradGuard no_grad;
    b.parameters()[0].add_(1.0);
  }
  EXPECT_FALSE(test::same_state(a, b));
}

TEST(Model, NormalisationIsPartOfTheModel) {
  // Logistic regression on one pixel: with mean 0.5, std 0.25 the network sees (x-0.5)*4.
  auto spec = spec_of("mlp", 1, 1, 1.0);
  spec.options.hidden_layers(0).num_classes(2);
  spec.input.std = {0.25};
  Model m = Model::create(spec);
  {
    torch::NoGradGuard no_grad;
    auto params = m.named_parameters();
    params["classifier.weight"].copy_(torch::tensor({{1.0f}, {0.0f}}));
    params["classifier.bias"].zero_();
  }
  auto logits = m.logits(torch::full({1, 1, 1, 1}, 0.75));
  EXPECT_NEAR(logits[0][0].item<double>(), 1.0, 1e-6);  // (0.75 - 0.5) / 0.25
}

TEST(ModelFile, SaveLoadRoundTripKeepsSpecAndWeightsAndBytes) {
  test::TempDir dir;
  auto spec = spec_of("allcnn", 1, 28, 0.25);
  spec.class_names = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  spec.provenance = {{"command", "test"}};
  Model a = Model::create(spec);
  a.save(dir.file("a.pt"));
  Model b = Model::load(dir.file("a.pt"));
  EXPECT_TRUE(test::same_state(a, b));
  EXPECT_EQ(b.spec().arch, "allcnn");
  EXPECT_EQ(b.spec().class_names, spec.class_names);
  EXPECT_DOUBLE_EQ(b.spec().options.width(), 0.25);
  EXPECT_EQ(b.spec().provenance["command"], "test");
  b.save(dir.file("b.pt"));
  EXPECT_EQ(read_bytes(dir.file("a.pt")), read_bytes(dir.file("b.pt")));
}

TEST(ModelFile, NeverOverwritesWithoutForceAndLeavesNoTemporaryFile) {
  test::TempDir dir;
  Model a = Model::create(spec_of("mlp", 1, 8, 0.25));
  a.save(dir.file("m.pt"));
  const auto before = read_bytes(dir.file("m.pt"));
  Model b = Model::create(spec_of("mlp", 1, 8, 0.5));
  try {
    b.save(dir.file("m.pt"));
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos);
  }
  EXPECT_EQ(read_bytes(dir.file("m.pt")), before);
  b.save(dir.file("m.pt"), /*force=*/true);
  EXPECT_NE(read_bytes(dir.file("m.pt")), before);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(ModelFile, GarbageFileIsAFormatErrorNamingTheFile) {
  test::TempDir dir;
  std::ofstream(dir.file("junk.pt")) << "not a model";
  try {
    Model::load(dir.file("junk.pt"));
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.pt"), std::string::npos);
  }
  EXPECT_THROW(Model::load(dir.file("missing.pt")), IoError);
}

// Found by fuzzing: LibTorch allocated the 2 GB this 244-byte file claims for a member before
// its read failed (most of a minute under AddressSanitizer).
TEST(ModelFile, AMemberClaimingMoreThanTheFileHoldsIsRefusedByName) {
  const std::string path =
      std::string(UNLEARN_FUZZ_CORPUS) + "/model/timeout-member-claims-2-gb.pt";
  for (const std::string& spec : {path, "torchscript:" + path}) {
    try {
      Model::load(spec);
      FAIL() << spec;
    } catch (const FormatError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("claims 2147483650 bytes, more than the 244-byte file"), std::string::npos)
          << msg;
    }
  }
}

TEST(InputSpec, ConvertsChannelsAndSizeBatchWise) {
  auto u8 = torch::full({2, 1, 28, 28}, 255, torch::kUInt8);
  InputSpec spec;
  spec.channels = 3;
  spec.size = 32;
  spec.mean = {0.5, 0.5, 0.5};
  spec.std = {0.5, 0.5, 0.5};
  auto x = to_model_input(u8, spec);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_NEAR(x.max().item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(x.min().item<double>(), 1.0, 1e-6);
}

}  // namespace
}  // namespace unlearn
