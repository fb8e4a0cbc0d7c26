// The bit-matrix transposes that turn B bitplanes into per-weight table
// indices, written once for both x86 register widths (AVX2's ymm pairs of
// rows, the AVX-512 set's zmm rows). Ops supplies the two steps for its
// register type Reg:
//   Ops::template swap<S>(a, c, m): exchange the bits of a under (m << S)
//     with the bits of c under m (m holds the lower half of every 2S-bit
//     block);
//   Ops::template split<S>(a, c, m): the same when c is known to be zero (a
//     plane above the width), in half the operations.
// Applied across registers, these turn planes into indices without touching
// weights one at a time. Include only from a translation unit compiled for
// Ops' instructions (each set's Ops is its own type, so no instantiation is
// shared between sets).
#pragma once
#include "ap_matrix.h"  // kMinBits, kMaxBits
#include "avx2_simd.h"  // AP_ALWAYS_INLINE

namespace ap::kern {

// B <= 4, planes P[0] (most significant) .. P[B - 1]: a 4x4 transpose inside
// every nibble. R[u] holds in every byte the indices of weights t = u (low
// nibble) and t = u + 4 (high nibble).
template <int B, class Ops, class Reg>
AP_ALWAYS_INLINE void transpose_nibbles(const Reg* P, Reg* R, Reg zero, Reg m1, Reg m2) {
    static_assert(B >= kMinBits && B <= 4);
    for (int j = 0; j < 4; ++j) R[j] = j < B ? P[B - 1 - j] : zero;
    if constexpr (B > 2) Ops::template swap<2>(R[0], R[2], m2); else Ops::template split<2>(R[0], R[2], m2);
    if constexpr (B > 3) Ops::template swap<2>(R[1], R[3], m2); else Ops::template split<2>(R[1], R[3], m2);
    Ops::template swap<1>(R[0], R[1], m1);
    Ops::template swap<1>(R[2], R[3], m1);
}

// B > 4: a full 8x8 transpose inside every byte; O[t] holds one index per
// byte. Planes above the width are zero and their first steps shrink to splits.
template <int B, class Ops, class Reg>
AP_ALWAYS_INLINE void transpose_bytes(const Reg* P, Reg* O, Reg zero, Reg m1, Reg m2, Reg m4) {
    static_assert(B > 4 && B <= kMaxBits);
    for (int j = 0; j < 8; ++j) O[j] = j < B ? P[B - 1 - j] : zero;
    Ops::template swap<4>(O[0], O[4], m4);
    if constexpr (B > 5) Ops::template swap<4>(O[1], O[5], m4); else Ops::template split<4>(O[1], O[5], m4);
    if constexpr (B > 6) Ops::template swap<4>(O[2], O[6], m4); else Ops::template split<4>(O[2], O[6], m4);
    if constexpr (B > 7) Ops::template swap<4>(O[3], O[7], m4); else Ops::template split<4>(O[3], O[7], m4);
    Ops::template swap<2>(O[0], O[2], m2);
    Ops::template swap<2>(O[1], O[3], m2);
    Ops::template swap<2>(O[4], O[6], m2);
    Ops::template swap<2>(O[5], O[7], m2);
    Ops::template swap<1>(O[0], O[1], m1);
    Ops::template swap<1>(O[2], O[3], m1);
    Ops::template swap<1>(O[4], O[5], m1);
    Ops::template swap<1>(O[6], O[7], m1);
}

}  // namespace ap::kern
