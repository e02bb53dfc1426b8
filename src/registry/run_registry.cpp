#include "unlearn/registry/run_registry.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"

namespace unlearn {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created TEXT NOT NULL,
  command TEXT NOT NULL,
  model_path TEXT NOT NULL,
  model_sha256 TEXT NOT NULL,
  data TEXT NOT NULL,
  selection TEXT NOT NULL,
  n_forget INTEGER NOT NULL,
  method TEXT NOT NULL,
  metrics TEXT NOT NULL,
  details TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parents(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  position INTEGER NOT NULL,
  parent_sha256 TEXT NOT NULL,
  PRIMARY KEY (run_id, position));
CREATE INDEX IF NOT EXISTS runs_by_model ON runs(model_sha256);
)sql";

/// A prepared statement, finalised on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& path) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& text) {
    if (sqlite3_bind_text(stmt_, index, text.c_str(), static_cast<int>(text.size()),
                          SQLITE_TRANSIENT) != SQLITE_OK)
      fail("bind");
    return *this;
  }
  Statement& bind(int index, int64_t value) {
    if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail("bind");
    return *this;
  }
  /// Advances; true while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  std::string text(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw IoError(detail::concat("registry ", path_, ": ", what, " failed: ", sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string path_;
};

nlohmann::json parse_json_column(const std::string& text) {
  return text.empty() ? nlohmann::json::object() : nlohmann::json::parse(text, nullptr, false);
}

}  // namespace

Registry::Registry(const std::string& path, int busy_timeout_ms) : path_(path) {
  UNLEARN_CHECK(!path.empty(), "registry: no file given and no default location ($HOME unset)");
  std::error_code ec;
  const fs::path folder = fs::path(path).parent_path();
  if (!folder.empty()) fs::create_directories(folder, ec);
  if (ec) {
    throw IoError(detail::concat("registry ", path, ": cannot create its folder: ", ec.message()));
  }
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw IoError(detail::concat("registry ", path, ": cannot open: ", message));
  }
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  try {
    // WAL lets readers and one writer work at once; the busy timeout covers the other writers.
    execute("PRAGMA journal_mode=WAL");
    execute("BEGIN IMMEDIATE");
    try {
      execute(kSchema);
      execute("COMMIT");
    } catch (...) {  // any failure: roll back, then rethrow
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  } catch (...) {  // any failure: close the handle, then rethrow
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Registry::~Registry() { sqlite3_close(db_); }

void Registry::execute(const std::string& sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw IoError(detail::concat("registry ", path_, ": ", text));
  }
}

int64_t Registry::add(const RunRecord& run) {
  // IMMEDIATE takes the write lock up front, so a busy database is waited for here rather than
  // failing at the first write of a transaction that began as a reader.
  execute("BEGIN IMMEDIATE");
  try {
    Statement insert(db_,
                     "INSERT INTO runs(created, command, model_path, model_sha256, data, "
                     "selection, n_forget, method, metrics, details) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                     path_);
    insert.bind(1, run.created)
        .bind(2, run.command)
        .bind(3, run.model_path)
        .bind(4, run.model_sha256)
        .bind(5, run.data)
        .bind(6, run.selection)
        .bind(7, run.n_forget)
        .bind(8, run.method)
        .bind(9, json_text(run.metrics))
        .bind(10, json_text(run.details));
    insert.step();
    const int64_t id = sqlite3_last_insert_rowid(db_);
    for (size_t i = 0; i < run.parent_sha256.size(); ++i) {
      Statement parent(
          db_, "INSERT INTO parents(run_id, position, parent_sha256) VALUES(?1, ?2, ?3)", path_);
      parent.bind(1, id).bind(2, static_cast<int64_t>(i)).bind(3, run.parent_sha256[i]);
      parent.step();
    }
    execute("COMMIT");
    return id;
  } catch (...) {  // any failure: roll back, then rethrow
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<RunRecord> Registry::select(const std::string& where, const std::string& key) const {
  Statement query(db_,
                  "SELECT id, created, command, model_path, model_sha256, data, selection, "
                  "n_forget, method, metrics, details FROM runs " +
                      where,
                  path_);
  if (!key.empty()) query.bind(1, key);
  std::vector<RunRecord> out;
  while (query.step()) {
    RunRecord r;
    r.id = query.integer(0);
    r.created = query.text(1);
    r.command = query.text(2);
    r.model_path = query.text(3);
    r.model_sha256 = query.text(4);
    r.data = query.text(5);
    r.selection = query.text(6);
    r.n_forget = query.integer(7);
    r.method = query.text(8);
    r.metrics = parse_json_column(query.text(9));
    r.details = parse_json_column(query.text(10));
    out.push_back(std::move(r));
  }
  for (auto& r : out) {
    Statement parents(db_, "SELECT parent_sha256 FROM parents WHERE run_id = ?1 ORDER BY position",
                      path_);
    parents.bind(1, r.id);
    while (parents.step()) r.parent_sha256.push_back(parents.text(0));
  }
  return out;
}

std::vector<RunRecord> Registry::runs() const { return select("ORDER BY id", ""); }

std::vector<RunRecord> Registry::runs_making(const std::string& model_sha256) const {
  return select("WHERE model_sha256 = ?1 ORDER BY id DESC", model_sha256);
}

std::vector<RunRecord> Registry::lineage(const std::string& model_sha256) const {
  std::vector<RunRecord> chain;
  std::set<std::string> seen;  // a model file can be rewritten; never loop
  std::string current = model_sha256;
  while (!current.empty() && seen.insert(current).second) {
    auto made = runs_making(current);
    if (made.empty()) break;
    chain.push_back(std::move(made.front()));
    const auto& parents = chain.back().parent_sha256;
    current = parents.empty() ? std::string() : parents.front();
  }
  return chain;
}

std::string format_lineage(const std::vector<RunRecord>& chain) {
  const std::vector<std::string> metric_names{"UA", "RA", "TA", "FTA", "RTA", "avg_gap"};
  std::vector<std::string> header{"run", "created", "command", "method", "selection", "n_forget"};
  header.insert(header.end(), metric_names.begin(), metric_names.end());
  header.push_back("model");
  std::vector<std::vector<std::string>> rows{header};
  for (const auto& r : chain) {
    std::vector<std::string> row{std::to_string(r.id),
                                 r.created,
                                 r.command,
                                 r.method,
                                 r.selection.empty() ? "-" : r.selection,
                                 std::to_string(r.n_forget)};
    for (const auto& m : metric_names) {
      char buf[32] = "-";
      if (r.metrics.contains(m) && r.metrics[m].is_number()) {
        std::snprintf(buf, sizeof buf, "%.2f", r.metrics[m].get<double>());
      }
      row.emplace_back(buf);
    }
    row.push_back(r.model_path);
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out += std::string(width[c] - row[c].size() + 2, ' ');
    }
    out += "\n";
  }
  return out;
}

nlohmann::json run_json(const RunRecord& r) {
  return {{"id", r.id},
          {"created", r.created},
          {"command", r.command},
          {"model_path", r.model_path},
          {"model_sha256", r.model_sha256},
          {"parent_sha256", r.parent_sha256},
          {"data", r.data},
          {"selection", r.selection},
          {"n_forget", r.n_forget},
          {"method", r.method},
          {"metrics", r.metrics},
          {"details", r.details}};
}

}  // namespace unlearn
