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
#include "avx2_internal.h"  // index_copy_regs
#include "avx2_simd.h"
#include "plane_transpose.h"

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

// B <= 4: the 4x4 bit transpose inside every nibble (transpose_nibbles): R[u]
// holds in every byte the indices of weights t = u (low nibble) and t = u + 4
// (high nibble): the form an expanded copy keeps at these widths (PairNibbles).
template <int B>
AP_ALWAYS_INLINE void plane_nibbles(const __m256i* P, __m256i* R) {
    transpose_nibbles<B, BitSteps>(P, R, _mm256_setzero_si256(), _mm256_set1_epi8(0x55), _mm256_set1_epi8(0x33));
}

// The eight index registers from plane_nibbles' four.
template <int B>
AP_ALWAYS_INLINE void split_nibbles(const __m256i* R, __m256i* O) {
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
}

// Indices from B planes (P[0] = most significant). For B <= 4 the 4x4 bit
// transpose leaves two indices per byte (weights t and t + 4), split
// afterwards; for B > 4 a full 8x8 transpose inside every byte. Planes above
// the width are zero and their transpose steps shrink to splits.
template <int B>
AP_ALWAYS_INLINE void plane_indices(const __m256i* P, __m256i* O) {
    static_assert(B >= kMinBits && B <= kMaxBits);
    if constexpr (B <= 4) {
        __m256i R[4];
        plane_nibbles<B>(P, R);
        split_nibbles<B>(R, O);
    } else {
        transpose_bytes<B, BitSteps>(P, O, _mm256_setzero_si256(), _mm256_set1_epi8(0x55), _mm256_set1_epi8(0x33),
                                     _mm256_set1_epi8(0x0f));
    }
}

// vpblendvb: bytes of b where bit 7 of m is set, else a. Written in asm
// because GCC 12 turns the intrinsic into a compare-and-select and emits an
// extra vpcmpgtb for every mask it did not load from memory (3 per lookup at
// 8 bits).
AP_ALWAYS_INLINE __m256i blend_by_bit7(__m256i a, __m256i b, __m256i m) {
#if defined(__GNUC__)
    __m256i r;
    __asm__("vpblendvb %3, %2, %1, %0" : "=x"(r) : "x"(a), "xm"(b), "x"(m));
    return r;
#else
    return _mm256_blendv_epi8(a, b, m);
#endif
}

