#pragma once
// Progress and trace reporting. Library code reports to an Observer; the CLI draws a progress
// bar from it, and tests collect the records.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace unlearn {

/// One record of a run's trace: named scalar values at one step.
struct TraceRecord {
  int64_t step = 0;
  std::map<std::string, double> values;
};

/// Receives progress and trace records from long-running library calls.
class Observer {
 public:
  virtual ~Observer() = default;
  /// A new phase of work starts, with `total` units (0 if unknown).
  virtual void begin(const std::string& /*phase*/, int64_t /*total*/) {}
  /// `done` of the phase's `total` units are finished; `note` is a short status (e.g. "loss 0.41").
  virtual void progress(int64_t /*done*/, const std::string& /*note*/) {}
  /// The current phase ended.
  virtual void end() {}
  /// A trace record (one outer step of an unlearning method, one epoch of training).
  virtual void trace(const TraceRecord& /*record*/) {}
  /// A one-line message worth showing to the user.
  virtual void message(const std::string& /*text*/) {}
};

/// An observer that ignores everything.
class NullObserver : public Observer {};

/// An observer that keeps every trace record and message; used by tests.
class CollectingObserver : public Observer {
 public:
  void trace(const TraceRecord& record) override { records.push_back(record); }
  void message(const std::string& text) override { messages.push_back(text); }
  std::vector<TraceRecord> records;
  std::vector<std::string> messages;
};

}  // namespace unlearn
