#pragma once
// Patient identifiers never leave a reader in clear: they become salted SHA-256 hashes, and
// selections on them (`patient in @withdrawn.txt`) hash the clear IDs of the file the same way.

#include <string>

namespace unlearn {

/// Name of the metadata column that holds hashed patient IDs.
inline constexpr const char* kPatientColumn = "patient";

/// The site's secret salt: $UNLEARN_PATIENT_SALT if set; else the file
/// $UNLEARN_CONFIG_DIR/patient-salt (default ~/.config/unlearn/patient-salt), created with 32
/// random bytes and mode 0600 on first use. Read once per process.
const std::string& patient_salt();

/// "p-" followed by the first 16 hex digits of SHA-256(salt, clear id). Surrounding spaces of
/// `clear_id` are ignored, as DICOM pads values with them. Empty stays empty (no patient), and
/// a value that already looks like a hash is returned as is, so re-exported data keeps its links.
std::string patient_hash(const std::string& clear_id);

/// True for "p-" followed by 16 lower-case hex digits: the form patient_hash() writes.
bool looks_like_patient_hash(const std::string& text);

/// True for column names that hold patient IDs in sample sheets: PatientID, patient_id,
/// patient (any case).
bool is_patient_column(const std::string& name);

}  // namespace unlearn
