#pragma once
// Safe output files: never silently replace an existing file, never leave a half-written one.

#include <functional>
#include <string>

namespace unlearn {

/// Throws IoError if `path` exists and `force` is false, or if its folder does not exist.
/// `flag` names the option that gave the path (e.g. "--out"), for the message.
void check_output_path(const std::string& path, bool force, const std::string& flag);

/// Removes a file or folder that is being written when it goes out of scope, unless `keep()`
/// was called: a failure anywhere in between leaves nothing half-written behind.
/// Example: PartialOutput partial(tmp); write(tmp); rename(tmp, path); partial.keep();
class PartialOutput {
 public:
  explicit PartialOutput(std::string path) : path_(std::move(path)) {}
  ~PartialOutput();
  PartialOutput(const PartialOutput&) = delete;
  PartialOutput& operator=(const PartialOutput&) = delete;
  void keep() { kept_ = true; }

 private:
  std::string path_;
  bool kept_ = false;
};

/// Calls `write(tmp)` with a temporary path in the same folder, then renames it to `path`.
/// On any exception the temporary file is removed and the exception propagates; `path` is
/// untouched. Checks `path` with check_output_path first.
void write_atomically(const std::string& path, bool force, const std::string& flag,
                      const std::function<void(const std::string& tmp_path)>& write);

/// Writes `text` to `path` atomically (see write_atomically).
void write_text_atomically(const std::string& path, const std::string& text, bool force,
                           const std::string& flag);

}  // namespace unlearn
