#pragma once
// Distributed sweeps and benches: independent tasks (forget runs) handed out to the ranks
// through a queue on the c10d store, with the files each task writes carried back to rank 0,
// the only rank that writes into the output folder. Rank 0 decides which tasks still need
// running, so an interrupted sweep resumes as it does in one process.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "unlearn/core/observer.h"
#include "unlearn/dist/gloo_group.h"

namespace unlearn::dist {

/// Rank 0 puts the files `relative_paths` under `root` into the store under `name`; every
/// other rank waits for them (for as long as rank 0 is alive) and writes them under its own
/// `root`. Lets ranks on other hosts use the models rank 0 trained.
void share_files(GlooGroup& group, const std::string& name, const std::filesystem::path& root,
                 const std::vector<std::string>& relative_paths);

/// How share_tasks runs one queue.
struct TaskQueue {
  std::string name;  // unique per queue in a run, e.g. "sweep"
  size_t count = 0;  // tasks 0..count-1
  /// Rank 0 only: whether task i still has to run (false: its result is already there).
  std::function<bool(size_t)> needed;
  /// Runs task i, writing its files into `folder`.
  std::function<void(size_t, const std::filesystem::path& folder)> run;
  /// Rank 0's folder for task i, where its files end up; other ranks run in a scratch folder.
  std::function<std::filesystem::path(size_t)> folder;
  /// Progress label of task i.
  std::function<std::string(size_t)> label;
};

struct SharedTasks {
  std::vector<size_t> pending;  // the tasks that needed running, as rank 0 found them
  std::vector<size_t> mine;     // those this rank ran
};

/// Runs the queue on every rank: each draws the next pending task until none is left. On rank
/// 0 it returns once every task's files are in place; on the others once they find the queue
/// empty. Throws Error naming a rank that was lost.
SharedTasks share_tasks(GlooGroup& group, const TaskQueue& queue,
                        const std::filesystem::path& scratch, Observer& observer);

/// A fresh scratch folder for a rank other than 0 (under the system's temporary folder),
/// removed when the returned guard goes out of scope.
class ScratchFolder {
 public:
  explicit ScratchFolder(int rank);
  ~ScratchFolder();
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace unlearn::dist
