#include "unlearn/data/dicom.h"

#include <gdcmDataSet.h>
#include <gdcmDict.h>
#include <gdcmDicts.h>
#include <gdcmFile.h>
#include <gdcmGlobal.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmImageWriter.h>
#include <gdcmMediaStorage.h>
#include <gdcmTrace.h>
#include <gdcmUIDGenerator.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <utility>

#include "dicom_lengths.h"
#include "dicom_transfer.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/isolated_worker.h"
#include "unlearn/core/limits.h"
#include "unlearn/core/parse.h"
#include "unlearn/data/csv.h"
#include "unlearn/data/image_ops.h"
#include "unlearn/data/patient_hash.h"

namespace unlearn {

// Helpers live in a named namespace: the library is built in unity batches, where anonymous
// namespaces of different files share one translation unit.
namespace dicom_detail {
namespace {

namespace fs = std::filesystem;

const gdcm::Tag kPixelData(0x7fe0, 0x0010);
const gdcm::Tag kPhotometric(0x0028, 0x0004);
const gdcm::Tag kRows(0x0028, 0x0010);
const gdcm::Tag kColumns(0x0028, 0x0011);
const gdcm::Tag kNumberOfFrames(0x0028, 0x0008);
const gdcm::Tag kRescaleIntercept(0x0028, 0x1052);
const gdcm::Tag kRescaleSlope(0x0028, 0x1053);
const gdcm::Tag kModalityLutSequence(0x0028, 0x3000);
const gdcm::Tag kGridFrameOffsetVector(0x3004, 0x000c);
const gdcm::Tag kSopClassUid(0x0008, 0x0016);
const gdcm::Tag kSopInstanceUid(0x0008, 0x0018);
const gdcm::Tag kStudyInstanceUid(0x0020, 0x000d);
const gdcm::Tag kSeriesInstanceUid(0x0020, 0x000e);

struct KnownTag {
  const char* keyword;
  gdcm::Tag tag;
};

// The tags read_dicom_image reports, fixed here so reading needs no dictionary search.
const std::vector<KnownTag>& known_tags() {
  static const std::vector<KnownTag> tags = {
      {"Manufacturer", gdcm::Tag(0x0008, 0x0070)},
      {"ManufacturerModelName", gdcm::Tag(0x0008, 0x1090)},
      {"StationName", gdcm::Tag(0x0008, 0x1010)},
      {"InstitutionName", gdcm::Tag(0x0008, 0x0080)},
      {"BodyPartExamined", gdcm::Tag(0x0018, 0x0015)},
      {"Modality", gdcm::Tag(0x0008, 0x0060)},
      {"StudyDate", gdcm::Tag(0x0008, 0x0020)},
      {"PatientID", gdcm::Tag(0x0010, 0x0020)},
      {"SOPInstanceUID", kSopInstanceUid},
  };
  return tags;
}

/// GDCM reports recoverable oddities of many real files on stderr; our errors carry what
/// matters, so its chatter is switched off once for the process.
void quiet_gdcm() {
  static const bool done = [] {
    gdcm::Trace::DebugOff();
    gdcm::Trace::WarningOff();
    gdcm::Trace::ErrorOff();
    return true;
  }();
  (void)done;
}

/// DICOM pads values to even length with spaces (text) or NULs (UIDs); neither is content.
std::string trim(const std::string& s) {
  const auto pad = [](char c) {
    return c == ' ' || c == '\0' || c == '\t' || c == '\r' || c == '\n';
  };
  size_t end = s.size();
  while (end > 0 && pad(s[end - 1])) --end;
  size_t begin = 0;
  while (begin < end && pad(s[begin])) ++begin;
  return s.substr(begin, end - begin);
}

std::string tag_text(const gdcm::Tag& tag) {
  static const char* digits = "0123456789ABCDEF";
  std::string out = "(";
  for (int shift = 12; shift >= 0; shift -= 4) out += digits[(tag.GetGroup() >> shift) & 15];
  out += ",";
  for (int shift = 12; shift >= 0; shift -= 4) out += digits[(tag.GetElement() >> shift) & 15];
  return out + ")";
}

/// The trimmed text of `tag`, or nothing when the data set lacks it.
std::optional<std::string> text_value(const gdcm::DataSet& ds, const gdcm::Tag& tag) {
  if (!ds.FindDataElement(tag)) return std::nullopt;
  const gdcm::ByteValue* bv = ds.GetDataElement(tag).GetByteValue();
  if (bv == nullptr) return std::string();
  return trim(std::string(bv->GetPointer(), bv->GetLength()));
}

bool supported_photometric(const std::string& pi) {
  for (const char* ok : {"MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR", "YBR_FULL",
                         "YBR_FULL_422", "YBR_RCT", "YBR_ICT"}) {
    if (pi == ok) return true;
  }
  return false;
}

std::string unsupported_photometric(const std::string& pi) {
  return "Photometric Interpretation " + tag_text(kPhotometric) + " " + pi +
         " is not supported (expected MONOCHROME1, MONOCHROME2, RGB, PALETTE COLOR, YBR_FULL, "
         "YBR_FULL_422, YBR_RCT or YBR_ICT)";
}

/// An ImageReader that looks at the parsed data set before GDCM builds the image from it:
/// Debian's GDCM keeps its assert()s, and some malformed files abort the process inside
/// ImageHelper instead of failing. Known cases are refused here with a reason.
class CheckedImageReader : public gdcm::ImageReader {
 public:
  const std::string& refusal() const { return refusal_; }
  /// True for PALETTE COLOR files, whose image holds the palette indices.
  bool palette() const { return palette_; }

 protected:
  bool ReadImage(const gdcm::MediaStorage& ms) override {
    if (!check()) return false;
    if (!palette_) return gdcm::ImageReader::ReadImage(ms);
    // GDCM's palette support asserts on segmented tables with 8-bit pixels and keeps only the
    // high byte of 16-bit entries; we apply the tables ourselves, so GDCM reads the indices as
    // a grey image.
    gdcm::DataSet& ds = GetFile().GetDataSet();
    const gdcm::DataElement original = ds.GetDataElement(kPhotometric);
    gdcm::DataElement grey(kPhotometric);
    grey.SetVR(gdcm::VR::CS);
    grey.SetByteValue("MONOCHROME2 ", 12);
    ds.Replace(grey);
    const bool ok = gdcm::ImageReader::ReadImage(ms);
    ds.Replace(original);
    return ok;
  }
  bool ReadACRNEMAImage() override {
    if (!check()) return false;
    return gdcm::ImageReader::ReadACRNEMAImage();
  }

 private:
  bool check() {
    const gdcm::DataSet& ds = GetFile().GetDataSet();
    const std::string pi = text_value(ds, kPhotometric).value_or("");
    palette_ = pi == "PALETTE COLOR";
    if (!ds.FindDataElement(kPixelData)) {
      refusal_ = "no pixel data " + tag_text(kPixelData);
    } else if (!ds.FindDataElement(kRows) || !ds.FindDataElement(kColumns)) {
      refusal_ = "no Rows " + tag_text(kRows) + " or Columns " + tag_text(kColumns);
    } else if (!pi.empty() && !supported_photometric(pi)) {
      // Checked before GDCM decodes: its raw codec asserts on YBR_PARTIAL_422, for one.
      refusal_ = unsupported_photometric(pi);
    } else if (ds.FindDataElement(kGridFrameOffsetVector) &&
               !ds.GetDataElement(kGridFrameOffsetVector).IsEmpty() &&
               !ds.FindDataElement(kNumberOfFrames)) {
      // RT Dose without Number of Frames: GDCM 3.0 asserts while computing the z spacing.
      refusal_ = "Grid Frame Offset Vector " + tag_text(kGridFrameOffsetVector) +
                 " without Number of Frames " + tag_text(kNumberOfFrames);
    }
    return refusal_.empty();
  }

