// Internal to the CUDA backend: the geometry the any-precision kernels and
// DeviceApMatrix's workspace must agree on.
#pragma once

namespace ap::cuda {

// A block works on one K slice of 1024 columns: one 32-weight plane word per
// lane, so a lane keeps its 32 activations in registers for every row.
constexpr int kApSliceWords = 32;
// Tokens per small-batch launch (more tokens loop over launches).
constexpr int kApMaxTokens = 8;
// Fewest rows any kernel gives a block: sizes the per-chunk counters.
constexpr int kApMinRowsPerBlock = 32;

inline int ap_slices(int words) { return (words + kApSliceWords - 1) / kApSliceWords; }

// Raises the dynamic shared-memory limit of every kernel instance that needs
// more than the default 48 KiB, up to what the current device allows;
// returns that limit (bytes per block).
int prepare_ap_kernels();

}  // namespace ap::cuda
