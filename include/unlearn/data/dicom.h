#pragma once
// DICOM images, read and written with GDCM: one file to decoded values (read_dicom_image), a
// folder of files with a labels.csv sample sheet to a DataBundle (read_dicom_dir), and tiny
// Secondary Capture files for tests and examples (write_dicom_image). docs/formats.md, "DICOM".

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "unlearn/data/dataset.h"
#include "unlearn/data/source.h"

namespace unlearn {

/// One decoded DICOM image.
struct DicomImage {
  /// float64, F×C×H×W (F frames, C = 1 or 3): the stored values after the modality LUT
  /// (Rescale Slope/Intercept, or a Modality LUT Sequence) for monochrome images, palette
  /// colour mapped to RGB, YBR_FULL and YBR_FULL_422 converted to RGB as pydicom's
  /// convert_color_space does, planes interleaved or not. MONOCHROME1 is NOT inverted yet
  /// (display_uint8 does that).
  torch::Tensor pixels;
  /// Photometric Interpretation (0028,0004) as written in the file, trimmed ("MONOCHROME1",
  /// "RGB", "YBR_FULL_422", "PALETTE COLOR", ...).
  std::string photometric;
  /// Keyword → value, trimmed of DICOM's space/NUL padding, for each of dicom_tag_keywords();
  /// absent tags are absent. PatientID is in clear here: readers hash it (patient_hash) before
  /// it reaches a Dataset.
  std::map<std::string, std::string> tags;

  int64_t frames() const { return pixels.size(0); }
  int64_t channels() const { return pixels.size(1); }
  int64_t height() const { return pixels.size(2); }
  int64_t width() const { return pixels.size(3); }
};

/// Where read_dicom_image runs GDCM.
enum class DicomIsolation { worker_process, this_process };

/// The tags read_dicom_image reports: Manufacturer, ManufacturerModelName, StationName,
/// InstitutionName, BodyPartExamined, Modality, StudyDate, PatientID, SOPInstanceUID.
const std::vector<std::string>& dicom_tag_keywords();

/// Decodes the DICOM file `path` with GDCM: uncompressed (implicit/explicit VR, little/big
/// endian, deflated), JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000 and RLE,
/// 1/8/16/32-bit, signed or unsigned, any number of frames. Values agree with pydicom's
/// pixel_array followed by convert_color_space, apply_color_lut or apply_modality_lut
/// (tests/unit/data/dicom_golden.json). Throws IoError when the file cannot be read,
/// FormatError naming the file when it is not DICOM, has no pixel data ("no pixel data
/// (7FE0,0010)"), or has a layout this reader does not handle (the message names the field,
/// e.g. "Photometric Interpretation (0028,0004) YBR_PARTIAL_420 is not supported").
///
/// GDCM runs in a worker process (`isolation`, by default): Debian builds GDCM with assertions,
/// and on some malformed files an assertion aborts the process reading them. Then only the
/// worker ends, and this throws FormatError ("... GDCM could not read it: its worker process was
/// killed by signal 6 (Aborted) ..."); the next read starts a new worker. this_process is for
/// debuggers and fuzzing; so is the environment variable UNLEARN_DICOM_IN_PROCESS=1, which makes
/// every read (read_dicom_dir's too) run here.
DicomImage read_dicom_image(const std::string& path,
                            DicomIsolation isolation = DicomIsolation::worker_process);

/// The image as F×C×H×W uint8 for display and training. Values that are already integers in
/// 0..255 (8-bit data) are kept, MONOCHROME1 as 255 − v. Anything else is inverted for
/// MONOCHROME1 (so that bright means dense, as in MONOCHROME2), then scaled linearly so the
/// image's minimum (over all frames and channels) becomes 0 and its maximum 255, rounded half
/// to even; a constant image becomes zeros. No window/level is applied.
torch::Tensor display_uint8(const DicomImage& image);

/// True when `path` is a regular file whose bytes 128..131 are "DICM" (the DICOM preamble).
bool is_dicom_file(const std::string& path);

/// Reads every DICOM file under `dir` (recursively; files without the "DICM" preamble, and
/// DICOMDIR, are skipped), in the order of their paths relative to `dir`. `dir/labels.csv` names
/// each file's class:
///  - the key column `path` (relative to dir) or, without it, `SOPInstanceUID`;
///  - `label`: a class index, or a class name;
///  - `split` (train, test or val, any case); without it, files under the top-level folders
///    train/, test/ and val/ take that split;
///  - any further columns become metadata columns (typed_column); a patient ID column
///    (is_patient_column) is hashed into `patient`, and must agree with the file's own.
///    id, source, frame, class, index and the tag columns are reserved.
/// Class names: `dir/classes.txt` (one per line) if present; else the sorted distinct labels
/// when they are names; else "0".."K-1".
/// Multi-frame files give their middle frame (F/2), or every frame when options.all_frames
/// (ids then end in "#k" and an int column `frame` holds k).
/// Metadata: `id` (relative path), `source` (file path), Manufacturer, ManufacturerModelName,
/// StationName, InstitutionName, BodyPartExamined, Modality, StudyDate (strings, "" when
/// absent) and `patient` = patient_hash(PatientID); the clear PatientID is never kept.
/// Images: display_uint8, then 1 channel (3 if any image has colour), resized to
/// options.image_size squared (0: the first training image's height).
/// Throws IoError for an unreadable folder or file, FormatError naming the file (and
/// labels.csv:LINE) for a file without a labels row, a row without a file, or no split.
DataBundle read_dicom_dir(const std::string& dir, const DataOptions& options = {});

/// Writes a C×H×W uint8 image (C = 1: MONOCHROME2, C = 3: RGB) as a Secondary Capture DICOM
/// file, uncompressed explicit VR little endian, replacing `path` atomically. `tags` sets text
/// attributes by keyword (Manufacturer, PatientID, StudyDate, ...); SOPInstanceUID,
/// StudyInstanceUID and SeriesInstanceUID are generated when not given; Type 2 attributes not
/// given (PatientID, StudyDate, ...) are written empty, and Modality defaults to "OT". Reads
/// back through read_dicom_image with the same pixels and tags. Throws InvalidArgument for another
/// shape or type, an unknown keyword, a keyword whose value is not text (VR SQ, US, OB, ...) or one
/// the writer sets itself (the pixel module, SOPClassUID, file meta); IoError naming the file when
/// writing fails.
void write_dicom_image(const std::string& path, const torch::Tensor& image,
                       const std::map<std::string, std::string>& tags = {});

}  // namespace unlearn
