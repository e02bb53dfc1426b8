#include "unlearn/core/atomic_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "unlearn/core/error.h"

namespace unlearn {

namespace fs = std::filesystem;

void check_output_path(const std::string& path, bool force, const std::string& flag) {
  UNLEARN_CHECK(!path.empty(), flag, ": an output path is required");
  std::error_code ec;
  if (fs::exists(path, ec) && !force) {
    throw IoError(detail::concat(flag, ": '", path,
                                 "' already exists; refusing to overwrite it (use --force)"));
  }
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    throw IoError(detail::concat(flag, ": folder '", parent.string(), "' does not exist"));
  }
}

void write_atomically(const std::string& path, bool force, const std::string& flag,
                      const std::function<void(const std::string& tmp_path)>& write) {
  check_output_path(path, force, flag);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  PartialOutput partial(tmp);
  write(tmp);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    throw IoError(
        detail::concat(flag, ": cannot rename '", tmp, "' to '", path, "': ", ec.message()));
  }
  partial.keep();
}

PartialOutput::~PartialOutput() {
  if (kept_) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void write_text_atomically(const std::string& path, const std::string& text, bool force,
                           const std::string& flag) {
  write_atomically(path, force, flag, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw IoError(detail::concat(flag, ": cannot open '", tmp, "' for writing"));
    out << text;
    out.close();
    if (!out) throw IoError(detail::concat(flag, ": writing '", tmp, "' failed"));
  });
}

}  // namespace unlearn
