// The AVX-512 (VBMI) any-precision row kernel, shared by the plain and the
// VNNI translation units (avx512_ap_gemv.cpp, avx512_ap_gemv_vnni.cpp).
// Include only from files compiled with the AVX-512 flags of CMakeLists.txt.
//
// Layout. One row at a time, 16 plane words (512 weights) per zmm register.
// The in-byte 8x8 bit transpose of avx2_ap_index.h, applied to whole zmm
// registers, leaves in byte 4*i + m of index register O[t] (t = 0..7) the
// index of weight 32*(16g + i) + 8*m + t of the row (g = group of 16 words).
// All 64 bytes belong to ONE row, so one vpermb (64-entry table) or vpermi2b
// (128 entries) looks up 64 codes at once, and 256 entries take two vpermi2b
// plus a blend on index bit 7: 1..3 instructions per 64 weights instead of
// the 2^(b-4) pshufb (plus adds) per 32 weights of the AVX2 path.
// Activations are laid out in the same order (XTok), int8 per 32-column
// block as in avx2_xquant: the plain flavour uses the AVX2 range, so its
// integer dot products equal the AVX2 ones; the VNNI flavour quantizes to
// [-127, 127] (no int16 pair sums to overflow), half the rounding error.
#pragma once
#include "ap_affine.h"
#include "ap_matrix.h"
#include "avx512_xtok.h"
#include "avx2_simd.h"  // AP_ALWAYS_INLINE
#include "plane_transpose.h"
#include "with_width.h"

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ap::kern::avx512 {

// The transpose steps of plane_transpose.h on zmm registers; vpternlog
// fuses the xor-and of the exchange mask into one instruction.
struct BitSteps {
    template <int S>
    static AP_ALWAYS_INLINE void swap(__m512i& a, __m512i& c, __m512i m) {
        const __m512i t = _mm512_ternarylogic_epi64(_mm512_srli_epi64(a, S), c, m, 0x28);  // (A ^ B) & C
        c = _mm512_xor_si512(c, t);
        a = _mm512_xor_si512(a, _mm512_slli_epi64(t, S));
    }
    template <int S>
    static AP_ALWAYS_INLINE void split(__m512i& a, __m512i& c, __m512i m) {
        c = _mm512_and_si512(_mm512_srli_epi64(a, S), m);
        a = _mm512_andnot_si512(_mm512_slli_epi64(m, S), a);
    }
};

// B planes (P[0] = most significant) -> 8 index registers, one weight per
// byte. Above 4 bits a full 8x8 transpose inside every byte leaves clean
// indices (planes above the width read as zero). Up to 4 bits a 4x4
// transpose inside every nibble leaves two indices per byte (weights t and
// t + 4), split by a shift only: the neighbour nibble left in bits 4..7 is
// harmless because the table is replicated over all 64 bytes (RowTable), so
// vpermb's index bits 4 and 5 select identical copies.
template <int B>
AP_ALWAYS_INLINE void plane_indices(const __m512i* P, __m512i* O) {
    static_assert(B >= kMinBits && B <= kMaxBits);
    const __m512i zero = _mm512_setzero_si512(), m1 = _mm512_set1_epi8(0x55), m2 = _mm512_set1_epi8(0x33);
    if constexpr (B <= 4) {
        __m512i R[4];
        transpose_nibbles<B, BitSteps>(P, R, zero, m1, m2);
        for (int u = 0; u < 4; ++u) {
            O[u] = R[u];
            O[u + 4] = _mm512_srli_epi16(R[u], 4);
        }
    } else {
        transpose_bytes<B, BitSteps>(P, O, zero, m1, m2, _mm512_set1_epi8(0x0f));
    }
}

// One row's B-bit code table as uint8 (code + 128) in 1, 2 or 4 registers.
template <int B>
struct RowTable {
    static constexpr int kRegs = B <= 6 ? 1 : 1 << (B - 6);
    __m512i t[kRegs];

    AP_ALWAYS_INLINE void load(const int8_t* c) {
        const __m512i flip = _mm512_set1_epi8(char(0x80));
        if constexpr (B <= 4) {
            // Exactly 2^B bytes (the last row's table may end at a page
            // boundary), copied into every 16-byte block: see plane_indices.
            t[0] = _mm512_xor_si512(_mm512_broadcast_i32x4(_mm_maskz_loadu_epi8(__mmask16((1u << (1 << B)) - 1), c)), flip);
        } else if constexpr (B < 6) {
            // Read exactly 2^B bytes: the last row's table may end at a page boundary.
            t[0] = _mm512_xor_si512(_mm512_maskz_loadu_epi8((__mmask64(1) << (1 << B)) - 1, c), flip);
        } else {
            for (int i = 0; i < kRegs; ++i) t[i] = _mm512_xor_si512(_mm512_loadu_si512(c + 64 * i), flip);
        }
    }
    AP_ALWAYS_INLINE __m512i lookup(__m512i idx) const {
        if constexpr (B <= 6) {
            return _mm512_permutexvar_epi8(idx, t[0]);  // uses index bits 0..5
        } else if constexpr (B == 7) {
            return _mm512_permutex2var_epi8(t[0], idx, t[1]);  // bit 6 picks the register
        } else {
            const __m512i lo = _mm512_permutex2var_epi8(t[0], idx, t[1]);
            const __m512i hi = _mm512_permutex2var_epi8(t[2], idx, t[3]);
            return _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi);  // bit 7 picks the half
        }
    }
};

