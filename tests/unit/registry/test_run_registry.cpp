#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "unlearn/core/error.h"
#include "unlearn/registry/run_registry.h"

namespace unlearn {
namespace {

namespace fs = std::filesystem;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("unlearn-registry-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string db() const { return (dir_ / "sub" / "registry.sqlite").string(); }
  fs::path dir_;
};

RunRecord run(const std::string& command, const std::string& model,
              std::vector<std::string> parents, int64_t n_forget = 0) {
  RunRecord r;
  r.created = "2026-11-29T00:00:00Z";
  r.command = command;
  r.model_path = model + ".pt";
  r.model_sha256 = model;
  r.parent_sha256 = std::move(parents);
  r.data = "fashion-mnist";
  r.selection = n_forget ? "class == 0" : "";
  r.n_forget = n_forget;
  r.method = command == "forget" ? "psg" : "";
  r.metrics = {{"FTA", 1.5}};
  return r;
}

TEST_F(RegistryTest, StoresRunsWithTheirParentsAndCreatesItsFolder) {
  Registry registry(db());
  EXPECT_TRUE(fs::exists(db()));
  const int64_t a = registry.add(run("train", "v1", {}));
  const int64_t b = registry.add(run("compose", "mix", {"v1", "v2"}, 40));
  EXPECT_LT(a, b);
  const auto all = registry.runs();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].command, "train");
  EXPECT_TRUE(all[0].parent_sha256.empty());
  EXPECT_EQ(all[1].parent_sha256, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(all[1].n_forget, 40);
  EXPECT_EQ(all[1].selection, "class == 0");
  EXPECT_DOUBLE_EQ(all[1].metrics["FTA"].get<double>(), 1.5);
}

TEST_F(RegistryTest, LineageFollowsSequentialDeletionRequestsBackToTraining) {
  {
    Registry registry(db());
    registry.add(run("train", "v1", {}));
    registry.add(run("forget", "v2", {"v1"}, 10));
    registry.add(run("forget", "v3", {"v2"}, 20));
    registry.add(run("forget", "other", {"v1"}, 5));  // a sibling, not in v3's lineage
  }
  Registry reopened(db());  // the rows outlive the connection
  const auto chain = reopened.lineage("v3");
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].model_sha256, "v3");
  EXPECT_EQ(chain[0].n_forget, 20);
  EXPECT_EQ(chain[1].model_sha256, "v2");
  EXPECT_EQ(chain[2].command, "train");
  EXPECT_TRUE(reopened.lineage("unknown").empty());
}

TEST_F(RegistryTest, AFileThatIsNotARegistryIsAnIoErrorNamingIt) {
  fs::create_directories(dir_);
  const std::string path = (dir_ / "notes.txt").string();
  std::ofstream(path) << "this is not a database, just some text that is long enough\n";
  try {
    Registry registry(path);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST_F(RegistryTest, EightConcurrentWriterProcessesLoseNoRow) {
  { Registry create(db()); }
  constexpr int kWriters = 8, kRuns = 25;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 0;
      try {
        Registry registry(db());
        for (int i = 0; i < kRuns; ++i) {
          RunRecord r = run("forget", "w" + std::to_string(w) + "-" + std::to_string(i), {"v1"});
          r.details = {{"writer", w}, {"i", i}};
          registry.add(r);
        }
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const auto all = Registry(db()).runs();
  ASSERT_EQ(all.size(), static_cast<size_t>(kWriters * kRuns));
  std::set<std::pair<int, int>> seen;
  for (const auto& r : all) {
    seen.insert({r.details["writer"].get<int>(), r.details["i"].get<int>()});
    EXPECT_EQ(r.parent_sha256, std::vector<std::string>{"v1"});
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kWriters * kRuns));
}

}  // namespace
}  // namespace unlearn
