#include "unlearn/dist/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "unlearn/core/error.h"

namespace unlearn::dist {

namespace {

volatile std::sig_atomic_t pending_signal = 0;

void remember_signal(int signal) { pending_signal = signal; }

struct Rank {
  pid_t pid = -1;
  bool running = false;
};

/// Exit status as a shell reports it: the code, or 128 + the signal.
int shell_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) {
    return detail::concat("was killed by signal ", WTERMSIG(status), " (",
                          strsignal(WTERMSIG(status)), ")");
  }
  return detail::concat("exited with status ", shell_status(status));
}

void signal_all(std::vector<Rank>& ranks, int signal) {
  for (const auto& r : ranks) {
    if (r.running) kill(r.pid, signal);
  }
}

}  // namespace

int free_local_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(detail::concat("launch: cannot open a socket: ", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!ok) throw Error("launch: cannot find a free port on 127.0.0.1; pass --master-port");
  return ntohs(address.sin_port);
}

namespace {

/// In the child: torchrun's variables for rank `r`, then the program; never returns.
[[noreturn]] void exec_rank(const std::string& program, const std::vector<std::string>& args,
                            const LaunchOptions& options, int r, int port) {
  for (int s : {SIGINT, SIGTERM, SIGHUP}) signal(s, SIG_DFL);
  setenv("RANK", std::to_string(r).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(options.processes).c_str(), 1);
  setenv("LOCAL_WORLD_SIZE", std::to_string(options.processes).c_str(), 1);
  setenv("MASTER_ADDR", options.master_addr.c_str(), 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  setenv("UNLEARN_DIST_TIMEOUT", std::to_string(options.timeout_s).c_str(), 1);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(program.c_str(), argv.data());
  std::fprintf(stderr, "launch: cannot run %s: %s\n", program.c_str(), std::strerror(errno));
  _exit(127);
}

/// Waits for every rank, passing signals on. After the first failure the others get the group
/// timeout (and a margin) to notice the lost peer, then SIGTERM, then SIGKILL. Returns the
/// first failure's shell status, or 0.
int wait_for_ranks(std::vector<Rank>& ranks, const LaunchOptions& options) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kNever = Clock::time_point::max();  // a deadline not set
  int first_failure = 0;
  auto terminate_at = kNever, kill_at = kNever;
  int running = static_cast<int>(ranks.size());
  while (running > 0) {
    if (pending_signal != 0) {
      signal_all(ranks, pending_signal);
      pending_signal = 0;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t r = 0; r < ranks.size(); ++r) {
        if (ranks[r].pid != pid || !ranks[r].running) continue;
        ranks[r].running = false;
        --running;
        if (shell_status(status) == 0) continue;
        std::fprintf(stderr, "launch: rank %zu (pid %d) %s\n", r, static_cast<int>(pid),
                     describe(status).c_str());
        if (first_failure == 0) {
          first_failure = shell_status(status);
          terminate_at = Clock::now() + std::chrono::seconds(options.timeout_s + 15);
        }
      }
      continue;
    }
    if (Clock::now() > terminate_at) {
      std::fprintf(stderr, "launch: stopping the %d rank(s) still running\n", running);
      signal_all(ranks, SIGTERM);
      terminate_at = kNever;
      kill_at = Clock::now() + std::chrono::seconds(5);
    }
    if (Clock::now() > kill_at) {
      signal_all(ranks, SIGKILL);
      kill_at = kNever;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return first_failure;
}

}  // namespace

int launch_local(const std::string& program, const std::vector<std::string>& args,
                 const LaunchOptions& options) {
  UNLEARN_CHECK_AS(UsageError, options.processes >= 1, "launch -n: expected >= 1, got ",
                   options.processes);
  UNLEARN_CHECK_AS(UsageError, !args.empty(),
                   "launch: no command given; usage: unlearn launch -n N -- SUBCOMMAND ...");
  const int port = options.master_port > 0 ? options.master_port : free_local_port();

  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &action, nullptr);

  std::vector<Rank> ranks(static_cast<size_t>(options.processes));
  std::fflush(nullptr);  // the children must not repeat buffered output
  for (int r = 0; r < options.processes; ++r) {
    const pid_t pid = fork();
    if (pid < 0) {
      signal_all(ranks, SIGTERM);
      throw Error(detail::concat("launch: cannot start rank ", r, ": ", std::strerror(errno)));
    }
    if (pid == 0) exec_rank(program, args, options, r, port);
    ranks[static_cast<size_t>(r)] = {pid, true};
  }
  return wait_for_ranks(ranks, options);
}

}  // namespace unlearn::dist