// acc += per-dword sums of four u8 x s8 products. Exact either way: with
// |x| <= 64 maddubs' int16 pair sums stay below 2 * 255 * 64 = 32640.
template <bool VNNI>
AP_ALWAYS_INLINE __m512i dot_u8s8(__m512i acc, __m512i u, __m512i s) {
    if constexpr (VNNI) {
        return _mm512_dpbusd_epi32(acc, u, s);
    } else {
        return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
    }
}

// One row's plane words [16g, 16g + 16) (masked to `mask`), looked up and
// multiplied with every token; facc[j] lane i accumulates block 16g + i.
template <int B, int NT, bool VNNI>
AP_ALWAYS_INLINE void row_group(const uint32_t* base, size_t ps, int g, __mmask16 mask, const RowTable<B>& tab,
                                const XTok* xt, int n, __m512* facc) {
    __m512i P[B], C[8];
    // Decode streams the planes once: ask for each plane's line
    // kPlanePrefetchWords ahead, as the AVX2 set does. Intel Xeon, decode from the planes (no copy),
    // 1B-shaped model: 3 bits 32 -> 45-48 tok/s, 4 bits 28 -> 37-38, 6 bits
    // 18.5 -> 24-25, 8 bits 12-13 -> 16-17 (GEMV 73-94% -> 101-113% of the
    // streaming read); SmolLM2: 3..6 bits +10-35%, 7 bits +4%, 8 level.
    if constexpr (NT == 1)
        for (int p = 0; p < B; ++p) _mm_prefetch(reinterpret_cast<const char*>(base + p * ps + 16 * g + kPlanePrefetchWords), _MM_HINT_T0);
    if (mask == 0xffff)
        for (int p = 0; p < B; ++p) P[p] = _mm512_loadu_si512(base + p * ps + 16 * g);
    else  // masked loads never touch words past the row (fault suppression)
        for (int p = 0; p < B; ++p) P[p] = _mm512_maskz_loadu_epi32(mask, base + p * ps + 16 * g);
    plane_indices<B>(P, C);
    // One token: look up right before use so fewer registers stay live.
    if constexpr (NT != 1)
        for (int t = 0; t < 8; ++t) C[t] = tab.lookup(C[t]);
    for (int j = 0; j < n; ++j) {
        const int8_t* xq = xt[j].q + 512 * size_t(g);
        __m512i acc = _mm512_setzero_si512();
        for (int t = 0; t < 8; ++t) {
            const __m512i code = NT == 1 ? tab.lookup(C[t]) : C[t];
            acc = dot_u8s8<VNNI>(acc, code, _mm512_loadu_si512(xq + 64 * t));
        }
        // dword i of acc = block 16g + i: scale it per block as the AVX2 path does.
        facc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(xt[j].scale + 16 * g), facc[j]);
    }
}

