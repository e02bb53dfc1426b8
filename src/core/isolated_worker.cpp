#include "unlearn/core/isolated_worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>

namespace unlearn {
// A named namespace: the library is built in unity batches, where anonymous namespaces of
// different files share one translation unit.
namespace isolated_worker_detail {

// What a response carries: an answer, or an error to throw again in the parent with its type.
enum Outcome : uint8_t {
  kAnswer = 0,
  kInvalidArgument = 1,
  kIoError = 2,
  kFormatError = 3,
  kError = 4,
};

/// Writes all of `size` bytes; false when the other end is gone. MSG_NOSIGNAL: a dead peer must
/// not raise SIGPIPE, which would end this process.
bool write_all(int socket, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(socket, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

/// Reads exactly `size` bytes; false at the end of the stream or on an error.
bool read_all(int socket, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::recv(socket, p, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool write_frame(int socket, const std::string& bytes) {
  const uint64_t size = bytes.size();
  return write_all(socket, &size, sizeof size) && write_all(socket, bytes.data(), bytes.size());
}

bool read_frame(int socket, std::string& bytes) {
  uint64_t size = 0;
  if (!read_all(socket, &size, sizeof size)) return false;
  try {
    bytes.resize(size);
  } catch (const std::exception&) {
    return false;
  }
  return read_all(socket, bytes.data(), bytes.size());
}

/// The handler's answer, or the error it threw, as one response.
std::pair<Outcome, std::string> answer(const IsolatedWorker::Handler& handler,
                                       const std::string& request) {
  try {
    return {kAnswer, handler(request)};
  } catch (const InvalidArgument& e) {
    return {kInvalidArgument, e.what()};
  } catch (const IoError& e) {
    return {kIoError, e.what()};
  } catch (const FormatError& e) {
    return {kFormatError, e.what()};
  } catch (const std::exception& e) {
    return {kError, e.what()};
  } catch (...) {
    return {kError, "unknown exception in the isolated worker"};
  }
}

[[noreturn]] void rethrow(Outcome outcome, const std::string& message) {
  switch (outcome) {
    case kInvalidArgument:
      throw InvalidArgument(message);
    case kIoError:
      throw IoError(message);
    case kFormatError:
      throw FormatError(message);
    default:
      throw Error(message);
  }
}

/// The worker must die of the faults it exists to contain, not run the parent's handlers for
/// them (a fuzzer's, a sanitizer's), and must leave Ctrl-C to the parent, which decides.
void reset_signals_in_child() {
  for (const int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTERM}) {
    ::signal(sig, SIG_DFL);
  }
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
}

/// The last `limit` bytes the worker wrote to standard error, from the unlinked file that stood
/// in for its stderr, without trailing blanks; "" when it wrote nothing.
std::string stderr_tail(std::FILE* file, off_t limit) {
  struct stat st {};
  if (file == nullptr || ::fstat(::fileno(file), &st) != 0 || st.st_size <= 0) return "";
  const off_t size = std::min<off_t>(st.st_size, limit);
  std::string tail(static_cast<size_t>(size), '\0');
  const ssize_t n = ::pread(::fileno(file), tail.data(), tail.size(), st.st_size - size);
  tail.resize(n > 0 ? static_cast<size_t>(n) : 0);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  return tail;
}

/// The last line of `text` (an assertion's message).
std::string last_line(const std::string& text) {
  const size_t start = text.find_last_of('\n');
  return start == std::string::npos ? text : text.substr(start + 1);
}

}  // namespace isolated_worker_detail

IsolatedWorker::IsolatedWorker(Handler handler, std::function<void()> child_setup)
    : handler_(std::move(handler)), child_setup_(std::move(child_setup)) {}

IsolatedWorker::~IsolatedWorker() { stop(); }

void IsolatedWorker::start() {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
    throw IoError(
        detail::concat("isolated worker: cannot create a socket pair: ", std::strerror(errno)));
  }
  // The worker's stderr goes to an unlinked file, read back only if it dies: what an assertion
  // printed then becomes part of the error, and GDCM's noise never reaches the user's console.
  std::FILE* err_file = std::tmpfile();
  if (err_file) ::fcntl(::fileno(err_file), F_SETFD, FD_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(ends[0]);
    ::close(ends[1]);
    if (err_file) std::fclose(err_file);
    throw IoError(detail::concat("isolated worker: cannot start a process: ", std::strerror(err)));
  }
  if (pid == 0) {
    ::close(ends[0]);
    if (err_file) ::dup2(::fileno(err_file), STDERR_FILENO);
    serve(ends[1]);
  }
  ::close(ends[1]);
  pid_ = pid;
  socket_ = ends[0];
  if (stderr_file_) std::fclose(stderr_file_);
  stderr_file_ = err_file;
}

void IsolatedWorker::serve(int socket) {
  isolated_worker_detail::reset_signals_in_child();
  if (child_setup_) {
    try {
      child_setup_();
    } catch (...) {
      ::_exit(3);
    }
  }
  std::string request;
  // The parent closing its end (or ending) is the signal to stop. _exit: the parent's atexit
  // handlers and stdio buffers are not this process's to run or flush.
  while (isolated_worker_detail::read_frame(socket, request)) {
    const auto [outcome, bytes] = isolated_worker_detail::answer(handler_, request);
    if (!isolated_worker_detail::write_all(socket, &outcome, 1) ||
        !isolated_worker_detail::write_frame(socket, bytes))
      break;
  }
  ::_exit(0);
}

std::string IsolatedWorker::ask(const std::string& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (pid_ < 0) start();
  isolated_worker_detail::Outcome outcome = isolated_worker_detail::kAnswer;
  std::string bytes;
  if (!isolated_worker_detail::write_frame(socket_, request) ||
      !isolated_worker_detail::read_all(socket_, &outcome, 1) ||
      !isolated_worker_detail::read_frame(socket_, bytes)) {
    died();
  }
  if (outcome != isolated_worker_detail::kAnswer) isolated_worker_detail::rethrow(outcome, bytes);
  return bytes;
}

void IsolatedWorker::died() {
  ::close(socket_);
  socket_ = -1;
  int status = 0;
  pid_t reaped = -1;
  do {
    reaped = ::waitpid(pid_, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  const pid_t worker = pid_;
  pid_ = -1;
  const std::string said = isolated_worker_detail::stderr_tail(stderr_file_, 64 << 10);
  const std::string last_words =
      said.empty() ? "" : "; it last wrote: " + isolated_worker_detail::last_line(said);
  // An assertion says all in its last line. Anything else (a sanitizer's report, which ends in
  // an exit) is passed on whole, so that it is not lost with the worker.
  const bool assertion = reaped > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  if (!assertion && !said.empty()) {
    std::fprintf(stderr, "isolated worker %d, standard error:\n%s\n", static_cast<int>(worker),
                 said.c_str());
  }
  if (reaped > 0 && WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    throw WorkerDied(detail::concat("its worker process was killed by signal ", sig, " (",
                                    ::strsignal(sig), ")", last_words),
                     sig, -1);
  }
  const int code = reaped > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  throw WorkerDied(detail::concat("its worker process ended (exit status ", code,
                                  ") before answering", last_words),
                   0, code);
}

void IsolatedWorker::stop() {
  if (stderr_file_) std::fclose(stderr_file_);
  stderr_file_ = nullptr;
  if (pid_ < 0) return;
  ::close(socket_);
  socket_ = -1;
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace unlearn
