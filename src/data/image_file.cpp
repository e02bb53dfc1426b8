#include "unlearn/data/image_file.h"

#include <fcntl.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <vector>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"
#include "unlearn/data/image_ops.h"

namespace unlearn {

namespace {

// The library is built in unity batches, so these helpers have names no other file uses.

struct StbImageFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};
using StbPixels = std::unique_ptr<unsigned char, StbImageFree>;

/// A file descriptor closed on every path out, exceptions included.
struct ImageFileDescriptor {
  explicit ImageFileDescriptor(int f) : fd(f) {}
  ~ImageFileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
  ImageFileDescriptor(const ImageFileDescriptor&) = delete;
  ImageFileDescriptor& operator=(const ImageFileDescriptor&) = delete;
  int fd;
};

/// Reads the whole of `path` into `bytes` (reusing its capacity); IoError naming the file.
void read_image_bytes(const std::string& path, const char* fn, std::vector<unsigned char>& bytes) {
  const ImageFileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  const int fd = file.fd;
  if (fd < 0) {
    throw IoError(detail::concat(fn, ": cannot open ", path, ": ", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw IoError(detail::concat(fn, ": cannot stat ", path, ": ", std::strerror(errno)));
  }
  UNLEARN_CHECK_AS(IoError, !S_ISDIR(st.st_mode), fn, ": cannot read ", path,
                   ": it is a directory");
  // stb takes an int length; no image this toolkit reads comes near 2 GiB.
  UNLEARN_CHECK_AS(FormatError, st.st_size < INT_MAX, fn, ": ", path, " is too large (", st.st_size,
                   " bytes) for an image file");
  bytes.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      throw IoError(detail::concat(fn, ": cannot read ", path, ": ", std::strerror(errno)));
    }
    if (got == 0) break;  // the file shrank while we read it; decoding will say what is missing
    done += static_cast<size_t>(got);
  }
  bytes.resize(done);
}

[[noreturn]] void throw_undecodable(const std::string& path, const char* fn, size_t bytes) {
  if (bytes == 0) throw FormatError(detail::concat(fn, ": ", path, ": empty file, not an image"));
  const char* reason = stbi_failure_reason();
  throw FormatError(detail::concat(fn, ": ", path,
                                   ": not a decodable image (PNG, JPEG, BMP, GIF, TGA or PNM): ",
                                   reason != nullptr ? reason : "unknown error"));
}

ImageInfo image_info_of(const std::vector<unsigned char>& bytes, const std::string& path,
                        const char* fn) {
  int width = 0;
  int height = 0;
  int comp = 0;
  if (bytes.empty() || stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width,
                                             &height, &comp) == 0) {
    throw_undecodable(path, fn, bytes.size());
  }
  // A small file may claim a huge image (a decompression bomb): refused before decoding.
  limits::check_image_pixels(height, width, detail::concat(fn, ": ", path));
  return ImageInfo{comp, height, width};
}

/// Decodes `bytes` to interleaved H×W×`want` pixels (stb converts grey to RGB by repetition and
/// drops alpha when `want` asks for fewer channels).
StbPixels decode_image_bytes(const std::vector<unsigned char>& bytes, const std::string& path,
                             const char* fn, int want, int& width, int& height) {
  int in_file = 0;
  StbPixels pixels(stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width,
                                         &height, &in_file, want));
  if (!pixels) throw_undecodable(path, fn, bytes.size());
  return pixels;
}

/// H×W×C interleaved bytes to C×H×W planes.
void interleaved_to_planar(const unsigned char* src, int64_t height, int64_t width,
                           int64_t channels, uint8_t* dst) {
  const int64_t plane = height * width;
  if (channels == 1) {
    std::memcpy(dst, src, static_cast<size_t>(plane));
    return;
  }
  for (int64_t p = 0; p < plane; ++p) {
    for (int64_t c = 0; c < channels; ++c) dst[c * plane + p] = src[p * channels + c];
  }
}

/// A C×H×W uint8 tensor (a copy) of interleaved stb pixels.
torch::Tensor planar_tensor(const unsigned char* src, int64_t height, int64_t width,
                            int64_t channels) {
  torch::Tensor out = torch::empty({channels, height, width}, torch::kUInt8);
  interleaved_to_planar(src, height, width, channels, out.data_ptr<uint8_t>());
  return out;
}

