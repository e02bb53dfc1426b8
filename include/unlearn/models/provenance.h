#pragma once
// Which original model a model descends from, so runs of different originals are not mixed.

#include <string>

#include "unlearn/models/model.h"

namespace unlearn {

/// The SHA-256 of the trained original `model` (read from `path`) descends from: its recorded
/// provenance "origin"; for a trained model, its own file's digest; for an unlearned model
/// without a recorded origin, its parent file's origin when that file is still there. "" when
/// it cannot be told.
std::string model_origin(const Model& model, const std::string& path);

}  // namespace unlearn