  std::string refusal_;
  bool palette_ = false;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw FormatError(detail::concat("read_dicom_image: ", path, ": ", what));
}

/// A Decimal String value (the first of several), for Rescale Slope and Intercept.
double decimal_value(const gdcm::DataSet& ds, const gdcm::Tag& tag, const char* name,
                     const std::string& path) {
  std::string text = text_value(ds, tag).value_or("");
  text = trim(text.substr(0, text.find('\\')));
  const std::optional<double> value = parse_real(text);
  if (!value) fail(path, detail::concat(name, " ", tag_text(tag), " '", text, "' is not a number"));
  return *value;
}

template <typename T>
void widen(const char* data, int64_t n, double* out) {
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, data + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

/// 32-bit samples whose 16-bit halves are swapped, as GDCM 3.0 leaves uncompressed 32-bit
/// data of big-endian files (it byte-swaps them as 16-bit words).
template <typename T>
void widen_swapped_halves(const char* data, int64_t n, double* out) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t v;
    std::memcpy(&v, data + 4 * i, 4);
    v = (v << 16) | (v >> 16);
    T t;
    std::memcpy(&t, &v, 4);
    out[i] = static_cast<double>(t);
  }
}

/// `n` decoded samples of GDCM's buffer as doubles, in buffer order.
torch::Tensor samples_as_double(const std::vector<char>& buffer, const gdcm::PixelFormat& pf,
                                int64_t n, bool swap_halves, const std::string& path) {
  torch::Tensor out = torch::empty({n}, torch::kFloat64);
  double* p = out.data_ptr<double>();
  const char* data = buffer.data();
  const auto need = [&](int64_t bytes) {
    if (static_cast<int64_t>(buffer.size()) < bytes) {
      fail(path, detail::concat("pixel data " + tag_text(kPixelData) + " decodes to ",
                                buffer.size(), " bytes but the header needs ", bytes));
    }
  };
  switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::SINGLEBIT:
      // Bits are packed, the first pixel in the least significant bit (PS3.5 D.2).
      need((n + 7) / 8);
      for (int64_t i = 0; i < n; ++i) {
        p[i] = (static_cast<unsigned char>(data[i / 8]) >> (i % 8)) & 1;
      }
      break;
    case gdcm::PixelFormat::UINT8:
      need(n);
      widen<uint8_t>(data, n, p);
      break;
    case gdcm::PixelFormat::INT8:
      need(n);
      widen<int8_t>(data, n, p);
      break;
    case gdcm::PixelFormat::UINT16:
      need(2 * n);
      widen<uint16_t>(data, n, p);
      break;
    case gdcm::PixelFormat::INT16:
      need(2 * n);
      widen<int16_t>(data, n, p);
      break;
    case gdcm::PixelFormat::UINT32:
      need(4 * n);
      swap_halves ? widen_swapped_halves<uint32_t>(data, n, p) : widen<uint32_t>(data, n, p);
      break;
    case gdcm::PixelFormat::INT32:
      need(4 * n);
      swap_halves ? widen_swapped_halves<int32_t>(data, n, p) : widen<int32_t>(data, n, p);
      break;
    default:
      fail(path,
           detail::concat("Bits Allocated (0028,0100) ", pf.GetBitsAllocated(),
                          " with Pixel Representation (0028,0103) ", pf.GetPixelRepresentation(),
                          " is not supported (expected 1, 8, 16 or 32 bits)"));
  }
  return out;
}

/// YBR_FULL to RGB exactly as pydicom's convert_color_space: float32 arithmetic in the same
/// order, round half up, clip to 0..255. `ybr` is F×3×H×W holding 0..255.
torch::Tensor ybr_full_to_rgb(const torch::Tensor& ybr) {
  const float cb_g = static_cast<float>(-0.114 * 1.772 / 0.587);
  const float cr_g = static_cast<float>(-0.299 * 1.402 / 0.587);
  const float cr_r = 1.402F;
  const float cb_b = 1.772F;
  torch::Tensor src = ybr.contiguous();
  torch::Tensor out = torch::empty_like(src);
  const int64_t frames = src.size(0);
  const int64_t plane = src.size(2) * src.size(3);
  const double* in = src.data_ptr<double>();
  double* o = out.data_ptr<double>();
  const auto round_clip = [](float v) {
    return static_cast<double>(std::clamp(std::floor(v + 0.5F), 0.0F, 255.0F));
  };
  for (int64_t f = 0; f < frames; ++f) {
    const double* y = in + f * 3 * plane;
    double* rgb = o + f * 3 * plane;
    for (int64_t i = 0; i < plane; ++i) {
      const auto yy = static_cast<float>(y[i]);
      const float cb = static_cast<float>(y[plane + i]) - 128.0F;
      const float cr = static_cast<float>(y[2 * plane + i]) - 128.0F;
      // The matrix product sums y*1 + cb*m1 + cr*m2 per output channel, left to right.
      rgb[i] = round_clip(yy + cb * 0.0F + cr * cr_r);
      rgb[plane + i] = round_clip(yy + cb * cb_g + cr * cr_g);
      rgb[2 * plane + i] = round_clip(yy + cb * cb_b + cr * 0.0F);
    }
  }
  return out;
}

/// Expands Segmented Palette Color Lookup Table Data (PS3.3 C.7.9.2) as pydicom's
/// _expand_segmented_lut does: discrete, linear and indirect segments of 8- or 16-bit words,
/// read from words[offset, end), at most `count` segments (0 = all), appended to `lut`.
void expand_segments(const std::vector<int64_t>& words, bool eight_bit, size_t offset, size_t end,
                     int64_t count, std::vector<double>& lut, const std::string& where) {
  int64_t read = 0;
  while (offset + 1 < end) {
    const size_t start = offset;
    const int64_t opcode = words[offset];
    const auto length = static_cast<size_t>(words[offset + 1]);
    offset += 2;
    if (opcode == 0) {  // discrete: `length` values follow
      UNLEARN_CHECK_AS(FormatError, offset + length <= end, where, ": a discrete segment at word ",
                       start, " runs past the end");
      for (size_t i = 0; i < length; ++i) lut.push_back(static_cast<double>(words[offset + i]));
      offset += length;
    } else if (opcode == 1) {  // linear: from the last value to y1 in `length` steps
      UNLEARN_CHECK_AS(FormatError, !lut.empty() && offset < end && length > 0, where,
                       ": the linear segment at word ", start, " has no value before it");
      const double y0 = lut.back();
      const auto y1 = static_cast<double>(words[offset++]);
      // numpy.around(numpy.linspace(y0 + step, y1, length)): round half to even.
      const double first = y0 + (y1 - y0) / static_cast<double>(length);
      const double step = length > 1 ? (y1 - first) / static_cast<double>(length - 1) : 0.0;
      for (size_t i = 0; i < length; ++i) {
        lut.push_back(i + 1 == length ? y1 : std::nearbyint(first + static_cast<double>(i) * step));
      }
    } else if (opcode == 2) {  // indirect: `length` segments found earlier in the data
      const size_t width = eight_bit ? 4 : 2;
      UNLEARN_CHECK_AS(FormatError, !lut.empty() && offset + width <= end, where,
                       ": the indirect segment at word ", start, " has no value before it");
      size_t target = 0;
      if (eight_bit) {  // a 32-bit byte offset stored as two little-endian 16-bit halves
        target = static_cast<size_t>(((words[offset + 3] << 8 | words[offset + 2]) << 16) |
                                     (words[offset + 1] << 8 | words[offset]));
      } else {
        target = static_cast<size_t>(words[offset + 1] << 16 | words[offset]);
      }
      offset += width;
      // Only segments before this one may be reused, which also rules out endless loops.
      UNLEARN_CHECK_AS(FormatError, target < start && length > 0, where,
                       ": the indirect segment at word ", start, " does not point back");
      expand_segments(words, eight_bit, target, start, static_cast<int64_t>(length), lut, where);
    } else {
      throw FormatError(
          detail::concat(where, ": unknown segment type ", opcode, " at word ", start));
    }
    if (++read == count) return;
  }
}

/// F×1×H×W palette indices to F×3×H×W colours, as pydicom's apply_color_lut: entries keep
/// their bit depth; indices below the first mapped value take the first entry, indices past
/// the end the last.
/// One channel's palette lookup table, and the entry count and first mapped value its
/// descriptor gives.
struct PaletteTable {
  std::vector<double> values;
  int64_t entries = 0;
  int64_t first = 0;
};

/// The table's entries from its Data element: 16-bit or 8-bit, as the data's length shows.
std::vector<double> plain_palette(const gdcm::ByteValue& data, int64_t n, const std::string& name,
                                  const gdcm::Tag& tag, const std::string& path) {
  std::vector<double> table;
  const size_t bytes = data.GetLength();
  const char* p = data.GetPointer();
  // The entry size follows the data's length, as in pydicom (descriptors often say 16).
  if (bytes >= static_cast<size_t>(2 * n)) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      table.push_back(v);
    }
  } else if (bytes >= static_cast<size_t>(n)) {
    for (int64_t i = 0; i < n; ++i) table.push_back(static_cast<unsigned char>(p[i]));
  } else {
    fail(path, detail::concat(name, "Data ", tag_text(tag), " has ", bytes, " bytes for ", n,
                              " entries"));
  }
  return table;
}

