#include "console.h"

#include <unistd.h>

#include <cstdio>

namespace unlearn::cli {

namespace {

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "--:--";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buf;
}

}  // namespace

ConsoleObserver::ConsoleObserver(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO)) {}

void ConsoleObserver::begin(const std::string& phase, int64_t total) {
  phase_ = phase;
  total_ = total;
  done_ = 0;
  note_.clear();
  start_ = last_draw_ = std::chrono::steady_clock::now();
  last_logged_decile_ = -1;
}

void ConsoleObserver::progress(int64_t done, const std::string& note) {
  done_ = done;
  note_ = note;
  draw(false);
}

void ConsoleObserver::end() {
  draw(true);
  if (!quiet_ && tty_) std::fputc('\n', stderr);
}

void ConsoleObserver::message(const std::string& text) {
  if (!quiet_) std::fprintf(stderr, "%s\n", text.c_str());
}

void ConsoleObserver::draw(bool final) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 0.0;
  const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : -1;
  if (tty_) {
    // Redraw at most ten times a second.
    if (!final && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%-10s [%s] %3d%% %s<%s %s\033[K", phase_.c_str(), bar.c_str(),
                 static_cast<int>(fraction * 100), format_duration(elapsed).c_str(),
                 format_duration(eta).c_str(), note_.c_str());
    std::fflush(stderr);
    return;
  }
  // Not a terminal: one line per tenth of the work, and one at the end.
  const int decile = static_cast<int>(fraction * 10);
  if (!final && decile == last_logged_decile_) return;
  if (final && decile == last_logged_decile_ && done_ < total_) return;
  last_logged_decile_ = decile;
  std::fprintf(stderr, "%s: %lld/%lld (%d%%) elapsed %s eta %s %s\n", phase_.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_),
               static_cast<int>(fraction * 100), format_duration(elapsed).c_str(),
               format_duration(eta).c_str(), note_.c_str());
}

}  // namespace unlearn::cli
