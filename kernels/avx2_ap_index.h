// Turning bitplanes into per-weight table indices and int8 codes, two rows at
// a time (AVX2 lane 0 = row a, lane 1 = row b). Shared by the any-precision
// GEMV and dequantization; include only from -mavx2 translation units.
//
// Weight order. For a row pair and a group g of 4 plane words (128 weights
// per row), index register O[t] (t = 0..7) holds in byte 4*i + m of each lane
// the index of weight 32*(4g + i) + 8*m + t of that lane's row. This order
// falls out of a bit-matrix transpose of whole plane registers (no per-weight
// shuffling); activations are permuted into the same order once per call.
#pragma once
#include "ap_matrix.h"
#include "avx2_simd.h"

namespace ap::kern::avx2 {

// Four plane words of row a (lane 0) and of row b (lane 1).
AP_ALWAYS_INLINE __m256i load_pair(const uint32_t* a, const uint32_t* b) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a))),
                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), 1);
}
// The same for the last, partial group: words past the row are not read.
AP_ALWAYS_INLINE __m256i load_pair_masked(const uint32_t* a, const uint32_t* b, __m128i mask) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_maskload_epi32(reinterpret_cast<const int*>(a), mask)),
                                   _mm_maskload_epi32(reinterpret_cast<const int*>(b), mask), 1);
}

// Indices from B planes (P[0] = most significant). For B <= 4 a 4x4 bit
// transpose inside every nibble leaves two indices per byte (weights t and
// t + 4), split afterwards; for B > 4 a full 8x8 transpose inside every byte.
// Planes above the width are zero and their transpose steps shrink to splits.
template <int B>
AP_ALWAYS_INLINE void plane_indices(const __m256i* P, __m256i* O) {
    static_assert(B >= kMinBits && B <= kMaxBits);
    const __m256i m1 = _mm256_set1_epi8(0x55), m2 = _mm256_set1_epi8(0x33);
    if constexpr (B <= 4) {
        __m256i R[4];
        for (int j = 0; j < 4; ++j) R[j] = j < B ? P[B - 1 - j] : _mm256_setzero_si256();
        if constexpr (B > 2) swap_bits<2>(R[0], R[2], m2); else split_bits<2>(R[0], R[2], m2);
        if constexpr (B > 3) swap_bits<2>(R[1], R[3], m2); else split_bits<2>(R[1], R[3], m2);
        swap_bits<1>(R[0], R[1], m1);
        swap_bits<1>(R[2], R[3], m1);
        if constexpr (B == 4) {
            const __m256i lo = _mm256_set1_epi8(0x0f);
            for (int u = 0; u < 4; ++u) {
                O[u] = _mm256_and_si256(R[u], lo);
                O[u + 4] = _mm256_and_si256(_mm256_srli_epi16(R[u], 4), lo);
            }
        } else {
            // Index bit 3 is zero below 4 bits, so bit 7 of every byte is clear
            // (pshufb would zero the lookup otherwise) and the neighbour nibble
            // left in bits 4..6 is ignored by pshufb: no masking needed.
            for (int u = 0; u < 4; ++u) {
                O[u] = R[u];
                O[u + 4] = _mm256_srli_epi16(R[u], 4);
            }
        }
    } else {
        const __m256i m4 = _mm256_set1_epi8(0x0f);
        for (int j = 0; j < 8; ++j) O[j] = j < B ? P[B - 1 - j] : _mm256_setzero_si256();
        if constexpr (B > 4) swap_bits<4>(O[0], O[4], m4);
        if constexpr (B > 5) swap_bits<4>(O[1], O[5], m4); else split_bits<4>(O[1], O[5], m4);
        if constexpr (B > 6) swap_bits<4>(O[2], O[6], m4); else split_bits<4>(O[2], O[6], m4);
        if constexpr (B > 7) swap_bits<4>(O[3], O[7], m4); else split_bits<4>(O[3], O[7], m4);
        swap_bits<2>(O[0], O[2], m2);
        swap_bits<2>(O[1], O[3], m2);
        swap_bits<2>(O[4], O[6], m2);
        swap_bits<2>(O[5], O[7], m2);
        swap_bits<1>(O[0], O[1], m1);
        swap_bits<1>(O[2], O[3], m1);
        swap_bits<1>(O[4], O[5], m1);
        swap_bits<1>(O[6], O[7], m1);
    }
}