/// Checks a C×H×W uint8 image for writing and returns it as contiguous H×W×C on the CPU.
torch::Tensor interleaved_for_writing(const torch::Tensor& image, const char* fn,
                                      int64_t max_channels) {
  UNLEARN_CHECK(image.defined(), fn, ": undefined image tensor");
  UNLEARN_CHECK(image.dim() == 3, fn, ": expected a C×H×W image, got ", image.dim(), " dimensions");
  UNLEARN_CHECK(image.scalar_type() == torch::kUInt8, fn, ": expected uint8 pixels, got ",
                image.scalar_type());
  const int64_t channels = image.size(0);
  UNLEARN_CHECK(channels >= 1 && channels <= max_channels, fn, ": expected 1 to ", max_channels,
                " channels, got ", channels);
  UNLEARN_CHECK(image.size(1) >= 1 && image.size(2) >= 1 && image.size(1) < INT_MAX / 4 &&
                    image.size(2) < INT_MAX / 4 / channels,
                fn, ": cannot write an image of ", image.size(1), "x", image.size(2), " pixels");
  return image.to(torch::kCPU).permute({1, 2, 0}).contiguous();
}

std::string errno_note() { return errno != 0 ? std::string(": ") + std::strerror(errno) : ""; }

}  // namespace

ImageInfo read_image_info(const std::string& path) {
  std::vector<unsigned char> bytes;
  read_image_bytes(path, "read_image_info", bytes);
  return image_info_of(bytes, path, "read_image_info");
}

torch::Tensor read_image_file(const std::string& path) {
  constexpr const char* kFn = "read_image_file";
  std::vector<unsigned char> bytes;
  read_image_bytes(path, kFn, bytes);
  const ImageInfo info = image_info_of(bytes, path, kFn);
  const int want = info.channels >= 3 ? 3 : 1;
  int width = 0;
  int height = 0;
  const StbPixels pixels = decode_image_bytes(bytes, path, kFn, want, width, height);
  return planar_tensor(pixels.get(), height, width, want);
}

void read_image_into(const std::string& path, int64_t channels, int64_t size, uint8_t* out) {
  constexpr const char* kFn = "read_image_file";
  UNLEARN_CHECK(channels == 1 || channels == 3, "read_image_into: channels must be 1 or 3, got ",
                channels);
  UNLEARN_CHECK(size >= 1, "read_image_into: size must be >= 1, got ", size);
  UNLEARN_CHECK(out != nullptr, "read_image_into: null output buffer");
  // One buffer per thread: the folder reader calls this for every file from a thread pool.
  thread_local std::vector<unsigned char> bytes;
  read_image_bytes(path, kFn, bytes);
  const ImageInfo info = image_info_of(bytes, path, kFn);
  // stb's own colour-to-grey weights differ from to_channels'; convert those with to_channels.
  const bool to_grey = channels == 1 && info.channels >= 3;
  const int want = to_grey ? 3 : static_cast<int>(channels);
  int width = 0;
  int height = 0;
  const StbPixels pixels = decode_image_bytes(bytes, path, kFn, want, width, height);
  if (!to_grey && height == size && width == size) {
    interleaved_to_planar(pixels.get(), height, width, want, out);
    return;
  }
  torch::Tensor image = planar_tensor(pixels.get(), height, width, want);
  if (to_grey) image = to_channels(image, 1);
  image = resize_square(image, size);
  std::memcpy(out, image.data_ptr<uint8_t>(), static_cast<size_t>(channels * size * size));
}

void write_png(const std::string& path, const torch::Tensor& image) {
  const torch::Tensor hwc = interleaved_for_writing(image, "write_png", 4);
  const auto height = static_cast<int>(hwc.size(0));
  const auto width = static_cast<int>(hwc.size(1));
  const auto channels = static_cast<int>(hwc.size(2));
  write_atomically(path, true, "write_png", [&](const std::string& tmp) {
    errno = 0;
    if (stbi_write_png(tmp.c_str(), width, height, channels, hwc.data_ptr<uint8_t>(),
                       width * channels) == 0) {
      throw IoError(detail::concat("write_png: cannot write ", path, errno_note()));
    }
  });
}

void write_jpeg(const std::string& path, const torch::Tensor& image, int quality) {
  UNLEARN_CHECK(quality >= 1 && quality <= 100, "write_jpeg: quality must be 1 to 100, got ",
                quality);
  const torch::Tensor hwc = interleaved_for_writing(image, "write_jpeg", 3);
  UNLEARN_CHECK(hwc.size(2) != 2, "write_jpeg: expected 1 or 3 channels, got 2");
  const auto height = static_cast<int>(hwc.size(0));
  const auto width = static_cast<int>(hwc.size(1));
  const auto channels = static_cast<int>(hwc.size(2));
  write_atomically(path, true, "write_jpeg", [&](const std::string& tmp) {
    errno = 0;
    if (stbi_write_jpg(tmp.c_str(), width, height, channels, hwc.data_ptr<uint8_t>(), quality) ==
        0) {
      throw IoError(detail::concat("write_jpeg: cannot write ", path, errno_note()));
    }
  });
}

}  // namespace unlearn
