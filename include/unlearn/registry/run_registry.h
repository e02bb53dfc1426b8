#pragma once
// The run registry: one SQLite file recording every train, forget and compose run with the
// SHA-256 of the model it wrote and of the models it started from, so the lineage of
// sequential deletion requests (v1 -> v2 -> v3) can be followed later (`unlearn history`).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

struct sqlite3;

namespace unlearn {

/// One run, as stored.
struct RunRecord {
  int64_t id = 0;       // assigned by Registry::add
  std::string created;  // UTC, ISO 8601
  std::string command;  // train | forget | compose
  std::string model_path;
  std::string model_sha256;
  /// The models the run started from, in order (none for train, one for forget).
  std::vector<std::string> parent_sha256;
  std::string data;
  std::string selection;  // forget expression, or train --exclude
  int64_t n_forget = 0;   // training rows selected
  std::string method;
  nlohmann::json metrics = nlohmann::json::object();
  nlohmann::json details = nlohmann::json::object();  // options, seeds, versions, ...
};

/// A connection to a registry file, created with its folder on first use. Safe for concurrent
/// writers in several processes: the file is in WAL mode, each write is one immediate
/// transaction, and a busy database is waited for (up to `busy_timeout_ms`) rather than
/// failed. Throws IoError naming the file when it cannot be opened or is not a registry.
class Registry {
 public:
  explicit Registry(const std::string& path, int busy_timeout_ms = 30000);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Stores `run` (its id is ignored) and returns the new id.
  int64_t add(const RunRecord& run);
  /// Every run, oldest first.
  std::vector<RunRecord> runs() const;
  /// The runs that made the model with this digest, newest first.
  std::vector<RunRecord> runs_making(const std::string& model_sha256) const;
  /// The model's lineage: the newest run that made it, then the newest run that made its first
  /// parent, and so on, back to a model the registry has no run for.
  std::vector<RunRecord> lineage(const std::string& model_sha256) const;
  const std::string& path() const { return path_; }

 private:
  void execute(const std::string& sql) const;
  std::vector<RunRecord> select(const std::string& where, const std::string& key) const;

  std::string path_;
  sqlite3* db_ = nullptr;
};

/// A lineage as a text table, newest first: run, time, command, method, selection, forgotten
/// rows, UA/RA/TA/FTA/RTA and Avg-gap where recorded, and the model file.
std::string format_lineage(const std::vector<RunRecord>& chain);

/// A run as JSON (the row's fields, parents included).
nlohmann::json run_json(const RunRecord& run);

}  // namespace unlearn
