// Any-precision rows to fp32 (natural column order), and the several-token
// product built on it: dequantize a tile of rows once into an L1/L2-sized
// buffer, then run the dense blocked kernel over all tokens.
#include "avx2_internal.h"
#include "avx2_ap_index.h"
#include "with_width.h"

#include <algorithm>
#include <vector>

namespace ap::kern::avx2 {

namespace {

// Codes c[t] hold, in byte beta of a lane, the weight 8*beta + t of the
// lane's 128 columns; three rounds of unpacks regroup them so each lane of
// out[j] holds columns 16*j .. 16*j + 15 in order.
inline void codes_to_column_order(const __m256i* c, __m256i* out) {
    __m256i a[8], b[8];
    for (int i = 0; i < 4; ++i) {
        a[2 * i] = _mm256_unpacklo_epi8(c[2 * i], c[2 * i + 1]);      // beta 0..7
        a[2 * i + 1] = _mm256_unpackhi_epi8(c[2 * i], c[2 * i + 1]);  // beta 8..15
    }
    // b[h*4 + q]: for the t-quad q (0: t 0..3, 1: t 4..7), beta block h (4 betas each).
    for (int q = 0; q < 2; ++q) {
        const __m256i* lo = a + 4 * q;  // pairs (t, t+1) for t = 4q, 4q + 2
        b[0 + q] = _mm256_unpacklo_epi16(lo[0], lo[2]);  // beta 0..3
        b[2 + q] = _mm256_unpackhi_epi16(lo[0], lo[2]);  // beta 4..7
        b[4 + q] = _mm256_unpacklo_epi16(lo[1], lo[3]);  // beta 8..11
        b[6 + q] = _mm256_unpackhi_epi16(lo[1], lo[3]);  // beta 12..15
    }
    for (int h = 0; h < 4; ++h) {
        out[2 * h] = _mm256_unpacklo_epi32(b[2 * h], b[2 * h + 1]);
        out[2 * h + 1] = _mm256_unpackhi_epi32(b[2 * h], b[2 * h + 1]);
    }
}

inline void codes_to_float(const int8_t* c, int n, float scale, float offset, float* out) {
    const __m256 s = _mm256_set1_ps(scale), o = _mm256_set1_ps(offset);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + j)));
        _mm256_storeu_ps(out + j, _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), s, o));
    }
    if (j < n) {
        const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + j)));
        _mm256_maskstore_ps(out + j, first_lanes(n - j), _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), s, o));
    }
}

template <int B>
void dequant_rows(const ApMatrix& m, int r0, int r1, float* dst) {
    const int K = m.cols, full = m.words / 4, groups = (m.words + 3) / 4;
    const float* aff = m.lut_affine[B];
    for (int r = r0; r < r1; r += 2) {
        const int ra = r, rb = r + 1 < r1 ? r + 1 : r;
        PairTable<B> tab;
        tab.load(m, ra, rb, 0);
        const PairPlanes<B> planes(m, ra, rb);
        float* da = dst + size_t(ra - r0) * K;
        float* db = dst + size_t(rb - r0) * K;
        for (int g = 0; g < groups; ++g) {
            __m256i P[B], O[8], N[8];
            if (g < full) planes.load(g, P);
            else planes.load_tail(g, P);
            plane_indices<B>(P, O);
            for (int t = 0; t < 8; ++t) O[t] = tab.lookup(O[t]);
            codes_to_column_order(O, N);
            alignas(32) int8_t ca[128], cb[128];
            for (int j = 0; j < 8; ++j) {
                _mm_store_si128(reinterpret_cast<__m128i*>(ca + 16 * j), _mm256_castsi256_si128(N[j]));
                _mm_store_si128(reinterpret_cast<__m128i*>(cb + 16 * j), _mm256_extracti128_si256(N[j], 1));
            }
            const int n = std::min(128, K - 128 * g);
            codes_to_float(ca, n, aff[2 * ra], aff[2 * ra + 1], da + 128 * g);
            if (rb != ra) codes_to_float(cb, n, aff[2 * rb], aff[2 * rb + 1], db + 128 * g);
        }
    }
}

}  // namespace

void dequant_ap(const ApMatrix& m, int bits, int r0, int r1, float* dst) {
    if (r1 <= r0) return;
    if (!with_width(bits, [&](auto b) { dequant_rows<decltype(b)::value>(m, r0, r1, dst); }))
        dequant_ap_scalar(m, bits, r0, r1, dst);  // outside the documented 2..8
}

}  // namespace ap::kern::avx2
