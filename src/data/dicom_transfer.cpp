#include "dicom_transfer.h"

#include <torch/torch.h>

#include <cstdint>
#include <cstring>

#include "unlearn/core/error.h"

namespace unlearn::dicom_detail {
namespace transfer {

void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }

void put_text(std::string& out, const std::string& text) {
  put_u64(out, text.size());
  out += text;
}

/// Reads back what the put_ functions wrote, refusing to run past the end.
class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}

  uint64_t u64() {
    uint64_t v = 0;
    std::memcpy(&v, take(8), 8);
    return v;
  }
  std::string text() {
    const uint64_t n = u64();
    return std::string(take(n), n);
  }
  const char* take(uint64_t n) {
    UNLEARN_CHECK_AS(Error, n <= bytes_.size() - at_, "DICOM worker: a truncated answer (",
                     bytes_.size(), " bytes, needed ", n, " more at ", at_, ")");
    const char* p = bytes_.data() + at_;
    at_ += n;
    return p;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  const std::string& bytes_;
  size_t at_ = 0;
};

}  // namespace transfer

std::string encode_read(const std::optional<DicomImage>& image, const std::string& modality) {
  std::string out;
  transfer::put_u64(out, image ? 1 : 0);
  transfer::put_text(out, modality);
  if (!image) return out;
  transfer::put_text(out, image->photometric);
  transfer::put_u64(out, image->tags.size());
  for (const auto& [keyword, value] : image->tags) {
    transfer::put_text(out, keyword);
    transfer::put_text(out, value);
  }
  const torch::Tensor pixels = image->pixels.to(torch::kFloat64).contiguous();
  UNLEARN_CHECK_AS(Error, pixels.dim() == 4, "DICOM worker: pixels are not F×C×H×W");
  for (int64_t d = 0; d < 4; ++d) transfer::put_u64(out, static_cast<uint64_t>(pixels.size(d)));
  if (pixels.numel() > 0) out.append(static_cast<const char*>(pixels.data_ptr()), pixels.nbytes());
  return out;
}

std::optional<DicomImage> decode_read(const std::string& bytes, std::string& modality) {
  transfer::Reader in(bytes);
  const bool has_image = in.u64() == 1;
  modality = in.text();
  if (!has_image) return std::nullopt;
  DicomImage image;
  image.photometric = in.text();
  for (uint64_t n = in.u64(), i = 0; i < n; ++i) {
    std::string keyword = in.text();
    image.tags[keyword] = in.text();
  }
  std::vector<int64_t> sizes(4);
  uint64_t count = 1;
  for (int64_t& size : sizes) {
    size = static_cast<int64_t>(in.u64());
    count *= static_cast<uint64_t>(size);
  }
  UNLEARN_CHECK_AS(Error, count <= bytes.size() / sizeof(double),
                   "DICOM worker: a truncated answer (", count, " pixel values)");
  image.pixels = torch::empty(sizes, torch::kFloat64);
  const char* values = in.take(count * sizeof(double));
  if (count > 0) std::memcpy(image.pixels.data_ptr(), values, count * sizeof(double));
  UNLEARN_CHECK_AS(Error, in.done(), "DICOM worker: bytes after the answer");
  return image;
}

}  // namespace unlearn::dicom_detail
