#pragma once
// An Observer that writes plain, timestamped lines to a log file: phases, progress at every
// tenth of a phase, and messages. Used for the per-cell logs of `unlearn bench` and `sweep`.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

#include "unlearn/core/observer.h"

namespace unlearn {

class LogObserver : public Observer {
 public:
  /// Opens `path` for appending; throws IoError naming it when that fails.
  explicit LogObserver(const std::string& path);

  void begin(const std::string& phase, int64_t total) override;
  void progress(int64_t done, const std::string& note) override;
  void end() override;
  void message(const std::string& text) override;

 private:
  void line(const std::string& text);

  std::ofstream out_;
  std::string phase_;
  int64_t total_ = 0;
  int64_t next_report_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace unlearn
