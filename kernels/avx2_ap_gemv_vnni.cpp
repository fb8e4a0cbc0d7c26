// The AVX-VNNI flavour of the AVX2 any-precision kernels (avx2_ap_kernel.h,
// avx2_ap_tiled.h).
// This file alone is compiled with -mavxvnni; it runs only where the CPU
// reports avxvnni (dispatch.cpp).
#include "avx2_ap_kernel.h"
#include "avx2_ap_tiled.h"

namespace ap::kern::avx2 {

void ap_rows_vnni(const ApMatrix& m, int bits, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_rows_width<true>(m, bits, xb, n, Y, ldy, r0, r1);
}

void ap_tiled_vnni(const ApMatrix& m, int bits, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_tiled_width<true>(m, bits, x, n, Y, ldy, r0, r1);
}
void ap_copy_vnni(const ApMatrix& m, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_copy_width<true>(m, x, n, Y, ldy, r0, r1);
}
void expand_vnni(const ApMatrix& m, int bits, int layout, int r0, int r1, int8_t* dst) {
    expand_width<true>(m, bits, layout, r0, r1, dst);
}

}  // namespace ap::kern::avx2
