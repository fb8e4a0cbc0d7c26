// The last step of every any-precision dot product: a row's table is
// code * scale + offset, so y = offset * sum(x) + scale * dot.
#pragma once
#include <cmath>

namespace ap::kern {

// One fixed rounding sequence. Written as a * b + c * d, the compiler may
// contract either product into an FMA, and it chooses differently in the
// single-token, scalar-loop and vectorised-loop copies of a kernel: a token
// would then get a different last bit in a batch than alone, and speculative
// verification (a batch) would drift from plain decoding (single tokens).
inline float ap_affine(float scale, float offset, float xsum, float dot) {
    return std::fma(scale, dot, offset * xsum);
}

}  // namespace ap::kern
