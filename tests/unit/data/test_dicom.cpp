// DICOM reading against pydicom's decoding of its own sample files (dicom_golden.json, written
// by scripts/make-dicom-golden.py), hand-made files for the cases pydicom ships no sample of
// (MONOCHROME1, palette colour), the writer's round trip, and the folder reader.

#include <gdcmDataElement.h>
#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmTransferSyntax.h>
#include <gdcmWriter.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "expect_error.h"
#include "idx_test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/data/dicom.h"
#include "unlearn/data/patient_hash.h"
#include "unlearn/select/selection.h"

namespace unlearn {
namespace {

namespace fs = std::filesystem;
using test::message_of;
using test_util::TempDir;

/// A fixed salt, so no salt file is created; the same one as the other reader tests, since
/// the salt is read once per process.
void use_test_salt() { ::setenv("UNLEARN_PATIENT_SALT", "unit-test-salt", 1); }

/// pydicom's sample files, which the project's setup script installs (python3-pydicom).
fs::path pydicom_files() {
  if (const char* dir = std::getenv("UNLEARN_PYDICOM_TEST_FILES"); dir && *dir) return dir;
  return "/usr/lib/python3/dist-packages/pydicom/data/test_files";
}

/// A sample file; fails the test (never skips it) when pydicom's files are absent.
std::string sample(const std::string& name) {
  const fs::path path = pydicom_files() / name;
  EXPECT_TRUE(fs::is_regular_file(path))
      << path << " is missing: install python3-pydicom (scripts/setup.sh does)";
  return path.string();
}

void expect_contains(const std::string& text, const std::string& needle) {
  EXPECT_NE(text.find(needle), std::string::npos)
      << "message: " << text << "\nexpected: " << needle;
}

double at(const DicomImage& image, int64_t f, int64_t r, int64_t c, int64_t ch) {
  return image.pixels[f][ch][r][c].item<double>();
}

TEST(DicomGolden, MatchesPydicom) {
  ASSERT_TRUE(fs::is_directory(pydicom_files()))
      << pydicom_files() << " is missing: install python3-pydicom (scripts/setup.sh does)";
  const fs::path golden_path = fs::path(__FILE__).parent_path() / "dicom_golden.json";
  std::ifstream in(golden_path);
  ASSERT_TRUE(in.good()) << golden_path;
  const nlohmann::json golden = nlohmann::json::parse(in);
  ASSERT_GE(golden.at("files").size(), 10u);

  for (const nlohmann::json& entry : golden.at("files")) {
    const std::string name = entry.at("file");
    SCOPED_TRACE(name + " (" + entry.at("covers").get<std::string>() + ")");
    const DicomImage image = read_dicom_image(sample(name));
    EXPECT_EQ(image.photometric, entry.at("photometric"));
    ASSERT_EQ(image.pixels.scalar_type(), torch::kFloat64);
    ASSERT_EQ(image.frames(), entry.at("frames"));
    ASSERT_EQ(image.channels(), entry.at("channels"));
    ASSERT_EQ(image.height(), entry.at("rows"));
    ASSERT_EQ(image.width(), entry.at("cols"));
    for (const char* keyword : {"Manufacturer", "ManufacturerModelName"}) {
      const auto it = image.tags.find(keyword);
      EXPECT_EQ(it == image.tags.end() ? "" : it->second, entry.at(keyword).get<std::string>())
          << keyword;
    }

    // Lossless data must decode identically. Lossy JPEG may differ by a grey level or two per
    // pixel: the standard lets decoders choose their inverse DCT and chroma upsampling, and
    // GDCM's bundled IJG libjpeg is not the libjpeg-turbo Pillow uses (here they happen to
    // agree, but nothing promises it). JPEG 2000 is decoded by OpenJPEG on both sides.
    const bool lossy = entry.at("lossy");
    const double tolerance = lossy ? 2.0 : 0.0;
    const auto numel = static_cast<double>(image.pixels.numel());
    EXPECT_NEAR(image.pixels.sum().item<double>(), entry.at("sum").get<double>(),
                lossy ? 0.5 * numel : 1e-9 * std::abs(entry.at("sum").get<double>()));
    EXPECT_NEAR(image.pixels.min().item<double>(), entry.at("min").get<double>(), tolerance);
    EXPECT_NEAR(image.pixels.max().item<double>(), entry.at("max").get<double>(), tolerance);
    for (const nlohmann::json& p : entry.at("pixels")) {
      const int64_t f = p[0], r = p[1], c = p[2], ch = p[3];
      EXPECT_NEAR(at(image, f, r, c, ch), p[4].get<double>(), tolerance)
          << "at frame " << f << ", row " << r << ", column " << c << ", channel " << ch;
    }
  }
}

TEST(DicomRead, RescaleAndSignedValues) {
  // CT_small: signed 16-bit stored values with Rescale Intercept -1024 (Hounsfield units).
  const DicomImage ct = read_dicom_image(sample("CT_small.dcm"));
  EXPECT_EQ(ct.photometric, "MONOCHROME2");
  EXPECT_EQ(ct.tags.at("Manufacturer"), "GE MEDICAL SYSTEMS");
  EXPECT_EQ(ct.tags.at("Modality"), "CT");
  EXPECT_EQ(ct.tags.at("StudyDate"), "20040119");
  EXPECT_EQ(ct.tags.at("StationName"), "CT01_OC0");  // padded to even length in the file
  EXPECT_EQ(ct.tags.count("BodyPartExamined"), 0u);
  EXPECT_LT(ct.pixels.min().item<double>(), -800);
}

TEST(DicomRead, NoPixelDataNamesFile) {
  const std::string path = sample("rtplan.dcm");
  const std::string msg = message_of<FormatError>([&] { read_dicom_image(path); });
  expect_contains(msg, path);
  expect_contains(msg, "no pixel data (7FE0,0010)");
}

TEST(DicomRead, RefusesWhatGdcmWouldAbortOn) {
  // RT Dose without Number of Frames trips an assert() inside Debian's GDCM 3.0.
  const std::string path = sample("rtdose_1frame.dcm");
  const std::string msg = message_of<FormatError>([&] { read_dicom_image(path); });
  expect_contains(msg, path);
  expect_contains(msg, "(0028,0008)");
}

TEST(DicomRead, FilesOnWhichGdcmAbortsAreRefusedAndTheNextReadWorks) {
  // Fuzzing found these; Debian's GDCM asserts on each (Attribute::SetFromDataElement,
  // ImageCodec::DecodeByStreams) and the abort used to end the whole tool. GDCM now runs in a
  // worker process, and only the worker ends.
  for (const char* name :
       {"bits-allocated-with-vr-ds.dcm", "bits-allocated-differs-from-bits-stored.dcm"}) {
    const std::string path = std::string(UNLEARN_FUZZ_CORPUS) + "/dicom/" + name;
    const std::string msg = message_of<FormatError>([&] { read_dicom_image(path); });
    expect_contains(msg, path);
    expect_contains(msg, "GDCM could not read it");
    expect_contains(msg, "signal 6");
    expect_contains(msg, "Assertion");
    // A new worker reads the next file.
    EXPECT_EQ(read_dicom_image(sample("CT_small.dcm")).height(), 128);
  }
}

TEST(DicomRead, UncompressedPixelDataShorterThanTheHeaderNeedsIsRefused) {
  // GDCM zero-pads such data instead of failing: a 562-byte fuzzed file whose header claims
  // about 960 frames of 65284x4 8-bit pixels took 49 s and 6.3 GB before it was refused.
  const std::string fuzzed =
      std::string(UNLEARN_FUZZ_CORPUS) + "/dicom/rows-65284-without-photometric-6-gb.dcm";
  std::string msg =
      message_of<FormatError>([&] { read_dicom_image(fuzzed, DicomIsolation::this_process); });
  expect_contains(msg, fuzzed);
  expect_contains(msg, "pixel data (7FE0,0010) holds ");
  expect_contains(msg, "(the file is probably truncated)");

  // pydicom's MR_truncated.dcm (64x64 16-bit, 8130 bytes where 8192 are needed) is refused
  // earlier: its Pixel Data declares 8192 bytes and the file ends first.
  const std::string truncated = sample("MR_truncated.dcm");
  msg = message_of<FormatError>([&] { read_dicom_image(truncated); });
  expect_contains(msg, truncated);
  expect_contains(msg, "declares 8192 bytes, but the file ends after 8130");

  // An uncompressed file whose Pixel Data is shorter than the header needs, with its length
  // declared truthfully: CT_small (128x128 16-bit) with its last 1000 bytes of pixels cut.
  TempDir dir;
  const fs::path cut = dir.file("ct-cut.dcm");
  {
    std::ifstream in(sample("CT_small.dcm"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const std::string pixel_tag("\xE0\x7F\x10\x00", 4);
    const size_t at = bytes.rfind(pixel_tag);
    ASSERT_NE(at, std::string::npos);
    // Explicit VR little endian: tag, "OW", two reserved bytes, a 4-byte length.
    uint32_t length = 0;
    std::memcpy(&length, bytes.data() + at + 8, 4);
    ASSERT_EQ(length, 128u * 128u * 2u);
    length -= 1000;
    std::memcpy(bytes.data() + at + 8, &length, 4);
    bytes.erase(at + 12 + length, 1000);  // the end of the pixels; other elements follow
    std::ofstream(cut, std::ios::binary) << bytes;
  }
  msg = message_of<FormatError>([&] { read_dicom_image(cut.string()); });
  expect_contains(msg, cut.string());
  expect_contains(msg, "holds 31768 bytes");
  expect_contains(msg, "need 32768 (the file is probably truncated)");
}

TEST(DicomRead, TheWorkerGivesTheImageReadInThisProcess) {
  for (const char* name : {"CT_small.dcm", "JPEG2000.dcm", "SC_rgb_rle_16bit.dcm"}) {
    const DicomImage here = read_dicom_image(sample(name), DicomIsolation::this_process);
    const DicomImage there = read_dicom_image(sample(name));
    EXPECT_EQ(here.photometric, there.photometric) << name;
    EXPECT_EQ(here.tags, there.tags) << name;
    EXPECT_TRUE(torch::equal(here.pixels, there.pixels)) << name;
  }
  // Errors come back with their type and message.
  const std::string path = sample("rtplan.dcm");
  EXPECT_EQ(message_of<FormatError>([&] { read_dicom_image(path); }),
            message_of<FormatError>([&] { read_dicom_image(path, DicomIsolation::this_process); }));
}

TEST(DicomRead, NotDicomAndMissingFiles) {
  TempDir dir;
  const std::string text = dir.file("notes.dcm");
  std::ofstream(text) << "not a DICOM file at all\n";
  expect_contains(message_of<FormatError>([&] { read_dicom_image(text); }), text);
  EXPECT_FALSE(is_dicom_file(text));
  EXPECT_TRUE(is_dicom_file(sample("CT_small.dcm")));
  EXPECT_FALSE(is_dicom_file(dir.path()));

  const std::string absent = dir.file("absent.dcm");
  expect_contains(message_of<IoError>([&] { read_dicom_image(absent); }), absent);
  EXPECT_THROW(read_dicom_image(dir.path()), IoError);
}

// ---- hand-made files, for cases pydicom ships no sample of ----

std::string u16(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) {
    out += static_cast<char>(v & 0xff);
    out += static_cast<char>((v >> 8) & 0xff);
  }
  return out;
}

/// Writes a data set element by element (explicit VR little endian) with GDCM's plain
/// Writer, which adds the file meta information.
class RawDicom {
 public:
  RawDicom& add(uint16_t group, uint16_t element, gdcm::VR vr, std::string bytes) {
    if (bytes.size() % 2 == 1) bytes += (vr == gdcm::VR::UI || vr == gdcm::VR::OB) ? '\0' : ' ';
    gdcm::DataElement de(gdcm::Tag(group, element));
    de.SetVR(vr);
    de.SetByteValue(bytes.data(), static_cast<uint32_t>(bytes.size()));
    writer_.GetFile().GetDataSet().Replace(de);
    return *this;
  }
  /// The Image Pixel module for `rows`×`cols`, `samples` samples of `bits` bits.
  RawDicom& pixel_module(int rows, int cols, int samples, int bits, int signed_,
                         const std::string& photometric) {
    return add(0x0028, 0x0002, gdcm::VR::US, u16({samples}))
        .add(0x0028, 0x0004, gdcm::VR::CS, photometric)
        .add(0x0028, 0x0010, gdcm::VR::US, u16({rows}))
        .add(0x0028, 0x0011, gdcm::VR::US, u16({cols}))
        .add(0x0028, 0x0100, gdcm::VR::US, u16({bits}))
        .add(0x0028, 0x0101, gdcm::VR::US, u16({bits}))
        .add(0x0028, 0x0102, gdcm::VR::US, u16({bits - 1}))
        .add(0x0028, 0x0103, gdcm::VR::US, u16({signed_}));
  }
  void write(const std::string& path, const std::string& sop_class) {
    add(0x0008, 0x0016, gdcm::VR::UI, sop_class);
    add(0x0008, 0x0018, gdcm::VR::UI, "1.2.826.0.1.3680043.2.1143.1");
    writer_.GetFile().GetHeader().SetDataSetTransferSyntax(
        gdcm::TransferSyntax::ExplicitVRLittleEndian);
    writer_.SetFileName(path.c_str());
    ASSERT_TRUE(writer_.Write()) << path;
  }

 private:
  gdcm::Writer writer_;
};

constexpr const char* kCtImage = "1.2.840.10008.5.1.4.1.1.2";
constexpr const char* kSecondaryCapture = "1.2.840.10008.5.1.4.1.1.7";

/// One explicit VR little endian element of the file meta group (0002,`element`).
std::string meta_element(int element, const std::string& vr, const std::string& value,
                         uint32_t long_length = 0) {
  std::string out = u16({0x0002, element}) + vr;
  if (vr == "OB" || vr == "SQ" || vr == "UN") {
    const uint32_t length = long_length != 0 ? long_length : static_cast<uint32_t>(value.size());
    out += u16({0}) + u16({static_cast<int>(length & 0xffff), static_cast<int>(length >> 16)});
  } else {
    out += u16({static_cast<int>(value.size())});
  }
  return out + value;
}

TEST(DicomRead, MalformedFileMetaGroupIsRefusedNotAborted) {
  // Each of these made Debian's GDCM assert (abort the process) while reading the file meta
  // group; the first was found by fuzzing (tests/fuzz/corpus/dicom/meta-group-ends-the-file.dcm).
  const std::string head = std::string(128, '\0') + "DICM" +
                           meta_element(0x0000, "UL", u16({0x20, 0})) +
                           meta_element(0x0002, "UI", std::string(kSecondaryCapture) + '\0');
  const std::string syntax = meta_element(0x0010, "UI", "1.2.840.10008.1.2.1\0");
  const std::string data_set = u16({0x0008, 0x0060}) + "CS" + u16({2}) + "OT";
  const std::pair<std::string, std::string> cases[] = {
      {head + syntax, "ends after its file meta information"},
      {head + meta_element(0x0100, "SQ", "") + syntax + data_set, "is a sequence (SQ)"},
      {head + meta_element(0x0001, "OB", "", 0xFFFFFFFFu) + syntax + data_set,
       "has an undefined length"},
      // GDCM guesses at an unknown syntax; it keeps the first of repeated elements, as we do.
      {head + meta_element(0x0010, "UI", "1.2.840.10008.1.2.0") + syntax + data_set,
       "unknown transfer syntax UID '1.2.840.10008.1.2.0'"},
      {head + syntax + meta_element(0x0010, "UI", "1.2.840.10008.1.2.0") + data_set.substr(0, 4),
       "ends inside the header of an element"},
      // A transfer syntax with bytes after its NUL is read as GDCM reads it, up to the NUL.
      {head + meta_element(0x0010, "UI", std::string("1.2.840.10008.1.2.1\0junk", 24)) + data_set +
           u16({0x0028, 0x0002}) + "OB" + u16({0}) + u16({0x0002, 0x0001}),
       "declares 65538 bytes"},
      // No file meta group after "DICM": the data set's lengths are still checked.
      {std::string(128, '\0') + "DICM" + data_set + u16({0x0008, 0x0070}) + "LO" + u16({40}),
       "declares 40 bytes, but the file ends after 0"},
  };
  TempDir dir;
  for (const auto& [bytes, problem] : cases) {
    const std::string path = dir.file("meta.dcm");
    std::ofstream(path, std::ios::binary) << bytes;
    const std::string msg = message_of<FormatError>([&] { read_dicom_image(path); });
    expect_contains(msg, path);
    expect_contains(msg, problem);
  }
}

TEST(DicomRead, LengthsInsideSequencesAndInBigEndianAreChecked) {
  // A 342-byte big-endian file found by fuzzing declared a 3.4 GB element, which GDCM
  // allocated and cleared (tests/fuzz/corpus/dicom/big-endian-length-of-3-gb.dcm).
  const std::string head = std::string(128, '\0') + "DICM" +
                           meta_element(0x0000, "UL", u16({0x20, 0})) +
                           meta_element(0x0002, "UI", std::string(kSecondaryCapture) + '\0');
  const auto with_syntax = [&](const std::string& uid) {
    return head + meta_element(0x0010, "UI", uid + (uid.size() % 2 ? std::string(1, '\0') : ""));
  };
  const std::string little = with_syntax("1.2.840.10008.1.2.1");
  const std::string big = with_syntax("1.2.840.10008.1.2.2");
  const std::string undefined = u16({0xffff, 0xffff});
  const std::string item = u16({0xfffe, 0xe000});
  const std::string huge = u16({0xc9c9, 0xc9c9});  // 3,385,444,809 bytes
  const std::string modality = u16({0x0008, 0x0060}) + "CS" + u16({2}) + "OT";
  // Big endian: (0008,0070) LO with length 0xC9C9 (big-endian bytes), then (0009,0010) OB huge.
  const std::string big_lo = std::string("\x00\x08\x00\x70", 4) + "LO" + "\xc9\xc9";
  const std::string big_ob =
      std::string("\x00\x09\x00\x10", 4) + "OB" + std::string(2, '\0') + "\xc9\xc9\xc9\xc9";
  // A sequence (0008,1115) of undefined length, an item of undefined length, and in it an
  // element that claims 3.4 GB.
  const std::string sequence = u16({0x0008, 0x1115}) + "SQ" + u16({0}) + undefined;
  const std::string deep_ob = u16({0x0009, 0x1001}) + "OB" + u16({0}) + huge;
  // Encapsulated pixel data: (7FE0,0010) OB of undefined length, an empty offset table, then a
  // fragment claiming 3.4 GB. (Offsets: the meta group ends at byte 206.)
  const std::string pixels = u16({0x7fe0, 0x0010}) + "OB" + u16({0}) + undefined;
  const std::pair<std::string, std::string> cases[] = {
      {big + big_lo, "element (0008,0070) at byte 206 declares 51657 bytes"},
      {big + big_ob, "element (0009,0010) at byte 206 declares 3385444809"},
      {little + modality + sequence + item + undefined + deep_ob,
       "element (0009,1001) at byte 236 declares 3385444809 bytes"},
      {little + modality + sequence + item + huge,
       "item (FFFE,E000) at byte 228 declares 3385444809 bytes"},
      {little + modality + pixels + item + u16({0, 0}) + item + huge,
       "item (FFFE,E000) at byte 236 declares 3385444809 bytes"},
      // Pixel data of undefined length followed by an element, not an item (found by fuzzing:
      // GDCM allocated 1.5 GB on it).
      {little + modality + pixels + modality, "tag (0008,0060) at byte 228 is not an item"},
      // An item tag outside any sequence (found by fuzzing: GDCM allocated 1 GB on it).
      {little + modality + u16({0xfffe, 0xb1ff}) + huge + modality,
       "item tag (FFFE,B1FF) at byte 216 is outside any sequence"},
  };
  TempDir dir;
  for (const auto& [bytes, problem] : cases) {
    const std::string path = dir.file("lengths.dcm");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    const std::string msg = message_of<FormatError>([&] { read_dicom_image(path); });
    expect_contains(msg, path);
    expect_contains(msg, problem);
  }
  const std::string found =
      std::string(UNLEARN_FUZZ_CORPUS) + "/dicom/big-endian-length-of-3-gb.dcm";
  expect_contains(message_of<FormatError>([&] { read_dicom_image(found); }),
                  "has no valid value representation");
}

TEST(DicomRead, Monochrome1WithRescale) {
  TempDir dir;
  const std::string path = dir.file("mono1.dcm");
  RawDicom()
      .pixel_module(2, 2, 1, 16, 1, "MONOCHROME1")
      .add(0x0028, 0x1052, gdcm::VR::DS, "-10")
      .add(0x0028, 0x1053, gdcm::VR::DS, "2 ")
      .add(0x0008, 0x0070, gdcm::VR::LO, "ACME ")
      .add(0x7fe0, 0x0010, gdcm::VR::OW, u16({-5, 0, 7, 100}))
      .write(path, kCtImage);

  const DicomImage image = read_dicom_image(path);
  EXPECT_EQ(image.photometric, "MONOCHROME1");
  EXPECT_EQ(image.tags.at("Manufacturer"), "ACME");
  // Stored -5, 0, 7, 100 → 2v - 10; not inverted yet.
  EXPECT_TRUE(image.pixels.equal(
      torch::tensor({-20.0, -10.0, 4.0, 190.0}, torch::kFloat64).view({1, 1, 2, 2})));
  // Inverted: 20, 10, -4, -190, then (v + 190) * 255 / 210 rounded.
  const torch::Tensor shown = display_uint8(image);
  EXPECT_EQ(shown.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(shown.equal(torch::tensor({255, 243, 226, 0}, torch::kUInt8).view({1, 1, 2, 2})))
      << shown;
}

TEST(DicomRead, PaletteColourBecomesRgb) {
  TempDir dir;
  const std::string path = dir.file("palette.dcm");
  // Four 16-bit entries per channel, first mapped value 0.
  RawDicom()
      .pixel_module(1, 4, 1, 8, 0, "PALETTE COLOR")
      .add(0x0028, 0x1101, gdcm::VR::US, u16({4, 0, 16}))
      .add(0x0028, 0x1102, gdcm::VR::US, u16({4, 0, 16}))
      .add(0x0028, 0x1103, gdcm::VR::US, u16({4, 0, 16}))
      .add(0x0028, 0x1201, gdcm::VR::OW, u16({0, 1000, 30000, 65535}))
      .add(0x0028, 0x1202, gdcm::VR::OW, u16({65535, 2000, 0, 256}))
      .add(0x0028, 0x1203, gdcm::VR::OW, u16({5, 6, 7, 8}))
      .add(0x7fe0, 0x0010, gdcm::VR::OB, std::string{3, 0, 1, 2})
      .write(path, kSecondaryCapture);

  const DicomImage image = read_dicom_image(path);
  EXPECT_EQ(image.photometric, "PALETTE COLOR");
  ASSERT_EQ(image.pixels.sizes(), torch::IntArrayRef({1, 3, 1, 4}));
  // Pixels 3, 0, 1, 2 pick those entries of each table, as pydicom's apply_color_lut does.
  const torch::Tensor expected =
      torch::tensor({65535, 0, 1000, 30000, 256, 65535, 2000, 0, 8, 5, 6, 7}, torch::kFloat64)
          .view({1, 3, 1, 4});
  EXPECT_TRUE(image.pixels.equal(expected)) << image.pixels;
}

TEST(DicomRead, SegmentedPaletteExpandsAsPydicom) {
  TempDir dir;
  const std::string path = dir.file("segmented.dcm");
  // Red: discrete 100, 200; linear to 500 in 3 steps (300, 400, 500); indirect: 1 segment from
  // word 0 (100, 200). Green: discrete 0; linear to 10 in 4 steps (2.5, 5, 7.5, 10, rounded
  // half to even: 2, 5, 8, 10); discrete 11, 12. Blue: discrete 1..7. pydicom's
  // apply_color_lut gives the same on this module.
  RawDicom()
      .pixel_module(1, 8, 1, 8, 0, "PALETTE COLOR")
      .add(0x0028, 0x1101, gdcm::VR::US, u16({7, 0, 16}))
      .add(0x0028, 0x1102, gdcm::VR::US, u16({7, 0, 16}))
      .add(0x0028, 0x1103, gdcm::VR::US, u16({7, 0, 16}))
      .add(0x0028, 0x1221, gdcm::VR::OW, u16({0, 2, 100, 200, 1, 3, 500, 2, 1, 0, 0}))
      .add(0x0028, 0x1222, gdcm::VR::OW, u16({0, 1, 0, 1, 4, 10, 0, 2, 11, 12}))
      .add(0x0028, 0x1223, gdcm::VR::OW, u16({0, 7, 1, 2, 3, 4, 5, 6, 7}))
      .add(0x7fe0, 0x0010, gdcm::VR::OB, std::string{0, 1, 2, 3, 4, 5, 6, 9})
      .write(path, kSecondaryCapture);

  const DicomImage image = read_dicom_image(path);
  // Index 9 is past the 7 entries: it takes the last one.
  const torch::Tensor expected = torch::tensor({100, 200, 300, 400, 500, 100, 200, 200,  //
                                                0,   2,   5,   8,   10,  11,  12,  12,   //
                                                1,   2,   3,   4,   5,   6,   7,   7},
                                               torch::kFloat64)
                                     .view({1, 3, 1, 8});
  EXPECT_TRUE(image.pixels.equal(expected)) << image.pixels;
}

TEST(DicomRead, UnsupportedPhotometricNamesField) {
  TempDir dir;
  const std::string path = dir.file("partial.dcm");
  RawDicom()
      .pixel_module(2, 2, 3, 8, 0, "YBR_PARTIAL_422")
      .add(0x0028, 0x0006, gdcm::VR::US, u16({0}))
      .add(0x7fe0, 0x0010, gdcm::VR::OB, std::string(12, '\x80'))
      .write(path, kSecondaryCapture);
  const std::string msg = message_of<FormatError>([&] { read_dicom_image(path); });
  expect_contains(msg, path);
  expect_contains(msg, "(0028,0004)");
}

TEST(DicomDisplay, ScalesToFullRange) {
  DicomImage image;
  image.photometric = "MONOCHROME2";
  image.pixels = torch::tensor({0.0, 1000.0, 500.0, 2000.0}, torch::kFloat64).view({1, 1, 2, 2});
  // v * 255 / 2000: 0, 127.5, 63.75, 255 → rounded (half to even).
  EXPECT_TRUE(display_uint8(image).equal(
      torch::tensor({0, 128, 64, 255}, torch::kUInt8).view({1, 1, 2, 2})));

  image.photometric = "MONOCHROME1";
  EXPECT_TRUE(display_uint8(image).equal(
      torch::tensor({255, 128, 191, 0}, torch::kUInt8).view({1, 1, 2, 2})));

  image.pixels = torch::full({2, 3, 2, 2}, 700.0, torch::kFloat64);
  image.photometric = "RGB";
  EXPECT_TRUE(display_uint8(image).equal(torch::zeros({2, 3, 2, 2}, torch::kUInt8)));
}

TEST(DicomDisplay, KeepsEightBitValues) {
  DicomImage image;
  image.photometric = "MONOCHROME2";
  image.pixels = torch::tensor({3.0, 100.0, 50.0, 200.0}, torch::kFloat64).view({1, 1, 2, 2});
  EXPECT_TRUE(display_uint8(image).equal(
      torch::tensor({3, 100, 50, 200}, torch::kUInt8).view({1, 1, 2, 2})));
  image.photometric = "MONOCHROME1";
  EXPECT_TRUE(display_uint8(image).equal(
      torch::tensor({252, 155, 205, 55}, torch::kUInt8).view({1, 1, 2, 2})));
  // A fraction means the values are not stored 8-bit data: stretched as before.
  image.photometric = "MONOCHROME2";
  image.pixels = torch::tensor({0.0, 100.0, 50.0, 200.5}, torch::kFloat64).view({1, 1, 2, 2});
  EXPECT_EQ(display_uint8(image).max().item<int64_t>(), 255);
}

// ---- write_dicom_image ----

const std::map<std::string, std::string> kTags = {
    {"Manufacturer", "ACME Imaging"},      // even length
    {"ManufacturerModelName", "Model-7"},  // odd length: padded with a space
    {"StationName", "ST1"},
    {"InstitutionName", "General Hospital"},
    {"StudyDate", "20240131"},
    {"PatientID", "PAT-0042"},
    {"BodyPartExamined", "CHEST"},
    {"Modality", "OT"},
};

TEST(DicomWrite, GreyRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("grey.dcm");
  // Odd byte count (3×5): the writer pads the pixel data to even length.
  const torch::Tensor image = torch::arange(15, torch::kUInt8).mul(17).view({1, 3, 5});
  write_dicom_image(path, image, kTags);
  EXPECT_TRUE(is_dicom_file(path));

  const DicomImage back = read_dicom_image(path);
  EXPECT_EQ(back.photometric, "MONOCHROME2");
  EXPECT_TRUE(back.pixels.equal(image.to(torch::kFloat64).unsqueeze(0)));
  for (const auto& [keyword, value] : kTags) EXPECT_EQ(back.tags.at(keyword), value) << keyword;
  // Generated, valid-looking UIDs.
  const std::string uid = back.tags.at("SOPInstanceUID");
  EXPECT_FALSE(uid.empty());
  EXPECT_EQ(uid.find_first_not_of("0123456789."), std::string::npos) << uid;
}

TEST(DicomWrite, RgbRoundTripKeepsGivenUid) {
  TempDir dir;
  const std::string path = dir.file("rgb.dcm");
  const torch::Tensor image = torch::randint(0, 256, {3, 4, 6}, torch::kUInt8);
  std::map<std::string, std::string> tags = kTags;
  tags["SOPInstanceUID"] = "1.2.3.4.5";  // odd length: padded with a NUL
  write_dicom_image(path, image, tags);

  const DicomImage back = read_dicom_image(path);
  EXPECT_EQ(back.photometric, "RGB");
  EXPECT_TRUE(back.pixels.equal(image.to(torch::kFloat64).unsqueeze(0)));
  EXPECT_EQ(back.tags, tags);
  EXPECT_TRUE(display_uint8(back)[0].equal(image));  // 8-bit data is kept as written
}

TEST(DicomWrite, TagsNotGivenStayEmpty) {
  TempDir dir;
  const std::string path = dir.file("few.dcm");
  write_dicom_image(path, torch::full({1, 2, 2}, 9, torch::kUInt8), {{"Manufacturer", "X"}});
  const DicomImage back = read_dicom_image(path);
  EXPECT_EQ(back.tags.at("Manufacturer"), "X");
  // Type 2 attributes are written empty, not invented (GDCM would date the study today).
  EXPECT_EQ(back.tags.at("StudyDate"), "");
  EXPECT_EQ(back.tags.at("PatientID"), "");
  EXPECT_EQ(back.tags.count("BodyPartExamined"), 0u);
  EXPECT_TRUE(display_uint8(back).equal(torch::full({1, 1, 2, 2}, 9, torch::kUInt8)));
}

TEST(DicomWrite, RejectsBadInput) {
  TempDir dir;
  const std::string path = dir.file("bad.dcm");
  const torch::Tensor image = torch::zeros({1, 2, 2}, torch::kUInt8);
  test::expect_invalid(
      [&] {
        write_dicom_image(path, image, {{"Manufactuer", "x"}});
      },
      "unknown DICOM keyword 'Manufactuer'");
  test::expect_invalid([&] { write_dicom_image(path, image, {{"Rows", "2"}}); }, "Rows");
  test::expect_invalid(
      [&] {
        write_dicom_image(path, image, {{"SOPClassUID", "1.2"}});
      },
      "SOPClassUID");
  test::expect_invalid(
      [&] {
        write_dicom_image(path, torch::zeros({2, 2, 2}, torch::kUInt8));
      },
      "C = 1 or 3");
  test::expect_invalid(
      [&] {
        write_dicom_image(path, torch::zeros({1, 2, 2}, torch::kFloat32));
      },
      "uint8");
  EXPECT_FALSE(fs::exists(path));
  EXPECT_THROW(write_dicom_image(dir.file("no/such/folder/x.dcm"), image), IoError);
}

// ---- read_dicom_dir ----

void copy_sample(const std::string& name, const TempDir& dir, const std::string& to) {
  fs::create_directories(fs::path(dir.file(to)).parent_path());
  fs::copy_file(sample(name), dir.file(to));
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::vector<std::string> ids_where(const Dataset& data, const std::string& expression) {
  const torch::Tensor mask = Selection::parse(expression).mask(data);
  std::vector<std::string> ids;
  for (int64_t i = 0; i < data.size(); ++i) {
    if (mask[i].item<bool>()) ids.push_back(data.metadata.column("id").text(i));
  }
  return ids;
}

/// A folder of samples from several vendors, split by top-level folders.
void make_vendor_dir(const TempDir& dir) {
  copy_sample("CT_small.dcm", dir, "train/ct.dcm");             // GE MEDICAL SYSTEMS, RHAPSODE
  copy_sample("JPEG2000.dcm", dir, "train/nm.dcm");             // GE Medical Systems, 1024×256
  copy_sample("MR_small.dcm", dir, "train/sub/mr.dcm");         // TOSHIBA_MEC, MRT50H1
  copy_sample("ExplVR_BigEnd.dcm", dir, "train/us.dcm");        // G.E. Medical Systems, RGB
  copy_sample("MR_small_RLE.dcm", dir, "test/mr.dcm");          // TOSHIBA_MEC, MRT50H1
  copy_sample("693_J2KI.dcm", dir, "test/ct.dcm");              // no manufacturer
  copy_sample("SC_rgb_rle_2frame.dcm", dir, "val/frames.dcm");  // 2 frames
  write_text(dir.file("train/README.txt"), "not DICOM; skipped\n");
  write_text(dir.file("labels.csv"),
             "path,label,site,note\n"
             "train/ct.dcm,abnormal,1,a\n"
             "train/nm.dcm,normal,2,b\n"
             "train/sub/mr.dcm,normal,1,\n"
             "train/us.dcm,abnormal,3,c\n"
             "test/mr.dcm,normal,2,d\n"
             "test/ct.dcm,abnormal,1,e\n"
             "val/frames.dcm,normal,4,f\n");
}

TEST(DicomDir, ReadsSplitsTagsAndLabels) {
  use_test_salt();
  TempDir dir;
  make_vendor_dir(dir);
  const DataBundle b = read_dicom_dir(dir.path());
  EXPECT_EQ(b.source, dir.path());
  ASSERT_EQ(b.train.size(), 4);
  ASSERT_EQ(b.test.size(), 2);
  ASSERT_EQ(b.validation.size(), 1);
  for (const Dataset* d : {&b.train, &b.test, &b.validation}) {
    EXPECT_NO_THROW(d->validate("dicom"));
    // Colour anywhere makes every image RGB; size = the first training image's height (CT, 128).
    EXPECT_EQ(d->images.sizes(), torch::IntArrayRef({d->size(), 3, 128, 128}));
    EXPECT_EQ(d->class_names, (std::vector<std::string>{"abnormal", "normal"}));
  }
  const Metadata& m = b.train.metadata;
  EXPECT_EQ(m.column("id").text(0), "train/ct.dcm");  // sorted by relative path
  EXPECT_EQ(m.column("id").text(2), "train/sub/mr.dcm");
  EXPECT_EQ(m.column("source").text(0), (fs::path(dir.path()) / "train/ct.dcm").string());
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({0, 1, 1, 0}, torch::kLong)));
  EXPECT_EQ(m.column("Manufacturer").text(1), "GE Medical Systems");
  EXPECT_EQ(m.column("ManufacturerModelName").text(2), "MRT50H1");
  EXPECT_EQ(m.column("InstitutionName").text(0), "JFK IMAGING CENTER");
  EXPECT_EQ(m.column("BodyPartExamined").text(0), "");  // absent in the file
  EXPECT_EQ(m.column("BodyPartExamined").text(1), "WHOLE BODY");
  EXPECT_EQ(m.column("Modality").text(3), "US");
  EXPECT_EQ(m.column("StudyDate").text(0), "20040119");
  EXPECT_TRUE(m.column("site").is_numeric());
  EXPECT_EQ(m.column("site").number(3), 3);
  EXPECT_EQ(m.column("note").text(2), "");
  EXPECT_FALSE(m.has("frame"));
  EXPECT_FALSE(m.has("path"));
  EXPECT_FALSE(m.has("label"));
  EXPECT_EQ(b.validation.metadata.column("id").text(0), "val/frames.dcm");

  // Selections by vendor and model.
  EXPECT_EQ(ids_where(b.train, "Manufacturer == 'GE MEDICAL SYSTEMS'"),
            (std::vector<std::string>{"train/ct.dcm"}));
  EXPECT_EQ(
      ids_where(
          b.train,
          "Manufacturer in ['GE MEDICAL SYSTEMS', 'GE Medical Systems', 'G.E. Medical Systems']"),
      (std::vector<std::string>{"train/ct.dcm", "train/nm.dcm", "train/us.dcm"}));
  EXPECT_EQ(ids_where(b.train, "ManufacturerModelName == 'MRT50H1'"),
            (std::vector<std::string>{"train/sub/mr.dcm"}));
  EXPECT_EQ(ids_where(b.test, "ManufacturerModelName == 'MRT50H1'"),
            (std::vector<std::string>{"test/mr.dcm"}));

  // Patients are hashed: the same patient (MR_small and its RLE copy) has the same hash, and
  // no clear PatientID appears anywhere in the data sets.
  const std::string mr_patient = m.column(kPatientColumn).text(2);
  EXPECT_EQ(mr_patient, patient_hash("4MR1"));
  EXPECT_EQ(b.test.metadata.column("id").text(1), "test/mr.dcm");
  EXPECT_EQ(b.test.metadata.column(kPatientColumn).text(1), mr_patient);
  EXPECT_EQ(m.column(kPatientColumn).text(3), "");  // ExplVR_BigEnd has no PatientID
  std::set<std::string> clear;
  for (const char* name :
       {"CT_small.dcm", "JPEG2000.dcm", "MR_small.dcm", "693_J2KI.dcm", "SC_rgb_rle_2frame.dcm"}) {
    clear.insert(read_dicom_image(sample(name)).tags.at("PatientID"));
  }
  EXPECT_EQ(clear.size(), 5u);
  for (const Dataset* d : {&b.train, &b.test, &b.validation}) {
    for (const Column& c : d->metadata.columns()) {
      if (!c.is_string()) continue;
      for (int64_t i = 0; i < c.size(); ++i) {
        for (const std::string& id : clear) {
          EXPECT_EQ(c.text(i).find(id), std::string::npos) << c.name << " holds " << id;
        }
      }
    }
  }
}

TEST(DicomDir, FramesAndImageSize) {
  use_test_salt();
  TempDir dir;
  make_vendor_dir(dir);
  DataOptions options;
  options.all_frames = true;
  options.image_size = 16;
  const DataBundle b = read_dicom_dir(dir.path(), options);
  EXPECT_EQ(b.train.images.sizes(), torch::IntArrayRef({4, 3, 16, 16}));
  const Metadata& v = b.validation.metadata;
  ASSERT_EQ(v.rows(), 2);
  EXPECT_EQ(v.column("id").text(0), "val/frames.dcm#0");
  EXPECT_EQ(v.column("id").text(1), "val/frames.dcm#1");
  EXPECT_EQ(v.column("frame").number(1), 1);
  EXPECT_EQ(b.train.metadata.column("frame").number(0), 0);
  EXPECT_EQ(b.train.metadata.column("id").text(0), "train/ct.dcm#0");
  // Both frames of the file carry the row's label and metadata.
  EXPECT_TRUE(b.validation.labels.equal(torch::tensor({1, 1}, torch::kLong)));
  EXPECT_EQ(v.column("note").text(1), "f");

  // Without all_frames, the middle frame (2 / 2 = frame 1) is the sample.
  options.all_frames = false;
  const DataBundle middle = read_dicom_dir(dir.path(), options);
  EXPECT_TRUE(middle.validation.images[0].equal(b.validation.images[1]));
}

TEST(DicomDir, KeyedBySopInstanceUidWithSplitColumnAndClasses) {
  use_test_salt();
  TempDir dir;
  copy_sample("CT_small.dcm", dir, "a.dcm");
  copy_sample("MR_small.dcm", dir, "b/b.dcm");
  copy_sample("JPEG2000.dcm", dir, "c.dcm");
  write_text(dir.file("classes.txt"), "healthy\nsick\n");
  write_text(dir.file("labels.csv"),
             "SOPInstanceUID,label,split,PatientID\n"
             "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457,sick,test,4MR1\n"
             "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322,0,train,\n"
             "1.3.6.1.4.1.5962.1.1.8.1.3.20040826185059.5457,1,train,8NM1\n");
  const DataBundle b = read_dicom_dir(dir.path());
  EXPECT_EQ(b.train.class_names, (std::vector<std::string>{"healthy", "sick"}));
  ASSERT_EQ(b.train.size(), 2);
  EXPECT_EQ(b.train.metadata.column("id").text(0), "a.dcm");
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({0, 1}, torch::kLong)));
  EXPECT_EQ(b.test.metadata.column("id").text(0), "b/b.dcm");
  EXPECT_TRUE(b.test.labels.equal(torch::tensor({1}, torch::kLong)));
  EXPECT_EQ(b.validation.size(), 0);
  EXPECT_EQ(b.train.channels(), 1);
  // The sheet's PatientID column is hashed into `patient`, never kept in clear.
  EXPECT_FALSE(b.train.metadata.has("PatientID"));
  EXPECT_EQ(b.train.metadata.column(kPatientColumn).text(1), patient_hash("8NM1"));

