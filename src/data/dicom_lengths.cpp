#include "dicom_lengths.h"

#include <gdcmTransferSyntax.h>

#include <algorithm>
#include <cstdint>
#include <sstream>

namespace unlearn::dicom_detail {
namespace {

uint16_t u16(const std::string& b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8);
}
uint32_t u32(const std::string& b, size_t at) {
  return static_cast<uint32_t>(u16(b, at)) | static_cast<uint32_t>(u16(b, at + 2)) << 16;
}

/// VRs whose explicit encoding has 2 reserved bytes and a 32-bit length.
bool long_form(const std::string& vr) {
  static const char* kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* v : kLong) {
    if (vr == v) return true;
  }
  return false;
}

/// The value representations of DICOM PS3.5; GDCM asserts on any other in explicit VR.
bool known_vr(const std::string& vr) {
  static const char* kAll[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL",
                               "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
                               "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC",
                               "UI", "UL", "UN", "UR", "US", "UT", "UV"};
  for (const char* v : kAll) {
    if (vr == v) return true;
  }
  return false;
}

enum class Walk { kDone, kStopped };

constexpr uint32_t kUndefinedLength = 0xFFFFFFFFu;
constexpr uint16_t kItemGroup = 0xFFFE;
constexpr uint16_t kItem = 0xE000, kItemEnd = 0xE00D, kSequenceEnd = 0xE0DD;
// Deeper nesting is left to GDCM unchecked (real files nest a few levels).
constexpr int kMaxDepth = 32;

/// A walk over the elements of a file's bytes, in one byte order, descending into sequences
/// (and their items, of defined or undefined length) and encapsulated pixel data. It stops with
/// `problem` set at the first length that runs past the end of the file, and without complaint
/// where the structure is beyond it (left to GDCM).
class Walker {
 public:
  Walker(const std::string& bytes, bool big_endian) : b_(bytes), big_(big_endian) {}

  /// Walks elements from `at` up to `end` (the file's or an item's); `explicit_vr` chooses the
  /// encoding; `only_group` (if non-zero) ends the walk at the first element of another group.
  /// Returns at an item tag (FFFE,xxxx), leaving `at` on it. In the file meta group (0002)
  /// GDCM also asserts on a sequence and on an undefined length, so there those are problems.
  Walk elements(size_t& at, size_t end, bool explicit_vr, uint16_t only_group, int depth) {
    const bool meta = only_group == 0x0002;
    while (at + 8 <= end) {
      if (only_group != 0 && group(at) != only_group) return Walk::kDone;
      if (group(at) == kItemGroup) {
        if (depth > 0) return Walk::kDone;  // an item's end: the caller's
        // Outside any sequence only a stray sequence end (which some writers leave) is
        // tolerated; a fuzzed file with (FFFE,B1FF) here made GDCM allocate 1 GB.
        if (element(at) == kSequenceEnd && u32_at(at + 4) == 0) {
          at += 8;
          continue;
        }
        return stop(at, "item tag ", " is outside any sequence");
      }
      const std::string vr = explicit_vr ? b_.substr(at + 4, 2) : "";
      if (meta && vr == "SQ") return stop(at, "file meta element ", " is a sequence (SQ)");
      uint32_t length;
      size_t header = 8;
      if (explicit_vr) {
        if (!known_vr(vr)) {
          // GDCM asserts on this in the top-level data set; inside a sequence it reads some
          // vendors' implicit VR items within explicit VR files, so the walk just stops.
          if (depth > 0) return Walk::kStopped;
          return stop(at, "element ", " has no valid value representation");
        }
        if (long_form(vr)) {
          if (at + 12 > end) break;
          length = u32_at(at + 8);
          header = 12;
        } else {
          length = u16_at(at + 6);
        }
      } else {
        length = u32_at(at + 4);
      }
      const size_t value = at + header;
      if (length == kUndefinedLength) {
        if (meta) return stop(at, "file meta element ", " has an undefined length");
        // An undefined length opens a sequence, or encapsulated pixel data (fragments). Inside
        // UN it is implicit VR little endian, which this walk does not follow into.
        const bool pixels = group(at) == 0x7fe0 && element(at) == 0x0010;
        if (depth >= kMaxDepth || vr == "UN") return Walk::kStopped;
        at = value;
        if (items(at, b_.size(), explicit_vr, pixels, depth + 1) == Walk::kStopped) {
          return Walk::kStopped;
        }
        continue;
      }
      if (value + length > b_.size()) return too_long(at, "element ", header, length);
      if (vr == "SQ" && depth < kMaxDepth) {
        size_t inner = value;
        if (items(inner, value + length, explicit_vr, false, depth + 1) == Walk::kStopped) {
          return Walk::kStopped;
        }
      }
      at = value + length;
    }
    if (at < end && end == b_.size()) {  // fewer bytes left than an element header needs
      problem = "the file ends inside the header of an element at byte " + std::to_string(at);
      return Walk::kStopped;
    }
    return Walk::kDone;
  }

