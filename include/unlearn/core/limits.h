#pragma once
// The limits on what the readers accept, in one place (docs/formats.md, "Limits", lists each with
// its error). They are far above any real input; they exist so that a hostile or corrupt file
// ends in an error naming the limit and the value seen, not in a crash, a stack overflow or an
// allocation of all memory.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "unlearn/core/error.h"

namespace unlearn::limits {

/// Pixels in one decoded image or frame (PNG, JPEG, ..., DICOM): 16384 × 16384.
constexpr int64_t kMaxImagePixels = int64_t{1} << 28;
/// Pixel values in one DICOM object, all frames and samples together (8 GiB as float64).
constexpr int64_t kMaxDicomValues = int64_t{1} << 30;
/// Classes in a data source, however they are named.
constexpr int64_t kMaxClasses = 100000;
/// Files listed under one data folder (an image folder or a DICOM folder).
constexpr int64_t kMaxFilesPerFolder = 10000000;
/// Selections: the deepest nesting of parentheses and `not` (the parser and the evaluator recurse
/// once per level, and a few thousand levels would exhaust the stack), the longest text (long id
/// lists belong in `in @FILE`) and the longest `~` regular expression.
constexpr int kMaxSelectionNesting = 100;
constexpr size_t kMaxSelectionLength = size_t{1} << 20;
constexpr size_t kMaxRegexLength = 512;
/// Matcher states a `~` pattern may expand to (select/regex_guard.h): libstdc++ expands
/// a{n} into n copies, and matching costs about length^2 x states per distinct value.
constexpr int64_t kMaxRegexStates = 2000;
/// Nesting of a YAML file (--config, bench and sweep plans); yaml-cpp's own guard.
constexpr int kMaxYamlNesting = 500;

/// The most bytes the members of a zip archive of `archive_bytes` bytes can claim to hold: deflate
/// expands at most about 1032:1. A larger claim in the directory is corruption, and believing it
/// would allocate gigabytes before reading (npz arrays, model files).
inline uint64_t max_unzipped_bytes(uint64_t archive_bytes) { return archive_bytes * 1100 + 1024; }

/// Refuses an image of `height` × `width` pixels above kMaxImagePixels; `where` names the file.
inline void check_image_pixels(int64_t height, int64_t width, const std::string& where) {
  UNLEARN_CHECK_AS(FormatError, height <= kMaxImagePixels / std::max<int64_t>(width, 1), where,
                   ": ", width, "x", height, " pixels, more than the limit of ", kMaxImagePixels,
                   " pixels per image");
}

/// Refuses the file after kMaxFilesPerFolder files listed under `folder`.
inline void check_file_count(size_t files, const std::string& folder) {
  UNLEARN_CHECK_AS(FormatError, static_cast<int64_t>(files) < kMaxFilesPerFolder, folder,
                   ": more than ", kMaxFilesPerFolder, " files, the limit for one data folder");
}

}  // namespace unlearn::limits