/// The table's entries from its Segmented Data element, expanded; at least `entries` of them.
std::vector<double> segmented_palette(const gdcm::ByteValue& data, bool bits8, int64_t entries,
                                      const std::string& name, const gdcm::Tag& tag,
                                      const std::string& path) {
  std::vector<int64_t> words;
  const char* p = data.GetPointer();
  if (bits8) {
    for (size_t i = 0; i < data.GetLength(); ++i) words.push_back(static_cast<unsigned char>(p[i]));
  } else {
    for (size_t i = 0; i + 1 < data.GetLength(); i += 2) {
      uint16_t v;
      std::memcpy(&v, p + i, 2);
      words.push_back(v);
    }
  }
  const std::string where =
      detail::concat("read_dicom_image: ", path, ": Segmented ", name, "Data ", tag_text(tag));
  std::vector<double> table;
  expand_segments(words, bits8, 0, words.size(), 0, table, where);
  UNLEARN_CHECK_AS(FormatError, static_cast<int64_t>(table.size()) >= entries, where,
                   " expands to ", table.size(), " entries, fewer than the ", entries,
                   " its descriptor gives");
  return table;
}

/// Channel `c`'s table (0 red, 1 green, 2 blue). `entries` is the red table's count, which a
/// segmented table must reach (-1 for the red table itself).
PaletteTable read_palette_table(const gdcm::DataSet& ds, uint16_t c, int64_t entries,
                                const std::string& path) {
  static const char* colours[] = {"Red", "Green", "Blue"};
  const gdcm::Tag descriptor_tag(0x0028, static_cast<uint16_t>(0x1101 + c));
  const gdcm::Tag data_tag(0x0028, static_cast<uint16_t>(0x1201 + c));
  const gdcm::Tag segmented_tag(0x0028, static_cast<uint16_t>(0x1221 + c));
  const std::string name = std::string(colours[c]) + " Palette Color Lookup Table ";
  const gdcm::ByteValue* descriptor = ds.FindDataElement(descriptor_tag)
                                          ? ds.GetDataElement(descriptor_tag).GetByteValue()
                                          : nullptr;
  if (descriptor == nullptr || descriptor->GetLength() < 6) {
    fail(path, "PALETTE COLOR without a " + name + "Descriptor " + tag_text(descriptor_tag));
  }
  // GDCM holds binary values in host (little-endian) order whatever the transfer syntax.
  uint16_t d[3];
  std::memcpy(d, descriptor->GetPointer(), sizeof d);
  PaletteTable out;
  out.entries = d[0] == 0 ? 65536 : d[0];
  out.first = ds.GetDataElement(descriptor_tag).GetVR() == gdcm::VR::SS
                  ? static_cast<int16_t>(d[1])
                  : static_cast<int64_t>(d[1]);
  const auto bytes_of = [&](const gdcm::Tag& tag) -> const gdcm::ByteValue* {
    return ds.FindDataElement(tag) ? ds.GetDataElement(tag).GetByteValue() : nullptr;
  };
  if (const gdcm::ByteValue* data = bytes_of(data_tag)) {
    out.values = plain_palette(*data, out.entries, name, data_tag, path);
  } else if (const gdcm::ByteValue* segmented = bytes_of(segmented_tag)) {
    out.values = segmented_palette(*segmented, d[2] == 8, entries < 0 ? out.entries : entries, name,
                                   segmented_tag, path);
  } else {
    fail(path, "PALETTE COLOR without " + name + "Data " + tag_text(data_tag));
  }
  return out;
}

torch::Tensor apply_palette(const gdcm::DataSet& ds, const torch::Tensor& indices,
                            const std::string& path) {
  std::vector<std::vector<double>> tables;
  int64_t entries = -1;
  int64_t first = 0;
  for (uint16_t c = 0; c < 3; ++c) {
    PaletteTable table = read_palette_table(ds, c, entries, path);
    if (c == 0) {
      entries = table.entries;
      first = table.first;
    }
    UNLEARN_CHECK_AS(FormatError, static_cast<int64_t>(table.values.size()) >= entries,
                     "read_dicom_image: ", path, ": the palette tables differ in length");
    tables.push_back(std::move(table.values));
  }

  const torch::Tensor idx = indices.contiguous();
  const int64_t frames = idx.size(0);
  const int64_t plane = idx.size(2) * idx.size(3);
  torch::Tensor out = torch::empty({frames, 3, idx.size(2), idx.size(3)}, torch::kFloat64);
  const double* in = idx.data_ptr<double>();
  double* o = out.data_ptr<double>();
  for (int64_t f = 0; f < frames; ++f) {
    for (int64_t i = 0; i < plane; ++i) {
      const auto v = static_cast<int64_t>(in[f * plane + i]);
      const int64_t k = std::clamp<int64_t>(v >= first ? v - first : 0, 0, entries - 1);
      for (int64_t c = 0; c < 3; ++c) {
        o[(f * 3 + c) * plane + i] = tables[static_cast<size_t>(c)][static_cast<size_t>(k)];
      }
    }
  }
  return out;
}

/// Reads the first `n` bytes of `path`; fewer when the file is shorter.
std::string head_bytes(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(n, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  bytes.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return bytes;
}

const std::vector<std::string>& tag_keywords() {
  static const std::vector<std::string> keywords = [] {
    std::vector<std::string> out;
    for (const KnownTag& t : known_tags()) out.emplace_back(t.keyword);
    return out;
  }();
  return keywords;
}

bool is_dicom(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  const std::string head = head_bytes(path, 132);
  return head.size() == 132 && head.compare(128, 4, "DICM") == 0;
}

/// Refuses what GDCM cannot be trusted with: a folder, an unreadable file, and element lengths
/// past the end of the file (on some of those GDCM aborts the process).
void probe_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw IoError(detail::concat("read_dicom_image: cannot open ", path, ": it is a directory"));
  }
  errno = 0;
  std::ifstream probe(path, std::ios::binary);
  if (!probe) {
    throw IoError(detail::concat("read_dicom_image: cannot open ", path, ": ",
                                 errno != 0 ? std::strerror(errno) : "unknown error"));
  }
  const std::string bytes((std::istreambuf_iterator<char>(probe)),
                          std::istreambuf_iterator<char>());
  if (const std::string problem = element_length_problem(bytes); !problem.empty()) {
    fail(path, "malformed: " + problem);
  }
}

/// Why GDCM could not read `path` as an image, as precisely as the data set tells.
[[noreturn]] void read_failure(const CheckedImageReader& reader, const gdcm::DataSet& ds,
                               const std::string& path) {
  if (!reader.refusal().empty()) fail(path, reader.refusal());
  if (ds.IsEmpty()) fail(path, "not a DICOM file (GDCM cannot parse it)");
  if (!ds.FindDataElement(kPixelData)) fail(path, "no pixel data " + tag_text(kPixelData));
  fail(path, "GDCM cannot make an image of this file (its pixel module is incomplete)");
}