// The B-bit code tables of a row pair as 16-entry pshufb tables (sub-table
// s = entries 16 s .. 16 s + 15), each byte XORed with `flip` (0x80 turns
// int8 codes into code + 128 as uint8). Above 4 bits every sub-table is
// looked up with the index's low nibble and a vpblendvb tree picks among the
// results by index bits 4, 5, ...: 2^(B-4) pshufb and 2^(B-4) - 1 blends per
// 32 weights, no other work per sub-table (the earlier running-difference
// form needed a subtract and an add for each: 1.3-1.6x slower at 7-8 bits
// on Zen 3). At 8 bits the 16 tables do not fit in the register file with
// the indices; they are reloaded from L1, which the load ports absorb.
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
    }
    // Rows ra and rb of m's width-B tables.
    void load(const ApMatrix& m, int ra, int rb, char flip) {
        load(m.lut[B] + size_t(ra) * (1 << B), m.lut[B] + size_t(rb) * (1 << B), flip);
    }

    // Sub-tables s0 .. s0 + 2^L - 1 merged depth first (few partial results live at once).
    template <int L>
    AP_ALWAYS_INLINE __m256i tree(int s0, __m256i lo, const __m256i* sel) const {
        if constexpr (L == 0) {
            return _mm256_shuffle_epi8(d[s0], lo);
        } else {
            const __m256i a = tree<L - 1>(s0, lo, sel), b = tree<L - 1>(s0 + (1 << (L - 1)), lo, sel);
            return blend_by_bit7(a, b, sel[L - 1]);
        }
    }

    AP_ALWAYS_INLINE __m256i lookup(__m256i idx) const {
        if constexpr (B <= 4) {
            return _mm256_shuffle_epi8(d[0], idx);
        } else {
            // pshufb reads index bits 0..3 and zeroes bytes whose bit 7 is
            // set; bits 4..6 it ignores.
            // vpblendvb takes bit 7 of every byte: byte-wise doublings move
            // index bit 4 + l there (adds rather than shifts where one step
            // suffices: on Zen 3 shifts share the two ports pshufb needs; a
            // 16-bit shift moves no bit of one byte into bit 7 of the other).
            constexpr int kLevels = B - 4;  // level l selects by index bit 4 + l
            __m256i sel[kLevels], cur = idx;
            if constexpr (B < 7) cur = _mm256_slli_epi16(idx, 8 - B);  // one shift for several doublings
            else if constexpr (B == 7) cur = _mm256_add_epi8(idx, idx);
            for (int l = kLevels - 1; l >= 0; --l) {
                sel[l] = cur;
                if (l > 0) cur = _mm256_add_epi8(cur, cur);
            }
            if constexpr (B < 8) {
                return tree<kLevels>(0, idx, sel);
            } else {
                // Index bit 7 needs no blend: pshufb zeroes the upper half's
                // bytes in the lower sub-tables' lookups and, with the bit
                // flipped, the lower half's in the upper ones; OR joins them.
                const __m256i flipped = _mm256_xor_si256(idx, _mm256_set1_epi8(char(0x80)));
                return _mm256_or_si256(tree<3>(0, idx, sel), tree<3>(8, flipped, sel));
            }
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
    // Asks for plane words kPlanePrefetchWords ahead of group g in every
    // plane's stream (row b follows row a, and the next pair row b).
    AP_ALWAYS_INLINE void prefetch(int g) const {
        const uint32_t* r = (g & 2) ? b : a;  // a 64-byte line holds 4 groups of a row: each row's every other call
        for (int p = 0; p < B; ++p) _mm_prefetch(reinterpret_cast<const char*>(r + p * plane_stride + 4 * g + kPlanePrefetchWords), _MM_HINT_T0);
    }
    AP_ALWAYS_INLINE void load_tail(int g, __m256i* P) const {
        for (int p = 0; p < B; ++p)
            P[p] = load_pair_masked(a + p * plane_stride + 4 * g, b + p * plane_stride + 4 * g, tail_mask);
    }
};

// B = 5's top plane alone as index bit 4 of the bytes plane_indices<5>
// would give: transpose_bytes<5> with the four lower planes zero, where each
// step shrinks to three operations (21 per group instead of 63 for all five
// planes). ORed into split_nibbles<4>' registers it completes the indices.
AP_ALWAYS_INLINE void top_plane_bits(__m256i top, __m256i* O) {
    const __m256i m1 = _mm256_set1_epi8(0x55), m2 = _mm256_set1_epi8(0x33), m4 = _mm256_set1_epi8(0x0f);
    O[0] = _mm256_slli_epi32(_mm256_and_si256(top, m4), 4);  // swap<4>(O[0] = 0, O[4] = top)
    O[4] = _mm256_andnot_si256(m4, top);
    BitSteps::split<2>(O[0], O[2], m2);
    BitSteps::split<2>(O[4], O[6], m2);
    for (int t = 0; t < 8; t += 2) BitSteps::split<1>(O[t], O[t + 1], m1);
}

// 5 bits: the top plane's register as the copy keeps it, bit t of every
// byte = index bit 4 of the same byte of index register O[t]. Shifted left
// by 7 - t (a 16-bit shift: each byte's bit 7 comes from its own bit t) it
// is O[t]'s vpblendvb selector between the two 16-entry sub-tables as it
// is, one shift per 32 weights. The plane itself needed the 21-operation
// transpose of top_plane_bits, an OR and a shift per register.
AP_ALWAYS_INLINE __m256i top_bits_by_slice(__m256i top) {
    __m256i O[8];
    top_plane_bits(top, O);
    const __m256i one = _mm256_set1_epi8(1);
    __m256i T = _mm256_setzero_si256();
    for (int t = 0; t < 8; ++t) T = _mm256_or_si256(T, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(O[t], 4), one), t));
    return T;
}

// 3 bits: plane_nibbles<3>' four registers in three. Their bits 3 and 7
// are zero (a 3-bit index per nibble), so they carry R[2]: bits 0..2 of
// R[2]'s nibbles go to bit 3 and 7 of R[0], R[1] and R[3] in turn. The copy
// then holds 3 bits per weight, as the planes do, instead of 4: 25% fewer
// bytes per token for 11 more operations per 256 weights.
AP_ALWAYS_INLINE void pack_nibbles3(const __m256i* R, __m256i* S) {
    const __m256i r2 = R[2];
    S[0] = _mm256_or_si256(R[0], _mm256_slli_epi16(_mm256_and_si256(r2, _mm256_set1_epi8(0x11)), 3));
    S[1] = _mm256_or_si256(R[1], _mm256_slli_epi16(_mm256_and_si256(r2, _mm256_set1_epi8(0x22)), 2));
    S[2] = _mm256_or_si256(R[3], _mm256_slli_epi16(_mm256_and_si256(r2, _mm256_set1_epi8(0x44)), 1));
}
AP_ALWAYS_INLINE void unpack_nibbles3(const __m256i* S, __m256i* R) {
    const __m256i low = _mm256_set1_epi8(0x77);
    R[0] = _mm256_and_si256(S[0], low);
    R[1] = _mm256_and_si256(S[1], low);
    R[3] = _mm256_and_si256(S[2], low);
    // 16-bit shifts: the bits they move across bytes land outside the masks.
    R[2] = _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(S[0], 3), _mm256_set1_epi8(0x11)),
                                           _mm256_and_si256(_mm256_srli_epi16(S[1], 2), _mm256_set1_epi8(0x22))),
                           _mm256_and_si256(_mm256_srli_epi16(S[2], 1), _mm256_set1_epi8(0x44)));
}

