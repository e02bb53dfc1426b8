#pragma once
// What `unlearn bench` and `unlearn sweep` share: a YAML plan run into a resumable folder, in
// one process or shared out among the ranks of a group.

#include <string>

#include "unlearn/core/context.h"

namespace unlearn::dist {
class GlooGroup;
}

namespace unlearn {

struct PlanRun {
  std::string plan;  // the YAML file
  std::string out;   // the output folder; an existing one is resumed
  /// A distributed run: rank 0 makes the originals and retrains, then the cells are handed out
  /// to the group's ranks through its store; rank 0 writes every file. Null: one process.
  dist::GlooGroup* group = nullptr;
  bool html = true;  // also write report.html there (include/unlearn/report/html_report.h)
  /// --stop-after: no cell starts after this time; the ones left run when the plan is resumed.
  /// One process only (a distributed run ignores it).
  Deadline stop_by;
};

}  // namespace unlearn
