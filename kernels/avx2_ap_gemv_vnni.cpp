// The AVX-VNNI flavour of the AVX2 any-precision kernel (avx2_ap_kernel.h).
// This file alone is compiled with -mavxvnni; it runs only where the CPU
// reports avxvnni (dispatch.cpp).
#include "avx2_ap_kernel.h"

namespace ap::kern::avx2 {

void ap_rows_vnni(const ApMatrix& m, int bits, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_rows_width<true>(m, bits, xb, n, Y, ldy, r0, r1);
}

}  // namespace ap::kern::avx2