  // A sheet patient that contradicts the file's is refused without showing either ID.
  write_text(dir.file("labels.csv"),
             "SOPInstanceUID,label,split,PatientID\n"
             "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457,sick,test,4MR1\n"
             "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322,0,train,someone-else\n"
             "1.3.6.1.4.1.5962.1.1.8.1.3.20040826185059.5457,1,train,8NM1\n");
  const std::string msg = message_of<FormatError>([&] { read_dicom_dir(dir.path()); });
  expect_contains(msg, "labels.csv:3");
  EXPECT_EQ(msg.find("someone-else"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("1CT1"), std::string::npos) << msg;
}

TEST(DicomDir, MissingRowsFilesAndSplits) {
  use_test_salt();
  TempDir dir;
  make_vendor_dir(dir);
  const std::string labels = dir.file("labels.csv");

  // A file without a row.
  write_text(labels, "path,label\ntrain/ct.dcm,1\n");
  std::string msg = message_of<FormatError>([&] { read_dicom_dir(dir.path()); });
  expect_contains(msg, dir.file("test/ct.dcm"));
  expect_contains(msg, labels);

  // A row without a file.
  write_text(labels,
             "path,label\ntrain/ct.dcm,1\ntrain/gone.dcm,0\ntrain/nm.dcm,0\ntrain/sub/mr.dcm,0\n"
             "train/us.dcm,0\ntest/mr.dcm,0\ntest/ct.dcm,0\nval/frames.dcm,0\n");
  msg = message_of<FormatError>([&] { read_dicom_dir(dir.path()); });
  expect_contains(msg, labels + ":3");
  expect_contains(msg, "gone.dcm");

  // No split column and a file outside train/, test/ and val/.
  copy_sample("CT_small.dcm", dir, "loose.dcm");
  write_text(labels,
             "path,label\nloose.dcm,1\ntrain/ct.dcm,1\ntrain/nm.dcm,0\ntrain/sub/mr.dcm,0\n"
             "train/us.dcm,0\ntest/mr.dcm,0\ntest/ct.dcm,0\nval/frames.dcm,0\n");
  msg = message_of<FormatError>([&] { read_dicom_dir(dir.path()); });
  expect_contains(msg, dir.file("loose.dcm"));
  expect_contains(msg, "`split` column");
  expect_contains(msg, "train");

  // A bad split value, and no labels.csv at all.
  write_text(labels, "path,label,split\nloose.dcm,1,training\n");
  fs::remove_all(dir.file("train"));
  fs::remove_all(dir.file("test"));
  fs::remove_all(dir.file("val"));
  expect_contains(message_of<FormatError>([&] { read_dicom_dir(dir.path()); }),
                  labels + ":2: split 'training'");
  fs::remove(labels);
  expect_contains(message_of<FormatError>([&] { read_dicom_dir(dir.path()); }), "labels.csv");
  EXPECT_THROW(read_dicom_dir(dir.file("nowhere")), IoError);
}

TEST(DicomDir, ObjectsWithoutPixelDataAreSkippedAndCounted) {
  use_test_salt();
  TempDir dir;
  make_vendor_dir(dir);
  copy_sample("waveform_ecg.dcm", dir, "train/ecg.dcm");  // ECG
  copy_sample("test-SR.dcm", dir, "train/report.dcm");    // SR
  copy_sample("rtplan.dcm", dir, "test/plan.dcm");        // RTPLAN

  // Skipped without a row in labels.csv, and counted by Modality.
  const DataBundle b = read_dicom_dir(dir.path());
  EXPECT_EQ(b.train.size() + b.test.size() + b.validation.size(), 7);
  ASSERT_EQ(b.notes.size(), 1u);
  expect_contains(b.notes[0], "skipped 3 DICOM objects without pixel data");
  expect_contains(b.notes[0], "ECG 1, RTPLAN 1, SR 1");

  // --strict-dicom refuses the first one, by file.
  DataOptions strict;
  strict.strict_dicom = true;
  std::string msg = message_of<FormatError>([&] { read_dicom_dir(dir.path(), strict); });
  expect_contains(msg, "no pixel data (7FE0,0010)");
  expect_contains(msg, "--strict-dicom");

  // A labels.csv row that names one is an error: the user meant it as a sample.
  std::ofstream(dir.file("labels.csv"), std::ios::app) << "train/report.dcm,normal,1,g\n";
  msg = message_of<FormatError>([&] { read_dicom_dir(dir.path()); });
  expect_contains(msg, dir.file("labels.csv") + ":9");
  expect_contains(msg, "report.dcm has no pixel data");
  expect_contains(msg, "Modality 'SR'");

  // A folder with nothing but such objects says so.
  TempDir only;
  copy_sample("rtplan.dcm", only, "train/a.dcm");
  write_text(only.file("labels.csv"), "path,label\n");
  msg = message_of<FormatError>([&] { read_dicom_dir(only.path()); });
  expect_contains(msg, "no DICOM file holds an image");
  expect_contains(msg, "RTPLAN 1");
}

}  // namespace
}  // namespace unlearn
