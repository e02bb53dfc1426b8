#pragma once
// `unlearn verify MANIFEST`: recomputes what a forget or compose manifest records and lists
// every difference.
//
// What a manifest proves, when verify passes: the model files named in it (input, retrain,
// output) and the result JSON are byte-for-byte the files that run read and wrote; the data
// source, decoded today, is the data the run used (content digest); the selection expression
// picks the same training rows (ids digest and count); and the output model, evaluated again on
// that split, scores the recorded metrics (within the tolerance). What it does not prove: that
// the data source itself was complete or correctly labelled; that the output came from the
// input by the recorded method (verify does not rerun the unlearning, which is seeded but may
// differ across machines and thread counts); that nobody rewrote both a file and the manifest
// (the manifest is not signed: keep its digest somewhere tamper-evident, such as the run
// registry or a ticket); or anything about samples outside the selection (forgetting quality
// is what the metrics estimate, not a guarantee).

#include <string>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/models/model.h"

namespace unlearn {

struct VerifyCheck {
  std::string what;  // e.g. "file output u.pt", "metric unlearned.UA"
  bool ok = false;
  std::string detail;  // what differed, or what was compared
};

struct VerifyReport {
  std::string manifest;
  std::vector<VerifyCheck> checks;
  int mismatches() const;
};

struct VerifyJob {
  std::string manifest;
  /// Largest accepted difference of a recomputed metric (percentage points).
  double tolerance = 0.01;
  TorchScriptSpecFlags torchscript;  // completes the spec of `torchscript:FILE` models
};

/// Never throws for a mismatch (each becomes a failed check); throws FormatError for a file
/// that is not a manifest.
VerifyReport run_verify_job(const VerifyJob& job, const RunContext& context, Observer& observer);

/// One line per check ("ok" or "MISMATCH"), then a summary line.
std::string verify_text(const VerifyReport& report);

}  // namespace unlearn
