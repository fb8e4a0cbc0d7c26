// Random any-precision matrices for the tests (checkpoint, CUDA): uniform plane bits (zero
// past cols, as the layout requires), int8 codes over the full range and a
// random {scale, offset} per row and width.
#pragma once
#include "ap_weight.h"

#include <random>
#include <vector>

namespace aptest {

inline ap::ApWeight random_ap_weight(std::mt19937& rng, int rows, int cols, int seed_bits, int parent_bits) {
    ap::ApWeight w;
    w.rows = rows;
    w.cols = cols;
    w.seed_bits = seed_bits;
    w.parent_bits = parent_bits;
    const int words = w.words();
    // Bits past cols in the last word stay zero.
    const uint32_t last = cols % 32 ? (1u << (cols % 32)) - 1u : ~0u;
    w.planes.resize(size_t(parent_bits) * rows * words);
    for (size_t i = 0; i < w.planes.size(); ++i) w.planes[i] = uint32_t(rng()) & (i % words == size_t(words - 1) ? last : ~0u);
    std::uniform_int_distribution<int> code(-127, 127);
    std::uniform_real_distribution<float> scale(1e-3f, 2e-2f), offset(-0.05f, 0.05f);
    for (int b = seed_bits; b <= parent_bits; ++b) {
        w.lut[b].resize(size_t(rows) << b);
        for (auto& c : w.lut[b]) c = int8_t(code(rng));
        w.affine[b].resize(size_t(rows) * 2);
        for (int r = 0; r < rows; ++r) {
            w.affine[b][2 * r] = scale(rng);
            w.affine[b][2 * r + 1] = offset(rng);
        }
    }
    return w;
}

inline std::vector<float> random_floats(std::mt19937& rng, size_t n, float lo = -1.f, float hi = 1.f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

}  // namespace aptest
