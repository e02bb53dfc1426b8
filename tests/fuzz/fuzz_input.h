#pragma once
// Shared by the fuzz targets: the input as a temporary file for readers that take a path, and
// the rule every target follows. A reader may reject any input, but only with unlearn::Error
// (or LibTorch's c10::Error for the model loader); anything else (a crash, a sanitizer report,
// another exception) is a finding.

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace unlearn::fuzz {

/// A private folder for this process's inputs, so readers that look beside their file (npz
/// reads classes.txt) see nothing of the machine's /tmp; removed at exit (it is empty then).
inline const std::string& private_folder() {
  struct Folder {
    std::string path;
    Folder() {
      char name[] = "/tmp/unlearn-fuzz-XXXXXX";
      const char* made = ::mkdtemp(name);
      path = made ? made : "/tmp";
    }
    ~Folder() {
      if (path != "/tmp") ::rmdir(path.c_str());
    }
  };
  static const Folder folder;
  return folder.path;
}

/// Writes the input to a temporary file named `input<suffix>` and removes it on scope exit.
class InputFile {
 public:
  InputFile(const uint8_t* data, size_t size, const std::string& suffix)
      : path_(private_folder() + "/input" + suffix) {
    std::ofstream out(path_, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ~InputFile() { std::remove(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace unlearn::fuzz