// The last group of two rows when it holds at most 8 words per row (e.g. 2
// of the 18 words at K = 576): both tails share one register, row a in
// dwords 0..7 and row b in 8..15, so the bit transpose runs once for the
// pair instead of once per row on a mostly empty register. Each half is
// looked up in its own row's table. Row b's sums are moved to lanes 0..7
// before scaling, so either row gets exactly the arithmetic it would get
// paired with any other row (or itself): results do not depend on r0.
template <int B, int NT, bool VNNI>
AP_ALWAYS_INLINE void pair_tail(const uint32_t* base_a, const uint32_t* base_b, size_t ps, int g, __mmask16 mask,
                                const RowTable<B>& ta, const RowTable<B>& tb, const XTok* xt, int n,
                                __m512* facc_a, __m512* facc_b) {
    __m512i P[B], C[8];
    const __mmask16 hi = __mmask16(mask << 8);
    for (int p = 0; p < B; ++p) {
        const uint32_t* wa = base_a + p * ps + 16 * g;
        // Row b's words go to dwords 8..; the address 8 words before them is
        // only formed, never read (masked-off lanes do not access memory).
        const uint32_t* wb = reinterpret_cast<const uint32_t*>(reinterpret_cast<uintptr_t>(base_b + p * ps + 16 * g) - 32);
        P[p] = _mm512_mask_loadu_epi32(_mm512_maskz_loadu_epi32(mask, wa), hi, wb);
    }
    plane_indices<B>(P, C);
    const __mmask64 upper = 0xffffffff00000000ull;
    for (int t = 0; t < 8; ++t) C[t] = _mm512_mask_blend_epi8(upper, ta.lookup(C[t]), tb.lookup(C[t]));
    for (int j = 0; j < n; ++j) {
        const int8_t* xq = xt[j].q + 512 * size_t(g);
        __m512i acc = _mm512_setzero_si512();
        for (int t = 0; t < 8; ++t)  // words 0..7 of the group, the same columns for both rows
            acc = dot_u8s8<VNNI>(acc, C[t], _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 64 * t))));
        // Lanes 8..15 get scale 0 and so keep their value exactly.
        const __m512 sc = _mm512_maskz_loadu_ps(0xff, xt[j].scale + 16 * g);
        facc_a[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), sc, facc_a[j]);
        facc_b[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_shuffle_i64x2(acc, acc, 0x4e)), sc, facc_b[j]);
    }
}

// Rows r0..r1-1 at width B for n tokens (NT > 0: exactly NT, accumulators in
// registers; NT = 0: any n <= 16), two rows per step (an odd last row pairs
// with itself). Every token's arithmetic is independent of n and of the
// pairing, so a batch reproduces single-token calls bit for bit.
template <int B, int NT, bool VNNI>
AP_ALWAYS_INLINE void ap_rows(const ApMatrix& m, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1) {
    constexpr int kTok = NT > 0 ? NT : 16;
    if constexpr (NT > 0) n = NT;
    const int words = m.words, full = words / 16, rest = words % 16;
    const __mmask16 tail = __mmask16((1u << rest) - 1);  // words of the last, partial group
    const size_t ps = size_t(m.rows) * words;  // words between planes
    const int8_t* lut = m.lut[B];
    const float* aff = m.lut_affine[B];
    for (int r = r0; r < r1; r += 2) {
        const int ra = r, rb = r + 1 < r1 ? r + 1 : r;
        RowTable<B> ta, tb;
        ta.load(lut + (size_t(ra) << B));
        tb.load(lut + (size_t(rb) << B));
        const uint32_t* base_a = m.planes + size_t(ra) * words;
        const uint32_t* base_b = m.planes + size_t(rb) * words;
        __m512 fa[kTok], fb[kTok];
        for (int j = 0; j < n; ++j) fa[j] = fb[j] = _mm512_setzero_ps();
        for (int g = 0; g < full; ++g) {
            row_group<B, NT, VNNI>(base_a, ps, g, 0xffff, ta, xt, n, fa);
            if (rb != ra) row_group<B, NT, VNNI>(base_b, ps, g, 0xffff, tb, xt, n, fb);
        }
        if (rest > 8) {
            row_group<B, NT, VNNI>(base_a, ps, full, tail, ta, xt, n, fa);
            if (rb != ra) row_group<B, NT, VNNI>(base_b, ps, full, tail, tb, xt, n, fb);
        } else if (rest > 0) {
            pair_tail<B, NT, VNNI>(base_a, base_b, ps, full, tail, ta, tb, xt, n, fa, fb);
        }
        for (int j = 0; j < n; ++j) {
            const float corr = -float(kCodeBias) * xt[j].qsum;
            Y[ldy * j + ra] = ap_affine(aff[2 * ra], aff[2 * ra + 1], xt[j].sum, _mm512_reduce_add_ps(fa[j]) + corr);
            if (rb != ra) Y[ldy * j + rb] = ap_affine(aff[2 * rb], aff[2 * rb + 1], xt[j].sum, _mm512_reduce_add_ps(fb[j]) + corr);
        }
    }
}

// Entry points per instruction flavour; bits in 2..8, n in 1..16.
void ap_rows_plain(const ApMatrix& m, int bits, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1);
void ap_rows_vnni(const ApMatrix& m, int bits, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1);

// Instantiates the width/token-count switch for one flavour.
template <bool VNNI>
inline void ap_rows_switch(const ApMatrix& m, int bits, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1) {
    auto run = [&](auto bc) {
        constexpr int b = decltype(bc)::value;
        if (n == 1) ap_rows<b, 1, VNNI>(m, xt, n, Y, ldy, r0, r1);
        else ap_rows<b, 0, VNNI>(m, xt, n, Y, ldy, r0, r1);
    };
    with_width(bits, run);
}

}  // namespace ap::kern::avx512
