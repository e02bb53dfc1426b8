#pragma once
// Checking error paths by exception type and message, shared by the unit tests.

#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <utility>

#include "unlearn/core/error.h"

namespace unlearn::test {

/// Runs `f`, expects an exception of type E, and returns its message ("" if none was thrown).
template <typename E, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

/// Expects `f` to throw InvalidArgument whose message contains `needle`.
template <typename F>
void expect_invalid(F&& f, const std::string& needle) {
  const std::string msg = message_of<InvalidArgument>(std::forward<F>(f));
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg << "\nexpected: " << needle;
}

}  // namespace unlearn::test
