#include "unlearn/dist/work_queue.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"

namespace unlearn::dist {

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(detail::concat("cannot read ", path.string()));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Every file under `folder` (relative path -> bytes), in CBOR.
std::vector<uint8_t> pack_folder(const fs::path& folder, const std::vector<std::string>& only) {
  nlohmann::json files = nlohmann::json::object();
  if (only.empty()) {
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      if (!entry.is_regular_file()) continue;
      files[fs::relative(entry.path(), folder).generic_string()] =
          nlohmann::json::binary(read_bytes(entry.path()));
    }
  } else {
    for (const auto& relative : only) {
      if (fs::exists(folder / relative)) {
        files[relative] = nlohmann::json::binary(read_bytes(folder / relative));
      }
    }
  }
  return nlohmann::json::to_cbor(files);
}

/// Writes packed files under `folder`, each atomically; a path leaving the folder is refused.
void unpack_folder(const std::vector<uint8_t>& packed, const fs::path& folder) {
  const auto files = nlohmann::json::from_cbor(packed);
  for (const auto& [relative, content] : files.items()) {
    const fs::path path = (folder / relative).lexically_normal();
    const auto rel = fs::relative(path, folder).generic_string();
    UNLEARN_CHECK_AS(FormatError, rel.rfind("..", 0) != 0 && fs::path(relative).is_relative(),
                     "work queue: a task sent the path '", relative, "' outside its folder");
    fs::create_directories(path.parent_path());
    const auto& bytes = content.get_binary();
    write_atomically(path.string(), /*force=*/true, "--out", [&](const std::string& tmp) {
      std::ofstream out(tmp, std::ios::binary);
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
      if (!out) throw IoError(detail::concat("cannot write ", tmp));
    });
  }
}

}  // namespace

void share_files(GlooGroup& group, const std::string& name, const fs::path& root,
                 const std::vector<std::string>& relative_paths) {
  const std::string key = "unlearn/files/" + name;
  if (group.rank() == 0) {
    group.store().set(key, pack_folder(root, relative_paths));
  } else {
    unpack_folder(group.wait_for_key(key, 0), root);
  }
}

SharedTasks share_tasks(GlooGroup& group, const TaskQueue& queue, const fs::path& scratch,
                        Observer& observer) {
  const std::string prefix = "unlearn/queue/" + queue.name + "/";
  auto& store = group.store();
  // Rank 0 lists the pending tasks; the others wait for the list.
  std::vector<size_t> pending;
  if (group.rank() == 0) {
    for (size_t i = 0; i < queue.count; ++i) {
      if (queue.needed(i)) pending.push_back(i);
    }
    store.set(prefix + "pending", nlohmann::json::to_cbor(nlohmann::json(pending)));
  } else {
    pending = nlohmann::json::from_cbor(group.wait_for_key(prefix + "pending", 0))
                  .get<std::vector<size_t>>();
  }

  std::vector<size_t> mine;
  observer.begin(queue.name, static_cast<int64_t>(pending.size()));
  int64_t done = 0;
  while (true) {
    const int64_t slot = store.add(prefix + "next", 1) - 1;
    if (slot >= static_cast<int64_t>(pending.size())) break;
    const size_t task = pending[static_cast<size_t>(slot)];
    const std::string task_key = prefix + "task/" + std::to_string(task);
    group.set_text(task_key + "/rank", std::to_string(group.rank()));
    if (group.rank() == 0) {
      queue.run(task, queue.folder(task));
    } else {
      const fs::path folder = scratch / "tasks" / std::to_string(task);
      fs::remove_all(folder);
      fs::create_directories(folder);
      queue.run(task, folder);
      store.set(task_key + "/files", pack_folder(folder, {}));
      fs::remove_all(folder);
    }
    mine.push_back(task);
    observer.progress(
        ++done, queue.label(task) +
                    (group.rank() == 0 ? "" : " (rank " + std::to_string(group.rank()) + ")"));
  }

  // A rank that found the queue empty says so; rank 0 stays (and keeps the store up) until
  // every rank has.
  group.set_text(prefix + "drained/" + std::to_string(group.rank()), "1");
  if (group.rank() == 0) {
    // Collect what the other ranks ran, waiting on each task's runner while it is alive.
    for (size_t task : pending) {
      if (std::find(mine.begin(), mine.end(), task) != mine.end()) continue;
      const std::string task_key = prefix + "task/" + std::to_string(task);
      const auto claimed_by =
          std::chrono::steady_clock::now() + std::chrono::seconds(group.options().timeout_s);
      std::string runner_text;
      while ((runner_text = group.text_or_empty(task_key + "/rank")).empty()) {
        if (std::chrono::steady_clock::now() > claimed_by) {
          throw Error(detail::concat("rank 0: task ", queue.label(task), " of '", queue.name,
                                     "' was drawn but no rank reported running it"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      const int runner = std::stoi(runner_text);
      unpack_folder(group.wait_for_key(task_key + "/files", runner), queue.folder(task));
      observer.progress(++done, queue.label(task) + " (rank " + std::to_string(runner) + ")");
    }
    for (int r = 1; r < group.size(); ++r)
      group.wait_for_key(prefix + "drained/" + std::to_string(r), r);
  }
  observer.end();
  return {std::move(pending), std::move(mine)};
}

ScratchFolder::ScratchFolder(int rank) {
  std::string pattern =
      (fs::temp_directory_path() / ("unlearn-rank" + std::to_string(rank) + "-XXXXXX")).string();
  if (!mkdtemp(pattern.data())) {
    throw IoError(detail::concat("cannot create a scratch folder like ", pattern));
  }
  path_ = pattern;
}

ScratchFolder::~ScratchFolder() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace unlearn::dist
