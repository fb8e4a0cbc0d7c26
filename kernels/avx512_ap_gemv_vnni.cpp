// The VNNI flavour of the AVX-512 any-precision kernel: vpdpbusd replaces
// maddubs + madd + add (3 instructions per 64 products) with one. This file
// alone is compiled with -mavx512vnni; it runs only where the CPU reports it.
// See avx512_ap_gemv.cpp: GCC 12 false positive inside the intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "avx512_ap_copy.h"
#include "avx512_ap_tiled.h"

namespace ap::kern::avx512 {

void ap_rows_vnni(const ApMatrix& m, int bits, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_rows_switch<true>(m, bits, xt, n, Y, ldy, r0, r1);
}
void ap_copy_vnni(const ApMatrix& m, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_copy_rows<true>(m, xt, n, Y, ldy, r0, r1);
}
void ap_tiled_vnni(const ApMatrix& m, int bits, const PreparedXTok& p, float* Y, size_t ldy, int r0, int r1) {
    ap_tiled_width<true>(m, bits, p, Y, ldy, r0, r1);
}

}  // namespace ap::kern::avx512
