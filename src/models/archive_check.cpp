#include "archive_check.h"

#include <zip.h>

#include <filesystem>
#include <memory>

#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"

namespace unlearn::models_detail {

void check_archive_member_sizes(const std::string& path) {
  std::error_code ec;
  const auto archive_bytes = std::filesystem::file_size(path, ec);
  if (ec) return;  // LibTorch's reader names the problem
  int code = ZIP_ER_OK;
  const std::unique_ptr<zip_t, decltype(&zip_discard)> zip(
      zip_open(path.c_str(), ZIP_RDONLY, &code), &zip_discard);
  if (zip == nullptr) return;
  const zip_int64_t members = zip_get_num_entries(zip.get(), 0);
  for (zip_int64_t i = 0; i < members; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip.get(), static_cast<zip_uint64_t>(i), 0, &st) != 0 ||
        (st.valid & ZIP_STAT_SIZE) == 0) {
      continue;
    }
    UNLEARN_CHECK_AS(FormatError, st.size <= limits::max_unzipped_bytes(archive_bytes), path,
                     ": not a readable model file (member '",
                     (st.valid & ZIP_STAT_NAME) != 0 ? st.name : "?", "' claims ", st.size,
                     " bytes, more than the ", archive_bytes, "-byte file can hold)");
  }
}

}  // namespace unlearn::models_detail
