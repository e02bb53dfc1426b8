#include "archive_check.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"

namespace unlearn::models_detail {
namespace {

uint64_t little_endian(const std::string& b, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    value = value << 8 | static_cast<uint8_t>(b[at + static_cast<size_t>(i)]);
  }
  return value;
}

constexpr size_t kEndRecordSize = 22;      // "PK\5\6" and its fixed fields
constexpr size_t kCentralHeaderSize = 46;  // "PK\1\2" and its fixed fields
constexpr uint64_t kZip64Marker = 0xFFFFFFFF;

/// Offset in `tail` of the end-of-central-directory record, searched backwards from the end as
/// LibTorch's reader (miniz) does, so a record whose comment length lies is still found; npos if
/// none.
size_t end_record(const std::string& tail) {
  if (tail.size() < kEndRecordSize) return std::string::npos;
  for (size_t at = tail.size() - kEndRecordSize + 1; at-- > 0;) {
    if (tail.compare(at, 4, "PK\5\6") == 0) return at;
  }
  return std::string::npos;
}

/// `length` bytes of `in` from `offset`; fewer when the file ends first.
std::string bytes_at(std::ifstream& in, uint64_t offset, uint64_t length) {
  std::string out(length, '\0');
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(out.data(), static_cast<std::streamsize>(length));
  out.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return out;
}

/// The uncompressed size a central-directory entry at `at` claims, with its zip64 extra field
/// when the 32-bit field is the marker.
uint64_t claimed_size(const std::string& b, size_t at, size_t extra_at, size_t extra_end) {
  uint64_t size = little_endian(b, at + 24, 4);
  if (size != kZip64Marker) return size;
  for (size_t p = extra_at; p + 4 <= extra_end;) {
    const uint64_t id = little_endian(b, p, 2), length = little_endian(b, p + 2, 2);
    if (id == 0x0001 && p + 12 <= extra_end) return little_endian(b, p + 4, 8);
    p += 4 + length;
  }
  return size;
}

}  // namespace

void check_archive_member_sizes(const std::string& path) {
  // Only the end record and the central directory are read: LibTorch reads the whole file next.
  std::error_code ec;
  const uint64_t file_bytes = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) return;  // LibTorch's reader names the problem
  const uint64_t tail_bytes = std::min<uint64_t>(file_bytes, 65535 + kEndRecordSize);
  const std::string tail = bytes_at(in, file_bytes - tail_bytes, tail_bytes);
  const size_t end = end_record(tail);
  if (end == std::string::npos) return;  // not a zip archive: LibTorch says so
  const uint64_t entries = little_endian(tail, end + 10, 2);
  const uint64_t directory_bytes = little_endian(tail, end + 12, 4);
  const uint64_t directory_at = little_endian(tail, end + 16, 4);
  if (directory_at >= file_bytes) return;  // a damaged directory: LibTorch says so
  const std::string b = bytes_at(in, directory_at, std::min(directory_bytes, file_bytes));
  const uint64_t bound = limits::max_unzipped_bytes(file_bytes);
  size_t at = 0;
  for (uint64_t i = 0; i < entries && at + kCentralHeaderSize <= b.size(); ++i) {
    if (b.compare(at, 4, "PK\1\2") != 0) return;  // a damaged directory: LibTorch says so
    const size_t name_length = little_endian(b, at + 28, 2);
    const size_t extra_length = little_endian(b, at + 30, 2);
    const size_t comment_length = little_endian(b, at + 32, 2);
    const size_t name_at = at + kCentralHeaderSize;
    const size_t extra_at = name_at + name_length;
    const size_t next = extra_at + extra_length + comment_length;
    if (next > b.size()) return;
    const uint64_t size = claimed_size(b, at, extra_at, extra_at + extra_length);
    UNLEARN_CHECK_AS(FormatError, size <= bound, path, ": not a readable model file (member '",
                     b.substr(name_at, name_length), "' claims ", size, " bytes, more than the ",
                     file_bytes, "-byte file can hold)");
    at = next;
  }
}

}  // namespace unlearn::models_detail
