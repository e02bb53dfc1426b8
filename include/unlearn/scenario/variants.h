#pragma once
// Injected anatomical variants for the outlier scenario: a share of each class is flipped,
// cropped or occluded, so that the "atypical samples" to forget are known exactly.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/data/dataset.h"

namespace unlearn {

/// The variants, in the order they are dealt out: "flip" (rotated by 180°, as an image stored
/// upside down), "crop" (a zoom into one quadrant, as a wrongly collimated view), "occlude" (a
/// dark block over a third of the side, as a lead apron or an implant).
const std::vector<std::string>& variant_names();

/// One image (C×H×W uint8) with variant `name` applied; `generator_seed` places the crop and
/// the block.
torch::Tensor apply_variant(const torch::Tensor& image, const std::string& name,
                            uint64_t generator_seed);

/// `data` with round(share · n_c) samples of each class c turned into variants (dealt out in
/// turn), and a string column `variant` saying which ("none" for the rest).
Dataset inject_variants(const Dataset& data, double share, uint64_t seed);

}  // namespace unlearn
