// Owned storage of one any-precision matrix (what the quantizer produces and
// the checkpoint loader fills); view() gives the kernels' non-owning form.
#pragma once
#include "ap_matrix.h"

#include <cstdint>
#include <vector>

namespace ap {

struct ApWeight {
    int rows = 0, cols = 0, seed_bits = 3, parent_bits = 8;
    std::vector<uint32_t> planes;                           // [parent_bits][rows][words]
    std::vector<int8_t> lut[kern::kMaxBits + 1];            // lut[b]: [rows][1<<b], b in seed..parent
    std::vector<float> affine[kern::kMaxBits + 1];          // affine[b]: [rows][2] = {scale, offset}

    int words() const { return (cols + 31) / 32; }
    kern::ApMatrix view() const {
        kern::ApMatrix m;
        m.rows = rows; m.cols = cols; m.words = words();
        m.seed_bits = seed_bits; m.parent_bits = parent_bits;
        m.planes = planes.data();
        for (int b = seed_bits; b <= parent_bits; ++b) { m.lut[b] = lut[b].data(); m.lut_affine[b] = affine[b].data(); }
        return m;
    }
    uint64_t plane_bytes() const { return planes.size() * 4; }
    uint64_t table_bytes() const {
        uint64_t s = 0;
        for (int b = seed_bits; b <= parent_bits; ++b) s += lut[b].size() + affine[b].size() * 4;
        return s;
    }
};

}  // namespace ap
