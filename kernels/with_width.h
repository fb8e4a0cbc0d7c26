// The one place a run-time width becomes a compile-time one for the SIMD
// kernels: every width-templated kernel of the AVX2 and AVX-512 sets is
// reached through with_width, so a new width is added here once.
#pragma once
#include "ap_matrix.h"

#include <type_traits>

namespace ap::kern {

// f(std::integral_constant<int, bits>) for bits in kMinBits..kMaxBits;
// returns false (f not called) for any other width.
template <class F>
bool with_width(int bits, F&& f) {
    static_assert(kMinBits == 2 && kMaxBits == 8, "list every width below");
    switch (bits) {
    case 2: f(std::integral_constant<int, 2>{}); return true;
    case 3: f(std::integral_constant<int, 3>{}); return true;
    case 4: f(std::integral_constant<int, 4>{}); return true;
    case 5: f(std::integral_constant<int, 5>{}); return true;
    case 6: f(std::integral_constant<int, 6>{}); return true;
    case 7: f(std::integral_constant<int, 7>{}); return true;
    case 8: f(std::integral_constant<int, 8>{}); return true;
    default: return false;
    }
}

}  // namespace ap::kern
