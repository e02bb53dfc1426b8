// The worker process that contains aborts (core/isolated_worker.h): answers, errors with their
// types, a worker that dies, a new worker after that, and answers bigger than a socket buffer.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "expect_error.h"
#include "unlearn/core/error.h"
#include "unlearn/core/isolated_worker.h"

namespace unlearn {
namespace {

using test::message_of;

/// Answers "echo X" with X from another process, and otherwise throws or ends as asked.
std::string handle(const std::string& request) {
  if (request.rfind("echo ", 0) == 0)
    return request.substr(5) + " from " + std::to_string(::getpid());
  if (request == "format") throw FormatError("f.dcm: malformed");
  if (request == "io") throw IoError("f.dcm: cannot open");
  if (request == "argument") throw InvalidArgument("bad option");
  if (request == "std") throw std::runtime_error("plain exception");
  if (request == "abort") {
    std::fputs("noise\nhandle: assertion `x > 0' failed\n", stderr);
    std::abort();
  }
  if (request == "exit") {
    std::fputs("==1==ERROR: a sanitizer's report\n==1==ABORTING\n", stderr);
    ::_exit(7);
  }
  if (request == "big") return std::string(8 << 20, 'x');
  return "?";
}

TEST(IsolatedWorker, AnswersFromAnotherProcess) {
  IsolatedWorker worker(handle);
  EXPECT_EQ(worker.pid(), -1);
  const std::string answer = worker.ask("echo hello");
  ASSERT_GT(worker.pid(), 0);
  EXPECT_NE(worker.pid(), ::getpid());
  EXPECT_EQ(answer, "hello from " + std::to_string(worker.pid()));
  // The same worker answers the next request.
  const pid_t first = worker.pid();
  EXPECT_EQ(worker.ask("echo again"), "again from " + std::to_string(first));
  EXPECT_EQ(worker.ask("big").size(), size_t{8} << 20);
  EXPECT_EQ(worker.ask(std::string(3 << 20, 'q')), "?");
  EXPECT_EQ(worker.pid(), first);
}

TEST(IsolatedWorker, ErrorsKeepTheirTypeAndMessage) {
  IsolatedWorker worker(handle);
  EXPECT_EQ(message_of<FormatError>([&] { worker.ask("format"); }), "f.dcm: malformed");
  EXPECT_EQ(message_of<IoError>([&] { worker.ask("io"); }), "f.dcm: cannot open");
  EXPECT_EQ(message_of<InvalidArgument>([&] { worker.ask("argument"); }), "bad option");
  EXPECT_EQ(message_of<Error>([&] { worker.ask("std"); }), "plain exception");
  const pid_t pid = worker.pid();
  EXPECT_EQ(worker.ask("echo still"), "still from " + std::to_string(pid));
}

TEST(IsolatedWorker, AnAbortEndsOnlyTheWorkerAndTheNextRequestGetsANewOne) {
  IsolatedWorker worker(handle);
  worker.ask("echo start");
  const pid_t first = worker.pid();
  testing::internal::CaptureStderr();
  try {
    worker.ask("abort");
    ADD_FAILURE() << "the worker answered";
  } catch (const WorkerDied& died) {
    EXPECT_EQ(died.signal(), SIGABRT);
    EXPECT_EQ(died.exit_status(), -1);
    EXPECT_NE(std::string(died.what()).find("signal 6"), std::string::npos) << died.what();
    // What it last wrote to stderr is part of the message (and did not reach ours).
    EXPECT_NE(std::string(died.what()).find("it last wrote: handle: assertion `x > 0' failed"),
              std::string::npos)
        << died.what();
  }
  // An assertion's last line says it all: nothing is passed on to our stderr.
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(worker.pid(), -1);
  // Reaped: no such process any more.
  EXPECT_EQ(::kill(first, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  const std::string answer = worker.ask("echo after");
  EXPECT_NE(worker.pid(), first);
  EXPECT_EQ(answer, "after from " + std::to_string(worker.pid()));
}

TEST(IsolatedWorker, AnExitIsReportedWithItsStatusAndWhatItWroteIsPassedOn) {
  IsolatedWorker worker(handle);
  testing::internal::CaptureStderr();
  try {
    worker.ask("exit");
    ADD_FAILURE() << "the worker answered";
  } catch (const WorkerDied& died) {
    EXPECT_EQ(died.signal(), 0);
    EXPECT_EQ(died.exit_status(), 7);
    EXPECT_NE(std::string(died.what()).find("it last wrote: ==1==ABORTING"), std::string::npos)
        << died.what();
  }
  // Not an assertion: the whole of the worker's stderr (a sanitizer's report) reaches ours.
  const std::string passed_on = testing::internal::GetCapturedStderr();
  EXPECT_NE(passed_on.find("==1==ERROR: a sanitizer's report\n==1==ABORTING"), std::string::npos)
      << passed_on;
}

TEST(IsolatedWorker, ChildSetupRunsInTheWorkerOnly) {
  static int setups = 0;
  IsolatedWorker worker([](const std::string&) { return std::to_string(setups); },
                        [] { ++setups; });
  EXPECT_EQ(worker.ask("count"), "1");
  EXPECT_EQ(setups, 0);
}

TEST(IsolatedWorker, EndingTheWorkerObjectReapsItsProcess) {
  pid_t pid = -1;
  {
    IsolatedWorker worker(handle);
    worker.ask("echo x");
    pid = worker.pid();
    ASSERT_EQ(::kill(pid, 0), 0);
  }
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

}  // namespace
}  // namespace unlearn