/// How the decoded samples are to be read as colours.
struct ColourModel {
  bool palette = false, mono = false, ybr = false, rgb = false;
};

/// The colour model of a decoded image, refusing what is not supported. `declared` is the
/// file's own Photometric Interpretation text, for the message.
ColourModel colour_model(const gdcm::Image& image, bool palette, const std::string& declared,
                         const std::string& path) {
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  const int64_t samples = pf.GetSamplesPerPixel();
  const gdcm::PhotometricInterpretation pi = image.GetPhotometricInterpretation();
  const std::string pi_name = trim(gdcm::PhotometricInterpretation::GetPIString(pi));
  ColourModel m;
  m.palette = palette;
  m.mono = !palette && (pi == gdcm::PhotometricInterpretation::MONOCHROME1 ||
                        pi == gdcm::PhotometricInterpretation::MONOCHROME2);
  m.ybr = pi == gdcm::PhotometricInterpretation::YBR_FULL ||
          pi == gdcm::PhotometricInterpretation::YBR_FULL_422;
  // In JPEG 2000 the component transform is part of the code stream: the decoder has
  // already undone it, so YBR_RCT and YBR_ICT data arrive as RGB.
  m.rgb = pi == gdcm::PhotometricInterpretation::RGB ||
          pi == gdcm::PhotometricInterpretation::YBR_RCT ||
          pi == gdcm::PhotometricInterpretation::YBR_ICT;
  if (!m.mono && !m.palette && !m.ybr && !m.rgb) {
    fail(path, unsupported_photometric(pi_name.empty() ? declared : pi_name));
  }
  UNLEARN_CHECK_AS(FormatError,
                   ((m.mono || m.palette) && samples == 1) || ((m.ybr || m.rgb) && samples == 3),
                   "read_dicom_image: ", path, ": Photometric Interpretation (0028,0004) ", pi_name,
                   " with Samples per Pixel (0028,0002) ", samples);
  if (m.ybr && pf.GetBitsAllocated() != 8) {
    fail(path, detail::concat("Photometric Interpretation (0028,0004) ", pi_name, " with Bits ",
                              "Allocated (0028,0100) ", pf.GetBitsAllocated(),
                              " is not supported (expected 8)"));
  }
  return m;
}

/// The decoded pixel buffer of an image and its shape.
struct DecodedPixels {
  std::vector<char> buffer;
  int64_t frames = 0, height = 0, width = 0, samples = 0;
};

DecodedPixels decode(const gdcm::Image& image, const std::string& path) {
  DecodedPixels out;
  const unsigned int* dims = image.GetDimensions();
  out.width = dims[0];
  out.height = dims[1];
  out.frames = image.GetNumberOfDimensions() > 2 ? dims[2] : 1;
  // Refused before GDCM allocates: a few bytes of header may claim terabytes of pixels.
  limits::check_image_pixels(out.height, out.width, "read_dicom_image: " + path);
  const int64_t per_frame =
      out.height * out.width * std::max<int64_t>(image.GetPixelFormat().GetSamplesPerPixel(), 1);
  UNLEARN_CHECK_AS(FormatError,
                   out.frames <= limits::kMaxDicomValues / std::max<int64_t>(per_frame, 1),
                   "read_dicom_image: ", path, ": ", out.frames, " frames of ", out.width, "x",
                   out.height, " pixels, more than the limit of ", limits::kMaxDicomValues,
                   " pixel values per DICOM object");
  // GDCM zero-pads uncompressed pixel data that ends early, so a few hundred bytes could
  // become gigabytes of zeros; pydicom refuses such files, and so do we. (Packed 12-bit data,
  // which is shorter than its buffer, is refused later as unsupported.)
  const gdcm::ByteValue* raw = image.GetDataElement().GetByteValue();
  const unsigned short bits = image.GetPixelFormat().GetBitsAllocated();
  if (!image.GetTransferSyntax().IsEncapsulated() && raw != nullptr &&
      (bits == 1 || bits == 8 || bits == 16 || bits == 32)) {
    uint64_t stored = image.GetBufferLength();
    // 4:2:2 data stores two chroma samples per two pixels, which GDCM expands to six.
    if (image.GetPhotometricInterpretation() == gdcm::PhotometricInterpretation::YBR_FULL_422) {
      stored = stored / 3 * 2;
    }
    if (raw->GetLength() < stored) {
      fail(path, detail::concat("pixel data ", tag_text(kPixelData), " holds ", raw->GetLength(),
                                " bytes but Rows, Columns, frames, Samples per Pixel, Bits "
                                "Allocated and Photometric Interpretation need ",
                                stored, " (the file is probably truncated)"));
    }
  }
  out.buffer.resize(image.GetBufferLength());
  if (!image.GetBuffer(out.buffer.data())) {
    const gdcm::TransferSyntax& ts = image.GetTransferSyntax();
    fail(path,
         detail::concat("cannot decode the pixel data ", tag_text(kPixelData), " (transfer syntax ",
                        trim(ts.GetString() ? ts.GetString() : "?"), ")"));
  }
  // Decoding may correct the pixel format, planar configuration and photometric
  // interpretation GDCM reports, so they are read only now.
  out.samples = image.GetPixelFormat().GetSamplesPerPixel();
  UNLEARN_CHECK_AS(FormatError, out.samples == 1 || out.samples == 3, "read_dicom_image: ", path,
                   ": Samples per Pixel (0028,0002) ", out.samples,
                   " is not supported (expected 1 or 3)");
  UNLEARN_CHECK_AS(FormatError, out.width > 0 && out.height > 0 && out.frames > 0,
                   "read_dicom_image: ", path, ": empty image (Rows (0028,0010) ", out.height,
                   ", Columns (0028,0011) ", out.width, ", frames ", out.frames, ")");
  return out;
}

/// The decoded samples as F×C×H×W doubles (the buffer is released).
torch::Tensor as_samples(DecodedPixels& d, const gdcm::Image& image, bool big_endian,
                         const std::string& path) {
  torch::Tensor values =
      samples_as_double(d.buffer, image.GetPixelFormat(), d.frames * d.height * d.width * d.samples,
                        big_endian, path);
  d.buffer = {};
  if (d.samples == 3 && image.GetPlanarConfiguration() == 1) {
    return values.view({d.frames, 3, d.height, d.width}).contiguous();
  }
  return values.view({d.frames, d.height, d.width, d.samples}).permute({0, 3, 1, 2}).contiguous();
}

/// read_image in this process, or nullopt for a DICOM object without pixel data (a report, an RT
/// structure set, a DICOMDIR), whose Modality goes to `modality`.
std::optional<DicomImage> read_here(const std::string& path, std::string& modality) {
  quiet_gdcm();
  probe_file(path);
  CheckedImageReader reader;
  reader.SetFileName(path.c_str());
  const bool read_ok = reader.Read();
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  if (!read_ok && reader.refusal().empty() && !ds.IsEmpty() && !ds.FindDataElement(kPixelData)) {
    modality = text_value(ds, gdcm::Tag(0x0008, 0x0060)).value_or("");
    return std::nullopt;
  }
  if (!read_ok) read_failure(reader, ds, path);
  if (ds.FindDataElement(kModalityLutSequence)) {
    fail(path, "Modality LUT Sequence " + tag_text(kModalityLutSequence) +
                   " is not supported (only Rescale Slope/Intercept)");
  }

  DicomImage out;
  out.photometric = text_value(ds, kPhotometric).value_or("");
  for (const KnownTag& t : known_tags()) {
    if (std::optional<std::string> v = text_value(ds, t.tag)) out.tags[t.keyword] = *v;
  }
  const gdcm::Image& image = reader.GetImage();
  const bool big_endian = reader.GetFile().GetHeader().GetDataSetTransferSyntax() ==
                          gdcm::TransferSyntax::ExplicitVRBigEndian;
  DecodedPixels decoded = decode(image, path);
  const ColourModel colours = colour_model(image, reader.palette(), out.photometric, path);
  torch::Tensor values = as_samples(decoded, image, big_endian, path);
  if (colours.ybr) values = ybr_full_to_rgb(values);
  if (colours.palette) values = apply_palette(ds, values, path);
  // The modality LUT maps stored values to physical ones (Hounsfield units for CT); pydicom
  // applies it only when both Rescale attributes are present, and so do we.
  if (colours.mono && ds.FindDataElement(kRescaleSlope) && ds.FindDataElement(kRescaleIntercept)) {
    const double slope = decimal_value(ds, kRescaleSlope, "Rescale Slope", path);
    const double intercept = decimal_value(ds, kRescaleIntercept, "Rescale Intercept", path);
    if (slope != 1.0) values.mul_(slope);
    if (intercept != 0.0) values.add_(intercept);
  }
  out.pixels = std::move(values);
  return out;
}

