#pragma once
// Exceptions used throughout unlearn. Only `main` catches; the CLI maps `UsageError` to exit
// code 2 and every other exception to exit code 1.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace unlearn {

/// Base of every error raised by the library.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// A caller passed a value the function cannot accept (bad option, bad expression, ...).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A command-line usage problem: the tool exits with status 2.
class UsageError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// A file could not be opened, read, written or renamed.
class IoError : public Error {
 public:
  using Error::Error;
};

/// A file was readable but its contents are malformed. The message names the file and offset.
class FormatError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}
}  // namespace detail

}  // namespace unlearn

/// Checks an input at an API boundary; throws `unlearn::InvalidArgument` with the joined message.
/// Example: UNLEARN_CHECK(lr >= 0, "psg: invalid learning rate ", lr, " (expected >= 0)");
#define UNLEARN_CHECK(cond, ...)                                                           \
  do {                                                                                     \
    if (!(cond)) throw ::unlearn::InvalidArgument(::unlearn::detail::concat(__VA_ARGS__)); \
  } while (false)

/// Like UNLEARN_CHECK but throws the given exception type.
#define UNLEARN_CHECK_AS(type, cond, ...)                            \
  do {                                                               \
    if (!(cond)) throw type(::unlearn::detail::concat(__VA_ARGS__)); \
  } while (false)