// Walks a row pair's copy of indices (ApMatrix::codes up to 5 bits) group
// by group: plane_nibbles<4>' four registers of the low four planes (half a
// byte per weight), at 3 bits those four packed in three (pack_nibbles3),
// and at 5 and 6 bits the upper planes' bits after the four
// (top_bits_by_slice: index bit 4, then bit 5).
// Pair i = rows 2i, 2i + 1 holds per group kRegs 32-byte registers, row 2i's
// 16 bytes then row 2i + 1's, so an aligned pair is one sequential stream.
template <int B>
struct PairNibbles {
    static constexpr int kRegs = index_copy_regs(B);
    static constexpr int kGroupBytes = 32 * kRegs;
    const int8_t *a, *b;  // row a's and row b's 16-byte halves of group 0, register 0
    bool together;        // rows 2i, 2i + 1: one 32-byte load per register

    static size_t slot(size_t pair_bytes, int r, int g, int u) {
        return size_t(r / 2) * pair_bytes + size_t(kGroupBytes) * g + 32 * u + 16 * (r & 1);
    }
    // A pair's bytes: kGroupBytes per group of 4 plane words.
    static size_t pair_bytes(const ApMatrix& m) { return size_t(kGroupBytes) * ((m.words + 3) / 4); }

    PairNibbles() : a(nullptr), b(nullptr), together(false) {}
    PairNibbles(const ApMatrix& m, int ra, int rb)
        : a(m.codes + slot(pair_bytes(m), ra, 0, 0)), b(m.codes + slot(pair_bytes(m), rb, 0, 0)),
          together(ra % 2 == 0 && rb == ra + 1) {}

    // Asks for the pair's bytes kPrefetchBytes ahead of group g (every line
    // a group spans; past the copy's end is harmless: prefetches never fault).
    // (4 KiB: Zen 3, 1B model, 6 bits, GEMV copy pass best of 6 in three
    // alternating rounds 34.7-41.7 ms against 42.1-43.8 at 2 KiB; Intel Xeon
    // VM, 3..5 bits, two alternating rounds: 0.72-0.85 of the streaming read
    // against 0.72-0.80.)
    static constexpr int kPrefetchBytes = 4096;
    AP_ALWAYS_INLINE void prefetch(int g) const {
        const int8_t* p = a + size_t(kGroupBytes) * g + kPrefetchBytes;
        for (int o = 0; o < kGroupBytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + o), _MM_HINT_T0);
    }
    AP_ALWAYS_INLINE void load(int g, __m256i* R) const {
        for (int u = 0; u < kRegs; ++u) {
            const size_t o = size_t(kGroupBytes) * g + 32 * u;
            R[u] = together ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + o))
                            : _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(b + o), reinterpret_cast<const __m128i*>(a + o));
        }
    }
    // The group's index registers (as plane_indices<B> gives them) from the copy (up to 4 bits).
    AP_ALWAYS_INLINE void indices(int g, __m256i* C) const {
        static_assert(B <= 4, "5 bits: codes()");
        __m256i R[kRegs];
        load(g, R);
        if constexpr (B == 3) {
            __m256i N[4];
            unpack_nibbles3(R, N);
            split_nibbles<3>(N, C);
        } else {
            split_nibbles<B>(R, C);
        }
    }
    // 5 and 6 bits: a group's looked-up codes (what PairTable<B>::lookup
    // gives for index register t), slice by slice from 7 down, straight from
    // the registers R (load()): the nibbles and the upper index bits'
    // selectors, sel4 = R[4] << (7 - t) (bit 4) and sel5 = R[5] << (7 - t)
    // (bit 5), doubled by adds between slices (not shifts: on Zen 3 shifts
    // share the two ports pshufb needs).
    struct Slices {
        const __m256i* R;
        __m256i sel4, sel5;
        explicit Slices(const __m256i* R_) : R(R_), sel4(R_[4]), sel5(R_[kRegs - 1]) {}
        AP_ALWAYS_INLINE __m256i next(int t, const PairTable<B>& tab) {
            static_assert(B == 5 || B == 6, "up to 4 bits: indices()");
            const __m256i lo = _mm256_and_si256(t < 4 ? R[t] : _mm256_srli_epi16(R[t - 4], 4), _mm256_set1_epi8(0x0f));
            __m256i c = blend_by_bit7(_mm256_shuffle_epi8(tab.d[0], lo), _mm256_shuffle_epi8(tab.d[1], lo), sel4);
            if constexpr (B == 6)
                c = blend_by_bit7(c, blend_by_bit7(_mm256_shuffle_epi8(tab.d[2], lo), _mm256_shuffle_epi8(tab.d[3], lo), sel4), sel5);
            sel4 = _mm256_add_epi8(sel4, sel4);
            if constexpr (B == 6) sel5 = _mm256_add_epi8(sel5, sel5);
            return c;
        }
    };
    // All eight slices' codes of group g.
    AP_ALWAYS_INLINE void codes(int g, const PairTable<B>& tab, __m256i* C) const {
        __m256i R[kRegs];
        load(g, R);
        Slices s(R);
        for (int t = 7; t >= 0; --t) C[t] = s.next(t, tab);
    }
};

}  // namespace ap::kern::avx2
