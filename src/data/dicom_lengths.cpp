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

std::string tag_at(const std::string& b, size_t at) {
  std::ostringstream s;
  s << std::hex << std::uppercase;
  s.width(4);
  s.fill('0');
  s << u16(b, at) << ",";
  s.width(4);
  s << u16(b, at + 2);
  return "(" + s.str() + ")";
}

enum class Walk { kDone, kStopped };

/// Walks elements from `at`; `explicit_vr` chooses the encoding; `only_group` (if non-zero)
/// ends the walk at the first element of another group. Sets `problem` on a length past the end.
/// In the file meta group (0002) GDCM also asserts on a sequence and on an undefined length,
/// so there those are problems too.
Walk walk(const std::string& b, size_t& at, bool explicit_vr, uint16_t only_group,
          std::string& problem) {
  const size_t n = b.size();
  const bool meta = only_group == 0x0002;
  while (at + 8 <= n) {
    if (only_group != 0 && u16(b, at) != only_group) return Walk::kDone;
    if (meta && b.compare(at + 4, 2, "SQ") == 0) {
      problem = "file meta element " + tag_at(b, at) + " at byte " + std::to_string(at) +
                " is a sequence (SQ)";
      return Walk::kStopped;
    }
    uint64_t length;
    size_t header;
    if (explicit_vr) {
      const std::string vr = b.substr(at + 4, 2);
      if (!known_vr(vr)) {
        problem = "element " + tag_at(b, at) + " at byte " + std::to_string(at) +
                  " has no valid value representation";
        return Walk::kStopped;
      }
      if (long_form(vr)) {
        if (at + 12 > n) break;
        length = u32(b, at + 8);
        header = 12;
      } else {
        length = u16(b, at + 6);
        header = 8;
      }
    } else {
      length = u32(b, at + 4);
      header = 8;
    }
    if (length == 0xFFFFFFFFu) {
      if (meta) {
        problem = "file meta element " + tag_at(b, at) + " at byte " + std::to_string(at) +
                  " has an undefined length";
      }
      return Walk::kStopped;  // in the data set, undefined lengths are GDCM's business
    }
    if (at + header + length > n) {
      problem = "element " + tag_at(b, at) + " at byte " + std::to_string(at) + " declares " +
                std::to_string(length) + " bytes, but the file ends after " +
                std::to_string(n - at - header);
      return Walk::kStopped;
    }
    at += header + length;
  }
  if (at < n) {  // fewer bytes left than an element header needs
    problem = "the file ends inside the header of an element at byte " + std::to_string(at);
    return Walk::kStopped;
  }
  return Walk::kDone;
}

}  // namespace

std::string element_length_problem(const std::string& bytes) {
  // Part 10: a 128-byte preamble, "DICM", then the file meta group in explicit VR little
  // endian. Files without it are left to GDCM.
  if (bytes.size() < 132 || bytes.compare(128, 4, "DICM") != 0) return "";
  size_t at = 132;
  std::string problem;
  if (walk(bytes, at, /*explicit_vr=*/true, /*only_group=*/0x0002, problem) == Walk::kStopped) {
    return problem;
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
  bool explicit_vr;
  if (syntax.empty()) {
    // No transfer syntax, or no file meta group at all: GDCM guesses the encoding from the first
    // element, as here, and asserted on a fuzzed file cut short in such a data set.
    explicit_vr = at + 6 <= bytes.size() && known_vr(bytes.substr(at + 4, 2));
  } else if (syntax == "1.2.840.10008.1.2") {
    explicit_vr = false;
  } else if (syntax.rfind("1.2.840.10008.1.2.4", 0) == 0 || syntax == "1.2.840.10008.1.2.1" ||
             syntax == "1.2.840.10008.1.2.5") {
    explicit_vr = true;  // explicit little endian, also around encapsulated pixel data
  } else if (gdcm::TransferSyntax::GetTSType(syntax.c_str()) == gdcm::TransferSyntax::TS_END) {
    // GDCM guesses at such a file's encoding, and asserted on a fuzzed one.
    return "unknown transfer syntax UID '" + syntax + "' in (0002,0010)";
  } else {
    return "";  // big endian or deflated: not walked
  }
  walk(bytes, at, explicit_vr, /*only_group=*/0, problem);
  return problem;
}

}  // namespace unlearn::dicom_detail
