#pragma once
// Single image files (PNG, JPEG, and whatever else stb_image decodes: BMP, GIF, TGA, PNM) to and
// from C×H×W uint8 tensors, as the `folder:` reader and the tests' fixtures need them.

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace unlearn {

/// What a file's header says, read without decoding the pixels.
struct ImageInfo {
  int64_t channels = 0;  // 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (palette images count as RGB[A])
  int64_t height = 0;
  int64_t width = 0;
};

/// Reads the header of the image file `path`. Throws IoError when the file cannot be read and
/// FormatError naming the file and stb's reason when it is not an image stb can decode.
ImageInfo read_image_info(const std::string& path);

/// Decodes the image file `path` to a C×H×W uint8 tensor: C = 1 for grey (and grey+alpha),
/// 3 for colour (RGB, RGBA, palette); alpha is dropped. 16-bit files are scaled to 8 bits.
/// Throws IoError when the file cannot be read, FormatError naming the file and stb's reason
/// when it cannot be decoded.
torch::Tensor read_image_file(const std::string& path);

/// Decodes `path` straight into `out`, which must hold channels×size×size bytes (C×H×W order):
/// grey becomes RGB by repetition, colour becomes grey by to_channels' luma, alpha is dropped,
/// and the image is resized with resize_square unless it is already size×size. This is the
/// folder reader's per-file step: no tensor is made when the file already has the target shape.
/// Errors as read_image_file; InvalidArgument for channels other than 1 or 3 or size < 1.
void read_image_into(const std::string& path, int64_t channels, int64_t size, uint8_t* out);

/// Writes a C×H×W uint8 image (C = 1 to 4) as a PNG file, replacing `path` atomically.
/// Throws InvalidArgument for another shape or type, IoError naming the file when writing fails.
void write_png(const std::string& path, const torch::Tensor& image);

/// Writes a C×H×W uint8 image (C = 1 or 3) as a baseline JPEG file of the given quality
/// (1 to 100), replacing `path` atomically. stb always stores three components, so a grey image
/// reads back as RGB with equal planes. Errors as write_png.
void write_jpeg(const std::string& path, const torch::Tensor& image, int quality = 90);

}  // namespace unlearn
