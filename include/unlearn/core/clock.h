#pragma once
// Wall-clock readings for results and records: elapsed seconds, and the current UTC time.

#include <chrono>
#include <string>

namespace unlearn {

/// Seconds from `start` to now, on the steady clock.
double seconds_since(std::chrono::steady_clock::time_point start);

/// The current time as ISO 8601 UTC, "2026-12-07T10:13:47Z".
std::string utc_now();

}  // namespace unlearn