/// The worker process that runs GDCM for this one. Debian's GDCM is built with assertions, and
/// checks made before it reads a file (probe_file) cannot foresee every one that aborts; in the
/// worker an abort ends only the worker. It keeps LibTorch to one thread: a forked process has
/// none of its parent's thread pools.
IsolatedWorker& reader_worker() {
  static IsolatedWorker worker(
      [](const std::string& path) {
        std::string modality;
        const std::optional<DicomImage> image = read_here(path, modality);
        return encode_read(image, modality);
      },
      [] { at::set_num_threads(1); });
  return worker;
}

/// UNLEARN_DICOM_IN_PROCESS=1 reads in this process (to debug GDCM itself).
bool in_process_by_request() {
  const char* value = std::getenv("UNLEARN_DICOM_IN_PROCESS");
  return value != nullptr && std::string(value) == "1";
}

/// The image in `path`, or nullopt for an object without pixel data, whose Modality goes to
/// `modality`; read where `isolation` says.
std::optional<DicomImage> read_image_if_image(const std::string& path, std::string& modality,
                                              DicomIsolation isolation) {
  if (isolation == DicomIsolation::this_process || in_process_by_request()) {
    return read_here(path, modality);
  }
  try {
    return decode_read(reader_worker().ask(path), modality);
  } catch (const WorkerDied& died) {
    fail(path,
         detail::concat("GDCM could not read it (the file is probably malformed): ", died.what()));
  }
}

DicomImage read_image(const std::string& path, DicomIsolation isolation) {
  std::string modality;
  std::optional<DicomImage> image = read_image_if_image(path, modality, isolation);
  if (!image) fail(path, "no pixel data " + tag_text(kPixelData));
  return std::move(*image);
}

torch::Tensor display(const DicomImage& image) {
  UNLEARN_CHECK(image.pixels.defined() && image.pixels.dim() == 4,
                "display_uint8: expected F×C×H×W pixels");
  torch::Tensor v = image.pixels.to(torch::kFloat64);
  if (v.numel() == 0) return torch::zeros(v.sizes(), torch::kUInt8);
  const bool mono1 = image.photometric == "MONOCHROME1";
  // 8-bit data (integers in 0..255) is kept as stored: stretching each image to its own range
  // would change the contrast between images, and a PNG export of the same data would differ.
  if (v.min().item<double>() >= 0 && v.max().item<double>() <= 255 &&
      v.eq(v.round()).all().item<bool>()) {
    return (mono1 ? 255.0 - v : v).to(torch::kUInt8).contiguous();
  }
  // MONOCHROME1 stores dense tissue dark; inverting makes bright mean dense, as in MONOCHROME2.
  if (mono1) v = v.neg();
  const double lo = v.min().item<double>();
  const double hi = v.max().item<double>();
  if (!(hi > lo)) return torch::zeros(v.sizes(), torch::kUInt8);
  // Multiply before dividing, so that exact halves stay exact (100 of 200 → 127.5).
  return ((v - lo) * 255.0 / (hi - lo)).round().clamp(0, 255).to(torch::kUInt8).contiguous();
}

/// The text attributes `tags` (keyword -> value) as data elements; `given` receives their tags.
/// Throws InvalidArgument for an unknown keyword, a non-text attribute, or one the writer sets.
std::vector<gdcm::DataElement> text_elements(const std::map<std::string, std::string>& tags,
                                             std::set<gdcm::Tag>& given) {
  const gdcm::Dict& dict = gdcm::Global::GetInstance().GetDicts().GetPublicDict();
  std::vector<gdcm::DataElement> elements;
  for (const auto& [keyword, value] : tags) {
    gdcm::Tag tag;
    const gdcm::DictEntry& entry = dict.GetDictEntryByKeyword(keyword.c_str(), tag);
    UNLEARN_CHECK(tag != gdcm::Tag(0xffff, 0xffff) && !keyword.empty(),
                  "write_dicom_image: unknown DICOM keyword '", keyword, "'");
    const gdcm::VR vr = entry.GetVR();
    UNLEARN_CHECK(gdcm::VR::IsASCII(vr), "write_dicom_image: ", keyword, " ", tag_text(tag),
                  " has VR ", gdcm::VR::GetVRString(vr), "; only text attributes can be set");
    UNLEARN_CHECK(tag.GetGroup() != 0x0002 && tag.GetGroup() != 0x0028 && tag != kSopClassUid &&
                      tag.GetGroup() != 0x7fe0,
                  "write_dicom_image: ", keyword, " ", tag_text(tag),
                  " is set by write_dicom_image itself");
    // Values have even length: UIDs are padded with a NUL, other text with a space.
    std::string padded = value;
    if (padded.size() % 2 == 1) padded += (vr == gdcm::VR::UI ? '\0' : ' ');
    gdcm::DataElement de(tag);
    de.SetVR(vr);
    de.SetByteValue(padded.data(), static_cast<uint32_t>(padded.size()));
    elements.push_back(de);
    given.insert(tag);
  }
  return elements;
}

/// The SOP class (Secondary Capture), fresh instance, study and series UIDs and empty study date
/// and time, each unless `given`.
void put_identity(gdcm::DataSet& ds, const std::set<gdcm::Tag>& given) {
  const auto put_uid = [&](const gdcm::Tag& tag, std::string uid) {
    if (uid.size() % 2 == 1) uid += '\0';
    gdcm::DataElement de(tag);
    de.SetVR(gdcm::VR::UI);
    de.SetByteValue(uid.data(), static_cast<uint32_t>(uid.size()));
    ds.Replace(de);
  };
  put_uid(kSopClassUid,
          gdcm::MediaStorage::GetMSString(gdcm::MediaStorage::SecondaryCaptureImageStorage));
  gdcm::UIDGenerator uids;
  for (const gdcm::Tag& tag : {kSopInstanceUid, kStudyInstanceUid, kSeriesInstanceUid}) {
    if (given.count(tag) == 0) put_uid(tag, uids.Generate());
  }
  // Left out, GDCM would date the study today; an empty value (allowed: Type 2) keeps the
  // file's content a function of the arguments, UIDs aside.
  for (const gdcm::Tag& tag : {gdcm::Tag(0x0008, 0x0020), gdcm::Tag(0x0008, 0x0030)}) {
    if (given.count(tag) == 0) {
      gdcm::DataElement empty(tag);
      empty.SetVR(tag.GetElement() == 0x0020 ? gdcm::VR::DA : gdcm::VR::TM);
      ds.Replace(empty);
    }
  }
}

