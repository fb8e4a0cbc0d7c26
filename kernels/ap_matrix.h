// Non-owning view of one any-precision weight matrix: parent-width
// bitplanes plus an affine-int8 centroid table per row for every width.
#pragma once
#include <cstdint>

namespace ap::kern {

constexpr int kMaxBits = 8;
constexpr int kMinBits = 2;

// Weight (r, k) has a parent index of parent_bits bits; bit (parent_bits-1-p)
// of it is bit (k % 32) of planes[(p * rows + r) * words + k / 32], so plane 0
// is the most significant one and a b-bit read touches planes 0..b-1 only.
// Bits past `cols` in the last word are zero.
// The b-bit index is idx_parent >> (parent_bits - b); its value is
//   lut_affine[b][2*r+1] + lut_affine[b][2*r] * lut[b][r * (1<<b) + idx_b]
// i.e. per row and width: int8 code, fp32 scale and fp32 offset.
// How far ahead of the words in use decode asks for a plane's words (2 KiB),
// in both x86 sets: one short run per row is too short for the hardware
// prefetcher. Prefetches past the matrix are harmless: they never fault.
constexpr int kPlanePrefetchWords = 512;

struct ApMatrix {
    int rows = 0, cols = 0, words = 0;  // words = (cols + 31) / 32
    int seed_bits = 3, parent_bits = 8;
    const uint32_t* planes = nullptr;
    const int8_t* lut[kMaxBits + 1] = {};
    const float* lut_affine[kMaxBits + 1] = {};  // [rows][2] = {scale, offset}
    // Optional: width codes_bits expanded to one int8 code per weight in a
    // kernel set's own order (KernelSet::expand_ap and expand_bytes):
    // products at that width then read one byte per weight and skip
    // the bitplanes and the table lookups, with the same results. Read only
    // by the set whose expand_layout equals codes_layout.
    const int8_t* codes = nullptr;
    int codes_bits = 0, codes_layout = 0;
};


// Bytes a b-bit matrix-vector product reads: b planes plus the b-bit tables.
inline uint64_t ap_bytes_read(const ApMatrix& m, int bits) {
    return uint64_t(m.rows) * (uint64_t(bits) * m.words * 4 + (1u << bits) + 8);
}

}  // namespace ap::kern
