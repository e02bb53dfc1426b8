#include "unlearn/data/patient_hash.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/paths.h"
#include "unlearn/core/sha256.h"

namespace unlearn {

namespace {

namespace fs = std::filesystem;

fs::path config_dir() {
  const std::string dir = default_config_dir();
  UNLEARN_CHECK_AS(IoError, !dir.empty(),
                   "patient IDs: no place for the salt file; set UNLEARN_PATIENT_SALT or "
                   "UNLEARN_CONFIG_DIR");
  return dir;
}

std::string random_hex(size_t bytes) {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  UNLEARN_CHECK_AS(IoError, urandom.good(), "patient IDs: cannot read /dev/urandom for a salt");
  std::string raw(bytes, '\0');
  urandom.read(raw.data(), static_cast<std::streamsize>(bytes));
  UNLEARN_CHECK_AS(IoError, urandom.good(), "patient IDs: short read from /dev/urandom");
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

std::string load_or_create_salt() {
  if (const char* salt = std::getenv("UNLEARN_PATIENT_SALT"); salt && *salt) return salt;
  const fs::path path = config_dir() / "patient-salt";
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fs::create_directories(path.parent_path(), ec);
    UNLEARN_CHECK_AS(IoError, !ec, "patient IDs: cannot create ", path.parent_path().string(), ": ",
                     ec.message());
    try {
      write_atomically(path.string(), false, "patient salt", [](const std::string& tmp) {
        std::ofstream out(tmp, std::ios::binary);
        out << random_hex(32) << '\n';
        UNLEARN_CHECK_AS(IoError, out.good(), "patient IDs: cannot write ", tmp);
        out.close();
        ::chmod(tmp.c_str(), S_IRUSR | S_IWUSR);  // the salt is a site secret
      });
    } catch (const IoError&) {
      // Another process created it first; read theirs below.
      if (!fs::exists(path, ec)) throw;
    }
  }
  std::ifstream in(path);
  UNLEARN_CHECK_AS(IoError, in.good(), "patient IDs: cannot read the salt file ", path.string());
  std::string salt;
  std::getline(in, salt);
  UNLEARN_CHECK_AS(FormatError, !salt.empty(), "patient IDs: the salt file ", path.string(),
                   " is empty");
  return salt;
}

// Named apart from source.cpp's trim(): the library is compiled in unity batches.
std::string trim_id(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

const std::string& patient_salt() {
  static std::once_flag once;
  static std::string salt;
  std::call_once(once, [] { salt = load_or_create_salt(); });
  return salt;
}

std::string patient_hash(const std::string& clear_id) {
  const std::string id = trim_id(clear_id);
  if (id.empty()) return "";
  if (looks_like_patient_hash(id)) return id;  // already hashed: a re-export stays linkable
  Sha256 digest;
  digest.update(patient_salt());
  digest.update("\n", 1);  // keeps (salt, id) pairs from running together
  digest.update(id);
  return "p-" + digest.hex().substr(0, 16);
}

bool looks_like_patient_hash(const std::string& text) {
  if (text.size() != 18 || text.compare(0, 2, "p-") != 0) return false;
  return std::all_of(text.begin() + 2, text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  });
}

bool is_patient_column(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "patientid" || lower == "patient_id" || lower == "patient";
}

}  // namespace unlearn