void write_image(const std::string& path, const torch::Tensor& image,
                 const std::map<std::string, std::string>& tags) {
  UNLEARN_CHECK(image.defined() && image.dim() == 3 && image.scalar_type() == torch::kUInt8 &&
                    (image.size(0) == 1 || image.size(0) == 3),
                "write_dicom_image: expected a C×H×W uint8 image with C = 1 or 3, got ",
                image.defined() ? image.sizes() : torch::IntArrayRef{});
  UNLEARN_CHECK(
      image.size(1) > 0 && image.size(2) > 0 && image.size(1) <= 65535 && image.size(2) <= 65535,
      "write_dicom_image: image size ", image.size(1), "x", image.size(2),
      " is out of DICOM's range (1 to 65535)");
  quiet_gdcm();

  // Look every keyword up before writing anything.
  std::set<gdcm::Tag> given;
  const std::vector<gdcm::DataElement> elements = text_elements(tags, given);

  const int64_t channels = image.size(0);
  const int64_t height = image.size(1);
  const int64_t width = image.size(2);
  // DICOM stores colour samples interleaved (planar configuration 0): H×W×C.
  const torch::Tensor hwc = image.permute({1, 2, 0}).contiguous();
  std::vector<char> pixels(static_cast<size_t>(hwc.numel()));
  std::memcpy(pixels.data(), hwc.data_ptr<uint8_t>(), pixels.size());
  if (pixels.size() % 2 == 1) pixels.push_back(0);  // even length, as every value must be

  write_atomically(path, /*force=*/true, "write_dicom_image", [&](const std::string& tmp) {
    gdcm::ImageWriter writer;
    gdcm::Image& img = writer.GetImage();
    img.SetNumberOfDimensions(2);
    img.SetDimension(0, static_cast<unsigned int>(width));
    img.SetDimension(1, static_cast<unsigned int>(height));
    gdcm::PixelFormat pf(gdcm::PixelFormat::UINT8);
    pf.SetSamplesPerPixel(static_cast<uint16_t>(channels));
    img.SetPixelFormat(pf);
    img.SetPhotometricInterpretation(channels == 1 ? gdcm::PhotometricInterpretation::MONOCHROME2
                                                   : gdcm::PhotometricInterpretation::RGB);
    img.SetPlanarConfiguration(0);
    img.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
    gdcm::DataElement pixel_data(kPixelData);
    pixel_data.SetVR(gdcm::VR::OB);
    pixel_data.SetByteValue(pixels.data(), static_cast<uint32_t>(pixels.size()));
    img.SetDataElement(pixel_data);

    gdcm::DataSet& ds = writer.GetFile().GetDataSet();
    put_identity(ds, given);
    for (const gdcm::DataElement& de : elements) ds.Replace(de);

    writer.SetFileName(tmp.c_str());
    if (!writer.Write()) {
      throw IoError(detail::concat("write_dicom_image: cannot write ", path));
    }
  });
}

// ---- read_dicom_dir ----

constexpr const char* kSplitNames[] = {"train", "test", "val"};

/// One sample: a frame of a file, with its sheet row and what the file's tags say.
struct Sample {
  torch::Tensor image;  // C×H×W uint8, at the file's own size
  size_t row = 0;       // row of labels.csv
  std::string id;
  std::string source;
  int64_t frame = 0;
  int split = 0;                  // index into kSplitNames
  std::vector<std::string> tags;  // the values of kTagColumns, in that order
  std::string patient;            // hashed
};

/// The tag columns every DICOM Dataset has (PatientID is not one: it becomes `patient`).
const std::vector<std::string>& tag_columns() {
  static const std::vector<std::string> names = {"Manufacturer",     "ManufacturerModelName",
                                                 "StationName",      "InstitutionName",
                                                 "BodyPartExamined", "Modality",
                                                 "StudyDate"};
  return names;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

/// Non-empty lines of `path`, trimmed; FormatError for an empty file or a repeated name.
std::vector<std::string> read_class_names(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  UNLEARN_CHECK_AS(IoError, in.good(), "read_dicom_dir: cannot read ", path);
  std::vector<std::string> names;
  std::set<std::string> seen;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string name = trim(line);
    if (name.empty()) continue;
    UNLEARN_CHECK_AS(FormatError, seen.insert(name).second, "read_dicom_dir: ", path, ":", number,
                     ": class '", name, "' is listed twice");
    names.push_back(name);
  }
  UNLEARN_CHECK_AS(FormatError, !names.empty(), "read_dicom_dir: ", path, ": no class names");
  return names;
}

/// Class index of every sheet row, and the class names (see read_dicom_dir's comment).
std::vector<int64_t> resolve_labels(const CsvTable& sheet, size_t label_col,
                                    const std::string& classes_path,
                                    std::vector<std::string>& class_names) {
  std::vector<std::string> labels;
  for (size_t r = 0; r < sheet.rows.size(); ++r) {
    labels.push_back(trim(sheet.rows[r][label_col]));
    UNLEARN_CHECK_AS(FormatError, !labels.back().empty(), "read_dicom_dir: ", sheet.where(r),
                     ": empty label");
  }
  std::vector<int64_t> out(labels.size());
  std::error_code ec;
  if (fs::is_regular_file(classes_path, ec)) {
    class_names = read_class_names(classes_path);
    const auto k = static_cast<int64_t>(class_names.size());
    for (size_t r = 0; r < labels.size(); ++r) {
      const auto named = std::find(class_names.begin(), class_names.end(), labels[r]);
      const std::optional<int64_t> index = parse_integer(labels[r]);
      if (named != class_names.end()) {
        out[r] = named - class_names.begin();
      } else if (index && *index >= 0 && *index < k) {
        out[r] = *index;
      } else {
        throw FormatError(detail::concat("read_dicom_dir: ", sheet.where(r), ": label '", labels[r],
                                         "' is neither a class of ", classes_path,
                                         " nor an index below ", k));
      }
    }
    return out;
  }
  bool all_integers = true;
  for (const std::string& label : labels) all_integers = all_integers && parse_integer(label);
  if (all_integers) {
    int64_t k = 0;
    for (size_t r = 0; r < labels.size(); ++r) {
      out[r] = *parse_integer(labels[r]);
      UNLEARN_CHECK_AS(FormatError, out[r] >= 0, "read_dicom_dir: ", sheet.where(r), ": label ",
                       out[r], " is negative");
      k = std::max(k, out[r] + 1);
    }
    class_names.clear();
    for (int64_t c = 0; c < k; ++c) class_names.push_back(std::to_string(c));
    return out;
  }
  const std::set<std::string> distinct(labels.begin(), labels.end());
  class_names.assign(distinct.begin(), distinct.end());
  for (size_t r = 0; r < labels.size(); ++r) {
    out[r] =
        std::lower_bound(class_names.begin(), class_names.end(), labels[r]) - class_names.begin();
  }
  return out;
}

/// `value` of a `path` cell as a path relative to `dir`, in generic form.
std::string sheet_path(const std::string& value, const fs::path& dir) {
  fs::path p(trim(value));
  if (p.is_absolute())
    p = p.lexically_normal().lexically_relative(fs::absolute(dir).lexically_normal());
  return p.lexically_normal().generic_string();
}

/// The DICOM files under `dir`, as generic paths relative to it, sorted.
std::vector<std::string> find_dicom_files(const fs::path& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec);
  UNLEARN_CHECK_AS(IoError, !ec, "read_dicom_dir: cannot list ", dir.string(), ": ", ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    UNLEARN_CHECK_AS(IoError, !ec, "read_dicom_dir: cannot list ", dir.string(), ": ",
                     ec.message());
    // DICOMDIR, the index of a DICOM medium, is a DICOM file without an image.
    std::string name = it->path().filename().string();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (name != "DICOMDIR" && is_dicom(it->path().string())) {
      limits::check_file_count(files.size(), "read_dicom_dir: " + dir.string());
      files.push_back(it->path().lexically_relative(dir).generic_string());
    }
  }
  UNLEARN_CHECK_AS(IoError, !ec, "read_dicom_dir: cannot list ", dir.string(), ": ", ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

/// Index into kSplitNames of `name` (any case), or -1.
int split_index(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (int s = 0; s < 3; ++s) {
    if (name == kSplitNames[s]) return s;
  }
  return -1;
}

/// The samples of `split`, as one Dataset with images of `channels`×`size`×`size`.
Dataset make_split(const std::vector<Sample>& samples, const Metadata& metadata,
                   const std::vector<int64_t>& labels, const std::vector<std::string>& class_names,
                   int split, int64_t channels, int64_t size) {
  std::vector<int64_t> picked;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].split == split) picked.push_back(static_cast<int64_t>(i));
  }
  const auto n = static_cast<int64_t>(picked.size());
  Dataset out;
  out.images = torch::empty({n, channels, size, size}, torch::kUInt8);
  out.labels = torch::empty({n}, torch::kLong);
  for (int64_t k = 0; k < n; ++k) {
    const Sample& s = samples[static_cast<size_t>(picked[static_cast<size_t>(k)])];
    out.images[k].copy_(resize_square(to_channels(s.image, channels), size));
    out.labels[k] = labels[s.row];
  }
  out.class_names = class_names;
  out.metadata = metadata.select(torch::tensor(picked, torch::kLong));
  return out;
}

