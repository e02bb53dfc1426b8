#pragma once
// A child process that runs one function on request, so that a library which ends the process on
// bad input (Debian's GDCM asserts, and an assertion aborts) takes down only the child. The
// parent gets a clear error and goes on; the next request starts a new child.
//
// POSIX only (fork and a UNIX socket pair). Example:
//   IsolatedWorker worker([](const std::string& path) { return decode(path); });
//   try { bytes = worker.ask(path); } catch (const WorkerDied& died) { ... died.what() ... }

#include <sys/types.h>

#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

#include "unlearn/core/error.h"

namespace unlearn {

/// The worker process ended before it answered: killed by a signal (an assertion's abort, a
/// segmentation fault), or exited. The message ends with the last line the worker wrote to its
/// standard error, if any (an assertion's text).
class WorkerDied : public Error {
 public:
  WorkerDied(const std::string& what, int signal, int exit_status)
      : Error(what), signal_(signal), exit_status_(exit_status) {}
  /// The signal that ended the worker, or 0 when it exited.
  int signal() const { return signal_; }
  /// The worker's exit status, or -1 when a signal ended it.
  int exit_status() const { return exit_status_; }

 private:
  int signal_;
  int exit_status_;
};

class IsolatedWorker {
 public:
  /// Computes an answer from a request, in the worker. An unlearn::Error it throws reaches the
  /// caller of ask() with the same type (InvalidArgument, IoError, FormatError, else Error) and
  /// message; any other exception as Error.
  using Handler = std::function<std::string(const std::string& request)>;

  /// `child_setup` runs once in each new worker before its first request (for example, to keep
  /// LibTorch to one thread there: a forked child has none of its parent's thread pools).
  explicit IsolatedWorker(Handler handler, std::function<void()> child_setup = {});
  ~IsolatedWorker();
  IsolatedWorker(const IsolatedWorker&) = delete;
  IsolatedWorker& operator=(const IsolatedWorker&) = delete;

  /// The handler's answer to `request`, computed in the worker, which is started (forked from
  /// this process) when there is none. Throws WorkerDied when the worker ends before answering.
  /// Thread-safe: requests are answered one at a time.
  std::string ask(const std::string& request);

  /// The worker's process ID, or -1 when none is running (for tests).
  pid_t pid() const { return pid_; }

 private:
  void start();
  [[noreturn]] void serve(int socket);
  [[noreturn]] void died();
  void stop();

  Handler handler_;
  std::function<void()> child_setup_;
  std::mutex mutex_;
  pid_t pid_ = -1;
  int socket_ = -1;
  std::FILE* stderr_file_ = nullptr;  // the worker's stderr (an unlinked file)
};

}  // namespace unlearn
