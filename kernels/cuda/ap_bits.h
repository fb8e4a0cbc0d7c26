// Bit-level core of the any-precision GPU kernels, written once for host and
// device so the CPU tests check exactly what the GPU runs: plane words -> per-
// weight indices (bit transpose), table values, pair tables, one lane's dot.
#pragma once
#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#define AP_HD __host__ __device__ __forceinline__
#else
#define AP_HD inline
#endif
// Full unrolling keeps the 32-entry arrays in registers on the device; host
// compilers unroll (or not) on their own.
#ifdef __CUDA_ARCH__
#define AP_UNROLL _Pragma("unroll")
#else
#define AP_UNROLL
#endif

namespace ap::cuda {

// Exchanges the bits of `lo` at positions (mask << shift) with the bits of
// `hi` at positions mask: one step of a block-recursive bit-matrix transpose.
AP_HD void ap_swap_bits(uint32_t& lo, uint32_t& hi, int shift, uint32_t mask) {
    const uint32_t t = ((lo >> shift) ^ hi) & mask;
    hi ^= t;
    lo ^= t << shift;
}

// The B-bit indices (B = 1..8) of the 32 weights of one word group, from the
// B plane words that hold them (planes[p] = bit B-1-p of every index, so
// planes[0] is the most significant). Bit m of the index of weight k is bit k
// of planes[B-1-m]; seen per 4 (B <= 4) or 8 weights that is a 4x4 or 8x8 bit
// matrix per nibble or byte, and transposing all of them at once with masked
// swaps costs 20 (B <= 4) or 60 (B <= 8) word operations for 32 weights,
// fewer when B leaves rows zero, instead of 2*B per weight bit by bit.
// After the transpose, field i of w[j] is the index of weight kField * i + j
// (fields are nibbles for B <= 4, bytes above).
template <int B>
struct ApIndexWord {
    static_assert(B >= 1 && B <= 8, "widths 1..8");
    static constexpr int kField = B <= 4 ? 4 : 8;  // bits per index field
    static constexpr int kWords = kField;           // transposed words
    uint32_t w[kWords];

    AP_HD explicit ApIndexWord(const uint32_t (&planes)[B]) {
        AP_UNROLL
        for (int m = 0; m < kWords; ++m) w[m] = m < B ? planes[B - 1 - m] : 0u;
        if constexpr (kField == 8) {
            AP_UNROLL
            for (int m = 0; m < 4; ++m) ap_swap_bits(w[m], w[m + 4], 4, 0x0F0F0F0Fu);
        }
        AP_UNROLL
        for (int m = 0; m < kWords; ++m)
            if ((m & 2) == 0) ap_swap_bits(w[m], w[m + 2], 2, 0x33333333u);
        AP_UNROLL
        for (int m = 0; m < kWords; m += 2) ap_swap_bits(w[m], w[m + 1], 1, 0x55555555u);
    }

    // Index of weight k (0..31) of the group.
    AP_HD unsigned index(int k) const {
        return (w[k % kField] >> (kField * (k / kField))) & ((1u << kField) - 1u);
    }

    // B <= 4: byte q (0..3) of w[j] (0..3) holds two indices at once, of
    // weights pair_lo(q, j) (low nibble) and pair_hi(q, j) (high nibble);
    // it addresses an ApPair table directly.
    AP_HD unsigned pair(int q, int j) const {
        static_assert(B <= 4, "pairs need nibble fields");
        return (w[j] >> (8 * q)) & 0xFFu;
    }
    static constexpr AP_HD int pair_lo(int q, int j) { return 8 * q + j; }
    static constexpr AP_HD int pair_hi(int q, int j) { return 8 * q + 4 + j; }
};

// Bits of a float (memcpy on the host: well defined, folded away).
AP_HD float ap_float_from_bits(uint32_t u) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
#endif
}

// The int8 code in byte i of a word of four codes, exactly, as a float without
// an int-to-float instruction (quarter rate on the GPU): with its sign bit
// flipped the byte is code + 128, placed as the low mantissa byte of 2^23;
// subtracting 2^23 + 128 leaves the code.
AP_HD float ap_code_from_word(uint32_t codes4, int i) {
    const uint32_t u = ((codes4 >> (8 * i)) & 0xFFu) ^ 0x80u;
    return ap_float_from_bits(0x4B000000u | u) - 8388736.f;
}

// The value of a code exactly as the scalar reference computes it
// (offset + scale * code, rounded after the product: no FMA contraction), so
// GPU tables equal the CPU's bit for bit.
AP_HD float ap_table_value(float code, float scale, float offset) {
#ifdef __CUDA_ARCH__
    return __fadd_rn(offset, __fmul_rn(scale, code));
#else
    return offset + scale * code;
#endif
}

// fp32 table of one row at `bits`: tab[c] for c < 2^bits.
AP_HD void ap_build_table(const int8_t* codes, float scale, float offset, int bits, float* tab) {
    for (int c = 0; c < (1 << bits); ++c) tab[c] = ap_table_value(float(codes[c]), scale, offset);
}

// One entry of a merged table of pairs: the values of two weights, fetched
// with one 64-bit load.
struct alignas(8) ApPair {
    float lo, hi;
};

// Entries in a pair table at `bits` (<= 4): indexed by a byte whose low and
// high nibbles are two indices, so 16 << bits entries (for bits < 4 some low
// nibbles never occur; those entries are filled but unused).
constexpr AP_HD int ap_pair_table_size(int bits) { return 16 << bits; }

// Entry e of the pair table of an fp32 table `tab` at `bits`.
AP_HD ApPair ap_pair_entry(const float* tab, int bits, int e) {
    const int mask = (1 << bits) - 1;
    return ApPair{tab[e & 15 & mask], tab[(e >> 4) & mask]};
}

// One lane's share of a row dot product: the 32 weights of one word group
// against their activations x[0..31] (zero past the row's end), with table
// lookups. Two accumulators halve the dependent-add chain.
template <int B>
AP_HD float ap_word_dot(const ApIndexWord<B>& iw, const float* tab, const float (&x)[32]) {
    float a0 = 0.f, a1 = 0.f;
    AP_UNROLL
    for (int k = 0; k < 32; k += 2) {
        a0 += tab[iw.index(k)] * x[k];
        a1 += tab[iw.index(k + 1)] * x[k + 1];
    }
    return a0 + a1;
}

// The same with a pair table (B <= 4): one lookup serves two weights.
template <int B>
AP_HD float ap_word_dot_pairs(const ApIndexWord<B>& iw, const ApPair* pairs, const float (&x)[32]) {
    using W = ApIndexWord<B>;
    float a0 = 0.f, a1 = 0.f;
    AP_UNROLL
    for (int j = 0; j < 4; ++j) {
        AP_UNROLL
        for (int q = 0; q < 4; ++q) {
            const ApPair v = pairs[iw.pair(q, j)];
            a0 += v.lo * x[W::pair_lo(q, j)];
            a1 += v.hi * x[W::pair_hi(q, j)];
        }
    }
    return a0 + a1;
}

}  // namespace ap::cuda