/// labels.csv of a DICOM folder, indexed: its key, label and split columns, a row per key, and
/// the columns that become the `patient` column or metadata.
struct LabelSheet {
  fs::path dir;
  std::string labels_path;
  CsvTable sheet;
  bool by_path = false;  // keyed by `path` (else by SOPInstanceUID)
  size_t key_col = 0, label_col = 0;
  int64_t split_col = -1;
  std::map<std::string, size_t> rows_by_key;
  std::vector<size_t> patient_cols;  // at most one
  std::vector<size_t> extra_cols;    // metadata columns
};

/// Key -> row, refusing empty and repeated keys.
void index_rows(LabelSheet& s) {
  for (size_t r = 0; r < s.sheet.rows.size(); ++r) {
    const std::string& text = s.sheet.rows[r][s.key_col];
    const std::string key = s.by_path ? sheet_path(text, s.dir) : trim(text);
    UNLEARN_CHECK_AS(FormatError, !key.empty(), "read_dicom_dir: ", s.sheet.where(r), ": empty ",
                     s.sheet.header[s.key_col]);
    const auto [it, fresh] = s.rows_by_key.emplace(key, r);
    UNLEARN_CHECK_AS(FormatError, fresh, "read_dicom_dir: ", s.sheet.where(r), ": ",
                     s.sheet.header[s.key_col], " '", key, "' is listed again (first at line ",
                     s.sheet.lines[it->second], ")");
  }
}

/// The extra columns: patient IDs are hashed, the others become metadata.
void sort_extra_columns(LabelSheet& s) {
  for (size_t c = 0; c < s.sheet.header.size(); ++c) {
    const std::string& name = s.sheet.header[c];
    if (c == s.key_col || c == s.label_col || static_cast<int64_t>(c) == s.split_col) continue;
    if (is_patient_column(name)) {
      UNLEARN_CHECK_AS(FormatError, s.patient_cols.empty(), "read_dicom_dir: ", s.labels_path,
                       ": two patient ID columns, '", s.sheet.header[s.patient_cols.front()],
                       "' and '", name, "'");
      s.patient_cols.push_back(c);
      continue;
    }
    // `class` and `index` are selection fields; the others are columns made from the files.
    const std::vector<std::string>& own = tag_columns();
    UNLEARN_CHECK_AS(FormatError,
                     name != "id" && name != "source" && name != "frame" && name != "class" &&
                         name != "index" && std::find(own.begin(), own.end(), name) == own.end(),
                     "read_dicom_dir: ", s.labels_path, ": column '", name,
                     "' is reserved (id, source, frame, class, index and the tag columns ",
                     join(own), ")");
    s.extra_cols.push_back(c);
  }
}

LabelSheet read_label_sheet(const fs::path& dir, const std::string& dir_text) {
  LabelSheet s;
  s.dir = dir;
  s.labels_path = (dir / "labels.csv").string();
  std::error_code ec;
  UNLEARN_CHECK_AS(FormatError, fs::exists(s.labels_path, ec), "read_dicom_dir: ", dir_text,
                   ": no labels.csv; it names each file's class, with the columns `path` "
                   "(relative to the folder) or `SOPInstanceUID`, `label`, and optionally `split`");
  s.sheet = read_csv(s.labels_path);
  s.by_path = s.sheet.find("path") >= 0;
  UNLEARN_CHECK_AS(FormatError, s.by_path || s.sheet.find("SOPInstanceUID") >= 0,
                   "read_dicom_dir: ", s.labels_path,
                   ": no key column: expected `path` (relative to ", dir_text,
                   ") or `SOPInstanceUID`; the columns are: ", join(s.sheet.header));
  s.key_col = s.sheet.require(s.by_path ? "path" : "SOPInstanceUID", "the key column");
  s.label_col = s.sheet.require("label", "the label column");
  s.split_col = s.sheet.find("split");
  index_rows(s);
  return s;
}

/// The row of the file `rel`, looked up by path or by its SOPInstanceUID `uid`.
size_t row_of(const LabelSheet& s, const std::string& rel, const std::string& uid,
              const std::string& file) {
  const std::string key = s.by_path ? rel : uid;
  const auto found = s.rows_by_key.find(key);
  if (found != s.rows_by_key.end()) return found->second;
  throw FormatError(
      detail::concat("read_dicom_dir: ", file, " has no row in ", s.labels_path,
                     s.by_path ? " (looked up by path '" + rel + "')"
                               : (key.empty() ? " (it has no SOPInstanceUID (0008,0018))"
                                              : " (looked up by SOPInstanceUID '" + key + "')")));
}

/// The split of a file: the sheet's `split` column, else its top folder (train/, test/, val/).
int split_of(const LabelSheet& s, size_t row, const std::string& rel, const std::string& file) {
  if (s.split_col >= 0) {
    const std::string name = trim(s.sheet.rows[row][static_cast<size_t>(s.split_col)]);
    const int split = split_index(name);
    UNLEARN_CHECK_AS(FormatError, split >= 0, "read_dicom_dir: ", s.sheet.where(row), ": split '",
                     name, "' (expected train, test or val)");
    return split;
  }
  const std::string top = fs::path(rel).begin()->generic_string();
  const int split = rel.find('/') == std::string::npos ? -1 : split_index(top);
  UNLEARN_CHECK_AS(FormatError, split >= 0, "read_dicom_dir: ", file,
                   ": no split for this file: give ", s.labels_path,
                   " a `split` column (train, test or val), or put the file under ",
                   (s.dir / "train").string(), "/, test/ or val/");
  return split;
}

/// The hashed patient: the file's own PatientID, which the sheet may give too.
std::string patient_of(const LabelSheet& s, size_t row, const std::string& patient_id,
                       const std::string& file) {
  std::string patient = patient_hash(patient_id);
  for (const size_t c : s.patient_cols) {
    const std::string hashed = patient_hash(s.sheet.rows[row][c]);
    if (hashed.empty()) continue;
    UNLEARN_CHECK_AS(FormatError, patient.empty() || patient == hashed,
                     "read_dicom_dir: ", s.sheet.where(row), ": column '", s.sheet.header[c],
                     "' does not match ", file, "'s PatientID (0010,0020)");
    patient = hashed;
  }
  return patient;
}

/// The image in `rel`, or nullopt for an object without pixel data, counted by Modality in
/// `skipped` (refused with `strict_dicom`, and when labels.csv gives it a row).
std::optional<DicomImage> image_or_skip(const LabelSheet& s, const std::string& rel,
                                        const DataOptions& options,
                                        std::map<std::string, int64_t>& skipped) {
  const std::string file = (s.dir / rel).string();
  std::string modality;
  std::optional<DicomImage> image =
      read_image_if_image(file, modality, DicomIsolation::worker_process);
  if (image) return image;
  if (options.strict_dicom) {
    fail(file, "no pixel data " + tag_text(kPixelData) + " (Modality '" + modality +
                   "'); without --strict-dicom such objects are skipped");
  }
  if (s.by_path && s.rows_by_key.count(rel)) {
    throw FormatError(detail::concat("read_dicom_dir: ", s.sheet.where(s.rows_by_key.at(rel)), ": ",
                                     file, " has no pixel data ", tag_text(kPixelData),
                                     " (Modality '", modality, "'): it cannot be a sample"));
  }
  ++skipped[modality.empty() ? "no Modality" : modality];
  return std::nullopt;
}