// The B-bit code tables of a row pair as 16-entry pshufb tables, each byte
// XORed with `flip` (0x80 turns int8 codes into code + 128 as uint8).
// Wider tables are stored as running differences D_s = T_s - T_(s-1): the
// lookup adds pshufb(D_s, idx - 16 s) over s, and every term with s above the
// index's high part sees a negative byte, which pshufb turns into 0, so the
// sum telescopes to T_hi[lo] (byte arithmetic wraps, and the result fits).
// At 8 bits that is 16 pshufb per 32 weights; measured alternatives were no
// faster or slower: vpgatherdd from an L1 copy of the table (alone or mixed
// with pshufb), scalar byte lookups through the stack, and vpblendvb trees
// selecting sub-tables by the high planes (also tried for 5..7 bits).
template <int B>
struct PairTable {
    static constexpr int kSub = B <= 4 ? 1 : 1 << (B - 4);
    __m256i d[kSub];

    static __m128i load_row(const int8_t* c, int s) {
        if constexpr (B == 2) {
            int v;
            __builtin_memcpy(&v, c, 4);
            return _mm_cvtsi32_si128(v);
        } else if constexpr (B == 3) {
            return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(c));
        } else {
            return _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + 16 * s));
        }
    }

    void load(const int8_t* ca, const int8_t* cb, char flip) {
        const __m256i f = _mm256_set1_epi8(flip);
        for (int s = 0; s < kSub; ++s)
            d[s] = _mm256_xor_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(load_row(ca, s)), load_row(cb, s), 1), f);
        // B = 8 telescopes each half (index bit 7 clear / set) separately.
        constexpr int run = B == 8 ? 8 : kSub;
        for (int s = kSub - 1; s > 0; --s)
            if (s % run) d[s] = _mm256_sub_epi8(d[s], d[s - 1]);
    }

    AP_ALWAYS_INLINE __m256i lookup(__m256i idx) const {
        if constexpr (B <= 4) {
            return _mm256_shuffle_epi8(d[0], idx);
        } else if constexpr (B < 8) {
            const __m256i sixteen = _mm256_set1_epi8(16);
            __m256i c = _mm256_shuffle_epi8(d[0], idx);
            for (int s = 1; s < kSub; ++s) {
                idx = _mm256_sub_epi8(idx, sixteen);
                c = _mm256_add_epi8(c, _mm256_shuffle_epi8(d[s], idx));
            }
            return c;
        } else {
            const __m256i sixteen = _mm256_set1_epi8(16);
            __m256i lo = _mm256_and_si256(idx, _mm256_set1_epi8(0x7f));
            __m256i a = _mm256_shuffle_epi8(d[0], lo), h = _mm256_shuffle_epi8(d[8], lo);
            for (int s = 1; s < 8; ++s) {
                lo = _mm256_sub_epi8(lo, sixteen);
                a = _mm256_add_epi8(a, _mm256_shuffle_epi8(d[s], lo));
                h = _mm256_add_epi8(h, _mm256_shuffle_epi8(d[8 + s], lo));
            }
            return _mm256_blendv_epi8(a, h, idx);  // index bit 7 picks the upper half
        }
    }
};

// Walks the plane words of a row pair group by group.
template <int B>
struct PairPlanes {
    const uint32_t* a;  // plane 0 words of row a
    const uint32_t* b;
    size_t plane_stride;  // words between consecutive planes
    __m128i tail_mask;

    PairPlanes(const ApMatrix& m, int ra, int rb)
        : a(m.planes + size_t(ra) * m.words), b(m.planes + size_t(rb) * m.words),
          plane_stride(size_t(m.rows) * m.words),
          tail_mask(_mm_cmpgt_epi32(_mm_set1_epi32(m.words % 4), _mm_setr_epi32(0, 1, 2, 3))) {}

    AP_ALWAYS_INLINE void load(int g, __m256i* P) const {
        for (int p = 0; p < B; ++p) P[p] = load_pair(a + p * plane_stride + 4 * g, b + p * plane_stride + 4 * g);
    }
    AP_ALWAYS_INLINE void load_tail(int g, __m256i* P) const {
        for (int p = 0; p < B; ++p)
            P[p] = load_pair_masked(a + p * plane_stride + 4 * g, b + p * plane_stride + 4 * g, tail_mask);
    }
};

}  // namespace ap::kern::avx2
