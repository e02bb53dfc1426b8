#pragma once
// How the tool shows progress: a bar with an ETA on a terminal, plain log lines otherwise.

#include <chrono>
#include <cstdint>
#include <string>

#include "unlearn/core/observer.h"

namespace unlearn::cli {

class ConsoleObserver : public Observer {
 public:
  explicit ConsoleObserver(bool quiet);
  void begin(const std::string& phase, int64_t total) override;
  void progress(int64_t done, const std::string& note) override;
  void end() override;
  void message(const std::string& text) override;

 private:
  void draw(bool final);

  bool quiet_;
  bool tty_;
  std::string phase_;
  int64_t total_ = 0;
  int64_t done_ = 0;
  std::string note_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int last_logged_decile_ = -1;
};

}  // namespace unlearn::cli