/// "skipped 3 DICOM objects without pixel data: SR 2, RTSTRUCT 1 (--strict-dicom refuses them)".
std::string skipped_note(const std::map<std::string, int64_t>& skipped) {
  int64_t total = 0;
  std::string counts;
  for (const auto& [modality, n] : skipped) {
    total += n;
    counts += detail::concat(counts.empty() ? "" : ", ", modality, " ", n);
  }
  return detail::concat("skipped ", total, " DICOM object", total == 1 ? "" : "s",
                        " without pixel data: ", counts, " (--strict-dicom refuses them)");
}

/// The samples of every image file (one, or one per frame with `all_frames`); `colour` is set
/// when any image has three channels, and objects without pixel data are counted in `skipped`.
std::vector<Sample> read_samples(const LabelSheet& s, const std::vector<std::string>& files,
                                 const DataOptions& options, bool& colour,
                                 std::map<std::string, int64_t>& skipped) {
  std::vector<Sample> samples;
  std::map<size_t, std::string> file_of_row;
  for (const std::string& rel : files) {
    const std::string file = (s.dir / rel).string();
    std::optional<DicomImage> found = image_or_skip(s, rel, options, skipped);
    if (!found) continue;
    DicomImage& image = *found;
    const auto tag = [&](const std::string& keyword) {
      const auto it = image.tags.find(keyword);
      return it == image.tags.end() ? std::string() : it->second;
    };
    const size_t row = row_of(s, rel, tag("SOPInstanceUID"), file);
    if (const auto [it, fresh] = file_of_row.emplace(row, file); !fresh) {
      throw FormatError(detail::concat("read_dicom_dir: ", it->second, " and ", file,
                                       " have the same SOPInstanceUID '", tag("SOPInstanceUID"),
                                       "' (", s.sheet.where(row), ")"));
    }
    Sample base;
    base.row = row;
    base.source = file;
    base.split = split_of(s, row, rel, file);
    base.patient = patient_of(s, row, tag("PatientID"), file);
    for (const std::string& name : tag_columns()) base.tags.push_back(tag(name));

    const torch::Tensor shown = display(image);
    image.pixels = torch::Tensor();
    colour = colour || shown.size(1) == 3;
    const int64_t frames = shown.size(0);
    const int64_t first = options.all_frames ? 0 : frames / 2;
    const int64_t last = options.all_frames ? frames : frames / 2 + 1;
    for (int64_t f = first; f < last; ++f) {
      Sample one = base;
      one.image = shown[f].clone();
      one.id = options.all_frames ? rel + "#" + std::to_string(f) : rel;
      one.frame = f;
      samples.push_back(std::move(one));
    }
  }
  // With SOPInstanceUID keys, rows are matched only now.
  for (const auto& [key, row] : s.rows_by_key) {
    UNLEARN_CHECK_AS(FormatError, file_of_row.count(row) > 0,
                     "read_dicom_dir: ", s.sheet.where(row), ": no DICOM file under ",
                     s.dir.string(), " has SOPInstanceUID '", key, "'");
  }
  return samples;
}

/// One metadata table for all samples, cut into splits later.
Metadata metadata_of(const std::vector<Sample>& samples, const LabelSheet& s, bool all_frames) {
  Metadata metadata;
  const auto column = [&](const std::string& name, auto value_of) {
    std::vector<std::string> values;
    values.reserve(samples.size());
    for (const Sample& one : samples) values.push_back(value_of(one));
    metadata.set(Column{name, std::move(values)});
  };
  column("id", [](const Sample& one) { return one.id; });
  column("source", [](const Sample& one) { return one.source; });
  for (size_t t = 0; t < tag_columns().size(); ++t) {
    column(tag_columns()[t], [t](const Sample& one) { return one.tags[t]; });
  }
  column(kPatientColumn, [](const Sample& one) { return one.patient; });
  if (all_frames) {
    std::vector<int64_t> frames;
    for (const Sample& one : samples) frames.push_back(one.frame);
    metadata.set(Column{"frame", std::move(frames)});
  }
  for (const size_t c : s.extra_cols) {
    std::vector<std::string> values;
    for (const Sample& one : samples) values.push_back(s.sheet.rows[one.row][c]);
    metadata.set(typed_column(s.sheet.header[c], std::move(values)));
  }
  return metadata;
}

DataBundle read_dir(const std::string& dir_text, const DataOptions& options) {
  UNLEARN_CHECK(options.image_size >= 0, "read_dicom_dir: image size must be >= 0, got ",
                options.image_size);
  const fs::path dir(dir_text);
  std::error_code ec;
  UNLEARN_CHECK_AS(IoError, fs::is_directory(dir, ec),
                   "read_dicom_dir: no such directory: ", dir_text);
  LabelSheet sheet = read_label_sheet(dir, dir_text);
  const std::vector<std::string> files = find_dicom_files(dir);
  UNLEARN_CHECK_AS(FormatError, !files.empty(), "read_dicom_dir: ", dir_text,
                   ": no DICOM files (files with \"DICM\" at byte 128)");
  // A row naming a missing file is found before any slow decoding.
  if (sheet.by_path) {
    const std::set<std::string> present(files.begin(), files.end());
    for (const auto& [key, row] : sheet.rows_by_key) {
      UNLEARN_CHECK_AS(FormatError, present.count(key) > 0,
                       "read_dicom_dir: ", sheet.sheet.where(row), ": no DICOM file ",
                       (dir / key).string());
    }
  }
  std::vector<std::string> class_names;
  const std::vector<int64_t> labels =
      resolve_labels(sheet.sheet, sheet.label_col, (dir / "classes.txt").string(), class_names);
  sort_extra_columns(sheet);
  bool colour = false;
  std::map<std::string, int64_t> skipped;
  const std::vector<Sample> samples = read_samples(sheet, files, options, colour, skipped);
  UNLEARN_CHECK_AS(FormatError, !samples.empty(), "read_dicom_dir: ", dir_text,
                   ": no DICOM file holds an image (", skipped_note(skipped), ")");
  const Metadata metadata = metadata_of(samples, sheet, options.all_frames);

  int64_t size = options.image_size;
  if (size == 0) {
    const auto first_train = std::find_if(samples.begin(), samples.end(),
                                          [](const Sample& one) { return one.split == 0; });
    size = (first_train != samples.end() ? *first_train : samples.front()).image.size(1);
  }
  const int64_t channels = colour ? 3 : 1;
  const auto split = [&](int which) {
    return make_split(samples, metadata, labels, class_names, which, channels, size);
  };
  DataBundle bundle;
  bundle.source = dir_text;
  if (!skipped.empty()) bundle.notes.push_back(skipped_note(skipped));
  bundle.train = split(0);
  bundle.test = split(1);
  UNLEARN_CHECK_AS(FormatError, bundle.train.size() > 0, "read_dicom_dir: ", dir_text,
                   ": no training samples (split train in labels.csv, or files under train/)");
  UNLEARN_CHECK_AS(FormatError, bundle.test.size() > 0, "read_dicom_dir: ", dir_text,
                   ": no test samples (split test in labels.csv, or files under test/)");
  if (std::any_of(samples.begin(), samples.end(),
                  [](const Sample& one) { return one.split == 2; })) {
    bundle.validation = split(2);
  }
  return bundle;
}

}  // namespace
}  // namespace dicom_detail

const std::vector<std::string>& dicom_tag_keywords() { return dicom_detail::tag_keywords(); }

bool is_dicom_file(const std::string& path) { return dicom_detail::is_dicom(path); }

DicomImage read_dicom_image(const std::string& path, DicomIsolation isolation) {
  return dicom_detail::read_image(path, isolation);
}

torch::Tensor display_uint8(const DicomImage& image) { return dicom_detail::display(image); }

DataBundle read_dicom_dir(const std::string& dir, const DataOptions& options) {
  return dicom_detail::read_dir(dir, options);
}

void write_dicom_image(const std::string& path, const torch::Tensor& image,
                       const std::map<std::string, std::string>& tags) {
  dicom_detail::write_image(path, image, tags);
}

}  // namespace unlearn
