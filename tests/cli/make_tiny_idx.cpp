// Writes a tiny synthetic IDX data set for the CLI tests: 10 classes of 8×8 images, each class
// a bright row at its own height plus seeded noise; 40 training and 10 test images per class.
//
//   make_tiny_idx DIR

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

void put_u32(std::ofstream& out, uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v >> 24),
                              static_cast<unsigned char>(v >> 16),
                              static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  out.write(reinterpret_cast<const char*>(b), 4);
}

void write_split(const std::string& dir, const std::string& prefix, int per_class, unsigned seed) {
  constexpr int kClasses = 10, kSide = 8;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 60);
  std::vector<unsigned char> images, labels;
  for (int i = 0; i < per_class * kClasses; ++i) {
    const int label = i % kClasses;
    labels.push_back(static_cast<unsigned char>(label));
    for (int r = 0; r < kSide; ++r) {
      for (int c = 0; c < kSide; ++c) {
        int v = noise(rng);
        if (r == label % kSide && (label < kSide || c < kSide / 2)) v += 180;
        images.push_back(static_cast<unsigned char>(v));
      }
    }
  }
  std::ofstream img(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
  put_u32(img, 0x00000803);
  put_u32(img, static_cast<uint32_t>(labels.size()));
  put_u32(img, kSide);
  put_u32(img, kSide);
  img.write(reinterpret_cast<const char*>(images.data()),
            static_cast<std::streamsize>(images.size()));
  std::ofstream lab(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
  put_u32(lab, 0x00000801);
  put_u32(lab, static_cast<uint32_t>(labels.size()));
  lab.write(reinterpret_cast<const char*>(labels.data()),
            static_cast<std::streamsize>(labels.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_tiny_idx DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  write_split(dir, "train", 40, 1);
  write_split(dir, "t10k", 10, 2);
  std::ofstream names(dir + "/classes.txt");
  for (const char* n : {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                        "Sneaker", "Bag", "Ankle boot"}) {
    names << n << "\n";
  }
  return 0;
}
