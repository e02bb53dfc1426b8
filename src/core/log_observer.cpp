#include "unlearn/core/log_observer.h"

#include <cstdio>
#include <ctime>

#include "unlearn/core/error.h"

namespace unlearn {

LogObserver::LogObserver(const std::string& path) : out_(path, std::ios::app) {
  if (!out_) throw IoError(detail::concat(path, ": cannot open the log file for writing"));
}

void LogObserver::line(const std::string& text) {
  std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  out_ << stamp << " " << text << "\n";
  out_.flush();  // a log must be readable while the run goes on, and survive a kill
}

void LogObserver::begin(const std::string& phase, int64_t total) {
  phase_ = phase;
  total_ = total;
  next_report_ = total > 0 ? std::max<int64_t>(1, total / 10) : 0;
  start_ = std::chrono::steady_clock::now();
  line(detail::concat(phase, ": start", total > 0 ? detail::concat(", ", total, " steps") : ""));
}

void LogObserver::progress(int64_t done, const std::string& note) {
  if (total_ <= 0 || done < next_report_) return;
  next_report_ = done + std::max<int64_t>(1, total_ / 10);
  line(detail::concat(phase_, ": ", done, "/", total_, note.empty() ? "" : " " + note));
}

void LogObserver::end() {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", seconds);
  line(detail::concat(phase_, ": done in ", buf, " s"));
}

void LogObserver::message(const std::string& text) { line(text); }

}  // namespace unlearn
