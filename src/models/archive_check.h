#pragma once
// A look at a model file's zip directory before LibTorch reads it. LibTorch allocates each
// member at the size the directory claims before it reads a byte, so a 244-byte file claiming
// 2 GB members (found by fuzzing) costs gigabytes of memory, and over 25 s under
// AddressSanitizer, before the read fails. The directory is read here as LibTorch's miniz reads
// it (libzip refuses some archives that miniz accepts, and those slipped past). Internal to
// models/.

#include <string>

namespace unlearn::models_detail {

/// Throws FormatError, naming `path` and the member, when a member of the zip archive at `path`
/// claims more bytes than the archive could hold (limits::max_unzipped_bytes). A file that is
/// not a zip archive passes: LibTorch's reader then says what is wrong with it.
void check_archive_member_sizes(const std::string& path);

}  // namespace unlearn::models_detail