  /// Walks the items of a sequence (or the fragments of encapsulated pixel data) from `at` up to
  /// `end`, or to the sequence's end tag (FFFE,E0DD) when its length is undefined.
  Walk items(size_t& at, size_t end, bool explicit_vr, bool fragments, int depth) {
    while (at + 8 <= end) {
      // A sequence and encapsulated pixel data hold only items. On a fuzzed file with other
      // bytes after pixel data of undefined length, GDCM allocated 1.5 GB.
      if (group(at) != kItemGroup) return stop(at, "tag ", " is not an item (FFFE,E000)");
      const uint16_t tag = element(at);
      const uint32_t length = u32_at(at + 4);
      if (tag == kSequenceEnd) {
        at += 8;
        return Walk::kDone;
      }
      if (tag != kItem) return Walk::kStopped;
      const size_t value = at + 8;
      if (length == kUndefinedLength) {
        if (fragments) return Walk::kStopped;
        at = value;
        if (elements(at, b_.size(), explicit_vr, 0, depth) == Walk::kStopped) {
          return Walk::kStopped;
        }
        // The item ends at its end tag (FFFE,E00D); a file that ends first is left to GDCM.
        if (at + 8 > b_.size() || group(at) != kItemGroup || element(at) != kItemEnd) {
          return Walk::kStopped;
        }
        at += 8;
        continue;
      }
      if (value + length > b_.size()) return too_long(at, "item ", 8, length);
      if (!fragments) {
        size_t inner = value;
        if (elements(inner, value + length, explicit_vr, 0, depth) == Walk::kStopped) {
          return Walk::kStopped;
        }
      }
      at = value + length;
    }
    return Walk::kDone;
  }

  std::string problem;

 private:
  uint16_t u16_at(size_t at) const {
    const uint16_t v = u16(b_, at);
    return big_ ? static_cast<uint16_t>(v >> 8 | v << 8) : v;
  }
  uint32_t u32_at(size_t at) const {
    if (!big_) return u32(b_, at);
    return static_cast<uint32_t>(u16_at(at)) << 16 | u16_at(at + 2);
  }
  uint16_t group(size_t at) const { return u16_at(at); }
  uint16_t element(size_t at) const { return u16_at(at + 2); }

  std::string tag_at(size_t at) const {
    std::ostringstream s;
    s << std::hex << std::uppercase;
    s.width(4);
    s.fill('0');
    s << group(at) << ",";
    s.width(4);
    s << element(at);
    return "(" + s.str() + ")";
  }

  Walk stop(size_t at, const std::string& what, const std::string& why) {
    problem = what + tag_at(at) + " at byte " + std::to_string(at) + why;
    return Walk::kStopped;
  }

  Walk too_long(size_t at, const std::string& what, size_t header, uint32_t length) {
    return stop(at, what,
                " declares " + std::to_string(length) + " bytes, but the file ends after " +
                    std::to_string(b_.size() - at - header));
  }

  const std::string& b_;
  bool big_;
};

}  // namespace

std::string element_length_problem(const std::string& bytes) {
  // Part 10: a 128-byte preamble, "DICM", then the file meta group in explicit VR little
  // endian. Files without it are left to GDCM.
  if (bytes.size() < 132 || bytes.compare(128, 4, "DICM") != 0) return "";
  size_t at = 132;
  Walker meta(bytes, /*big_endian=*/false);
  if (meta.elements(at, bytes.size(), /*explicit_vr=*/true, /*only_group=*/0x0002, 0) ==
      Walk::kStopped) {
    return meta.problem;
  }
  // GDCM reads the tag after the meta group and asserts when the file has none.
  if (at + 4 > bytes.size()) {
    return "the file ends after its file meta information (0002,xxxx), with no data set";
  }
  // The transfer syntax UID sits in (0002,0010); read it by a second, short scan.
  std::string syntax;
  for (size_t p = 132; p + 8 <= at;) {
    const uint16_t length = u16(bytes, p + 6);
    const std::string vr = bytes.substr(p + 4, 2);
    if (long_form(vr)) {
      p += 12 + u32(bytes, p + 8);
      continue;
    }
    // GDCM keeps the first of repeated elements, so the first transfer syntax is the one read.
    if (u16(bytes, p) == 0x0002 && u16(bytes, p + 2) == 0x0010 && syntax.empty()) {
      // GDCM reads the UID as a C string, so whatever follows a NUL is not part of it.
      syntax = bytes.substr(p + 8, length);
      syntax.resize(std::min(syntax.size(), syntax.find('\0')));
      while (!syntax.empty() && syntax.back() == ' ') syntax.pop_back();
    }
    p += 8 + length;
  }
  bool explicit_vr = true;
  bool big_endian = false;
  if (syntax.empty()) {
    // No transfer syntax, or no file meta group at all: GDCM guesses the encoding from the first
    // element, as here, and asserted on a fuzzed file cut short in such a data set.
    explicit_vr = at + 6 <= bytes.size() && known_vr(bytes.substr(at + 4, 2));
  } else if (syntax == "1.2.840.10008.1.2") {
    explicit_vr = false;
  } else if (syntax.rfind("1.2.840.10008.1.2.4", 0) == 0 || syntax == "1.2.840.10008.1.2.1" ||
             syntax == "1.2.840.10008.1.2.5") {
    explicit_vr = true;  // explicit little endian, also around encapsulated pixel data
  } else if (syntax == "1.2.840.10008.1.2.2") {
    // Explicit big endian: a fuzzed 342-byte file with a 3.4 GB length here made GDCM allocate
    // and clear that much.
    big_endian = true;
  } else if (gdcm::TransferSyntax::GetTSType(syntax.c_str()) == gdcm::TransferSyntax::TS_END) {
    // GDCM guesses at such a file's encoding, and asserted on a fuzzed one.
    return "unknown transfer syntax UID '" + syntax + "' in (0002,0010)";
  } else {
    return "";  // deflated: the data set is compressed, not walked
  }
  Walker data_set(bytes, big_endian);
  data_set.elements(at, bytes.size(), explicit_vr, /*only_group=*/0, 0);
  return data_set.problem;
}

}  // namespace unlearn::dicom_detail
