// Code copies (ApMatrix::codes) for the AVX-512 any-precision kernel, in
// both flavours of avx512_ap_kernel.h. A copy holds every weight's code at
// one width as uint8 (code + 128, what that kernel's lookups yield), in the
// AVX2 set's pair layout (copy_slot). An earlier copy in this kernel's own
// register order (one row per 512 weights) padded 576-wide rows to 1024 and
// measured slower than the tables on Zen 4; pairs of rows in 128-column
// groups pad only to a multiple of 128 and stream as one sequence. Decode
// then reads one byte per weight and does no
// transpose and no lookup: at 7 and 8 bits that replaces two or four
// vpermi2b per 64 weights and the blend.
//
// Results are those of ap_rows bit for bit: every 32-column block's int32
// sum is exact whatever the order, and the sums are gathered into the
// kernel's register order (lane i of a 512-column group = block 16g + i)
// before the same scaling, accumulation and final reduction.
// Include only from files compiled with the AVX-512 flags.
#pragma once
#include "avx2_internal.h"  // copy_slot, expanded_row_bytes
#include "avx512_ap_kernel.h"

#include <cstddef>

namespace ap::kern::avx512 {

// ApMatrix::codes_layout of this set's copies (the AVX2 set's are 1, 2 and 4).
constexpr int kExpandLayout = 3;

// Copy bytes at any width: a byte per weight, rows in pairs, columns to 128.
size_t expand_bytes(int rows, int cols, int bits, int layout);
// Rows r0..r1-1 of width `bits` into the copy (avx512_ap_gemv.cpp; the layout
// is the same for both flavours, and the set's only one).
void expand_ap(const ApMatrix& m, int bits, int layout, int r0, int r1, int8_t* dst);
// Rows r0..r1-1 of n <= 16 tokens from the copy at its width m.codes_bits.
void ap_copy_plain(const ApMatrix& m, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1);
void ap_copy_vnni(const ApMatrix& m, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1);

inline bool reads_copy(const ApMatrix& m, int bits) {
    return m.codes && m.codes_bits == bits && m.codes_layout == kExpandLayout;
}

namespace {  // one copy per flavour's translation unit

// Row r's codes, 512 weights at a time as ap_rows looks them up, stored
// 128-bit lane by lane: lane L of a register holds 128-column group 4g + L.
template <int B>
void expand_rows(const ApMatrix& m, int r0, int r1, int8_t* copy) {
    const int words = m.words, g16 = (words + 15) / 16, g4 = (words + 3) / 4;
    const size_t ps = size_t(m.rows) * words, row_bytes = avx2::expanded_row_bytes(m.cols);
    for (int r = r0; r < r1; ++r) {
        RowTable<B> tab;
        tab.load(m.lut[B] + (size_t(r) << B));
        const uint32_t* base = m.planes + size_t(r) * words;
        for (int g = 0; g < g16; ++g) {
            const int left = words - 16 * g;
            const __mmask16 mask = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
            __m512i P[B], C[8];
            for (int p = 0; p < B; ++p) P[p] = _mm512_maskz_loadu_epi32(mask, base + p * ps + 16 * g);
            plane_indices<B>(P, C);
            for (int t = 0; t < 8; ++t) {
                const __m512i c = tab.lookup(C[t]);
                // A byte-masked store of the whole register puts lane L alone
                // at its slot (masked-off bytes are not written).
                for (int L = 0; L < 4 && 4 * g + L < g4; ++L)
                    _mm512_mask_storeu_epi8(copy + avx2::copy_slot(row_bytes, r, 4 * g + L, t) - 16 * L,
                                            __mmask64(0xffff) << (16 * L), c);
            }
        }
    }
}

// One 128-column group of a row pair against T tokens. Register k of the
// group's 256 bytes holds slices 2k (row a's 16 bytes, row b's) and 2k + 1;
// the activations of those slices are paired up to match. Returns per token
// the block sums as [row a's 4, row b's 4] in each 256-bit half.
template <int T, bool VNNI>
AP_ALWAYS_INLINE void copy_group(const int8_t* codes, const XTok* xt, size_t xoff, __m512i* S) {
    __m512i acc[T];
    for (int j = 0; j < T; ++j) acc[j] = _mm512_setzero_si512();
    for (int k = 0; k < 4; ++k) {
        _mm_prefetch(reinterpret_cast<const char*>(codes + avx2::kCopyPrefetch + 64 * k), _MM_HINT_T0);
        const __m512i code = _mm512_load_si512(codes + 64 * k);
        for (int j = 0; j < T; ++j) {
            const int8_t* x = xt[j].q + xoff + 128 * k;
            const __m512i lo = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
            const __m512i hi = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 64)));
            acc[j] = dot_u8s8<VNNI>(acc[j], code, _mm512_shuffle_i64x2(lo, hi, 0));
        }
    }
    // [a even, b even, a odd, b odd] -> [a, b, a, b]
    for (int j = 0; j < T; ++j) S[j] = _mm512_add_epi32(acc[j], _mm512_shuffle_i64x2(acc[j], acc[j], 0x4e));
}

