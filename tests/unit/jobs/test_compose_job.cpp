// `unlearn compose` as a job: the origin check, usage checks and safe output.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "expect_error.h"
#include "test_util.h"
#include "unlearn/core/sha256.h"
#include "unlearn/jobs/compose.h"
#include "unlearn/models/provenance.h"

namespace unlearn {
namespace {

using test::message_of;

std::string saved_model(const test::TempDir& dir, const std::string& name, uint64_t seed,
                        const nlohmann::json& provenance) {
  torch::manual_seed(seed);
  ModelSpec spec;
  spec.arch = "allcnn";
  spec.options = ArchOptions(3).in_channels(1).input_size(28).width(0.125);
  spec.input.size = 28;
  spec.provenance = provenance;
  const std::string path = dir.file(name);
  Model::create(spec).save(path);
  return path;
}

ComposeJob soup_job(const std::vector<std::string>& models, const std::string& out) {
  ComposeJob job;
  job.op = "soup";
  job.models = models;
  job.outputs.out = out;
  job.polish.recalibrate(false);  // no data needed
  return job;
}

TEST(ComposeJob, RunsOfOneOriginalComposeAndOthersAreRefused) {
  test::TempDir dir;
  const std::string original = saved_model(dir, "original.pt", 1, {{"command", "train"}});
  const std::string origin = sha256_file(original);
  EXPECT_EQ(model_origin(Model::load(original), original), origin);
  const std::string a =
      saved_model(dir, "a.pt", 2, {{"command", "forget"}, {"parent", original}});  // no origin
  const std::string b = saved_model(dir, "b.pt", 3, {{"command", "forget"}, {"origin", origin}});
  const std::string other =
      saved_model(dir, "other.pt", 4, {{"command", "forget"}, {"origin", "f00d"}});
  const std::string orphan = saved_model(dir, "orphan.pt", 5, {{"command", "forget"}});
  NullObserver quiet;

  // a.pt has no recorded origin but its parent file is there.
  auto result = run_compose_job(soup_job({a, b}, dir.file("ab.pt")), RunContext(), quiet);
  EXPECT_EQ(Model::load(dir.file("ab.pt")).spec().provenance["origin"], origin);
  EXPECT_EQ(result["method"]["options"]["operator"], "soup");

  std::string msg = message_of<InvalidArgument>([&] {
    run_compose_job(soup_job({a, other}, dir.file("x.pt")), RunContext(), quiet);
  });
  EXPECT_NE(msg.find("other.pt comes from original f00d"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--allow-mixed-origin"), std::string::npos) << msg;
  msg = message_of<InvalidArgument>([&] {
    run_compose_job(soup_job({a, orphan}, dir.file("x.pt")), RunContext(), quiet);
  });
  EXPECT_NE(msg.find("orphan.pt: cannot tell which original"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.pt")));

  ComposeJob mixed = soup_job({a, other}, dir.file("mixed.pt"));
  mixed.allow_mixed_origin = true;
  run_compose_job(mixed, RunContext(), quiet);
  EXPECT_TRUE(std::filesystem::exists(dir.file("mixed.pt")));
  EXPECT_FALSE(Model::load(dir.file("mixed.pt")).spec().provenance.contains("origin"));
}

TEST(ComposeJob, UsageErrorsNameTheOptionAndNothingIsOverwritten) {
  test::TempDir dir;
  const std::string a = saved_model(dir, "a.pt", 1, {{"command", "train"}});
  const std::string b = saved_model(dir, "b.pt", 2, {{"command", "forget"}, {"parent", a}});
  NullObserver quiet;
  auto usage = [&](ComposeJob job) {
    return message_of<UsageError>([&] { run_compose_job(job, RunContext(), quiet); });
  };
  ComposeJob job = soup_job({a, b}, dir.file("out.pt"));
  job.op = "blend";
  EXPECT_NE(usage(job).find("unknown operator 'blend'"), std::string::npos);
  job = soup_job({a, b}, dir.file("out.pt"));
  job.op = "task-vector";
  EXPECT_NE(usage(job).find("--base MODEL is required"), std::string::npos);
  job = soup_job({a}, dir.file("out.pt"));
  EXPECT_NE(usage(job).find("at least two models"), std::string::npos);
  job = soup_job({a, b}, dir.file("out.pt"));
  job.weights = {0.7, 0.7};
  EXPECT_NE(usage(job).find("must sum to 1"), std::string::npos);
  job = soup_job({a, b}, dir.file("out.pt"));
  job.polish.recalibrate(true);  // allcnn has batch norm: retain data are needed
  EXPECT_NE(usage(job).find("--forget is required"), std::string::npos);

  const std::string out = dir.file("out.pt");
  run_compose_job(soup_job({a, b}, out), RunContext(), quiet);
  const std::string before = sha256_file(out);
  ComposeJob again = soup_job({a, a}, out);
  const std::string msg = message_of<IoError>([&] { run_compose_job(again, RunContext(), quiet); });
  EXPECT_NE(msg.find("use --force"), std::string::npos) << msg;
  EXPECT_EQ(sha256_file(out), before);
  again.outputs.force = true;
  run_compose_job(again, RunContext(), quiet);
  EXPECT_NE(sha256_file(out), before);
}

}  // namespace
}  // namespace unlearn
