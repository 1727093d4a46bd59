// A scan of every floating-point tensor of a checkpoint for NaN and Inf, so a corrupt or
// badly converted checkpoint is refused at load, naming the tensor and its file, instead of
// silently producing NaN logits and routing.
#pragma once

#include "core/checkpoint.h"

namespace moescope {

// Throws InputError for the first tensor (in name order) holding a NaN or an infinity:
//   FILE: tensor 'NAME' holds NaN at element 17 of 4096 (2 tensors hold NaN or Inf)
// The tensors are read in parallel with all hardware threads (the scan reads every weight once).
void check_weights_finite(const Checkpoint& checkpoint);

}  // namespace moescope