// Rows 2p and 2p + 1 (pair p of the copy) against T tokens; rows outside
// r0..r1-1 are computed and not stored.
template <int T, bool VNNI>
AP_ALWAYS_INLINE void copy_pair(const ApMatrix& m, int p, const XTok* xt, float* Y, size_t ldy, int r0, int r1) {
    const int g4 = (m.words + 3) / 4, g16 = (m.words + 15) / 16;
    const int8_t* codes = m.codes + avx2::copy_slot(avx2::expanded_row_bytes(m.cols), 2 * p, 0, 0);
    __m512 fa[T], fb[T];
    for (int j = 0; j < T; ++j) fa[j] = fb[j] = _mm512_setzero_ps();
    for (int g = 0; g < g16; ++g) {
        __m512i H[2][T];  // per half of the 512 columns: [a0, b0, a1, b1] (H[0]) and [a2, b2, a3, b3]
        for (int h = 0; h < 2; ++h) {
            __m512i S0[T], S1[T];
            const int G = 4 * g + 2 * h;  // 128-column groups G and G + 1 (zero sums past the row)
            if (G < g4) copy_group<T, VNNI>(codes + 256 * size_t(G), xt, 512 * size_t(g) + 32 * h, S0);
            else for (int j = 0; j < T; ++j) S0[j] = _mm512_setzero_si512();
            if (G + 1 < g4) copy_group<T, VNNI>(codes + 256 * size_t(G + 1), xt, 512 * size_t(g) + 32 * h + 16, S1);
            else for (int j = 0; j < T; ++j) S1[j] = _mm512_setzero_si512();
            for (int j = 0; j < T; ++j) H[h][j] = _mm512_shuffle_i64x2(S0[j], S1[j], 0x44);
        }
        for (int j = 0; j < T; ++j) {
            // Lane i = block 16g + i, as in row_group (and pair_tail, whose
            // other lanes add zeros): the same scaling and accumulation.
            const __m512 sc = _mm512_loadu_ps(xt[j].scale + 16 * g);
            fa[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_shuffle_i64x2(H[0][j], H[1][j], 0x88)), sc, fa[j]);
            fb[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_shuffle_i64x2(H[0][j], H[1][j], 0xdd)), sc, fb[j]);
        }
    }
    const float* aff = m.lut_affine[m.codes_bits];
    const int ra = 2 * p, rb = 2 * p + 1;
    for (int j = 0; j < T; ++j) {
        const float corr = -float(kCodeBias) * xt[j].qsum;
        if (ra >= r0) Y[ldy * j + ra] = ap_affine(aff[2 * ra], aff[2 * ra + 1], xt[j].sum, _mm512_reduce_add_ps(fa[j]) + corr);
        if (rb < r1) Y[ldy * j + rb] = ap_affine(aff[2 * rb], aff[2 * rb + 1], xt[j].sum, _mm512_reduce_add_ps(fb[j]) + corr);
    }
}

// Pair by pair, every token over each (a pair's bytes stay in L1 between token blocks).
template <bool VNNI>
void ap_copy_rows(const ApMatrix& m, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1) {
    for (int p = r0 / 2; 2 * p < r1; ++p)
        for (int j = 0; j < n; j += 4) {
            const XTok* x = xt + j;
            float* y = Y + ldy * size_t(j);
            switch (n - j < 4 ? n - j : 4) {
            case 4: copy_pair<4, VNNI>(m, p, x, y, ldy, r0, r1); break;
            case 3: copy_pair<3, VNNI>(m, p, x, y, ldy, r0, r1); break;
            case 2: copy_pair<2, VNNI>(m, p, x, y, ldy, r0, r1); break;
            default: copy_pair<1, VNNI>(m, p, x, y, ldy, r0, r1); break;
            }
        }
}

}  // namespace

}  // namespace ap::kern::avx512
