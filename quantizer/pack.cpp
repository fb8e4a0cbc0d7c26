// Packing: bit k of a row's plane-p word k/32 is bit (parent-1-p) of the
// index of weight k, and tables become int8 codes with a per-row affine map.
#include "pack.h"

#include "error.h"

#include <algorithm>
#include <cmath>

namespace ap::quant {

ApWeight make_ap_weight(int rows, int cols, int lo_bits, int hi_bits) {
    if (rows <= 0 || cols <= 0 || lo_bits < kern::kMinBits || hi_bits > kern::kMaxBits || lo_bits > hi_bits)
        throw Error("make_ap_weight: bad shape or widths");
    ApWeight w;
    w.rows = rows;
    w.cols = cols;
    w.seed_bits = lo_bits;
    w.parent_bits = hi_bits;
    w.planes.assign(size_t(hi_bits) * rows * w.words(), 0u);
    for (int b = lo_bits; b <= hi_bits; ++b) {
        w.lut[b].assign(size_t(rows) << b, 0);
        w.affine[b].assign(size_t(rows) * 2, 0.f);
    }
    return w;
}

// Weighted error of codes under {scale, offset}, computed exactly as the kernels dequantize.
static double code_error(const float* t, const double* mass, int n, const int8_t* codes, float scale, float offset) {
    double e = 0;
    for (int c = 0; c < n; ++c) {
        const double d = double(offset + scale * float(codes[c])) - double(t[c]);
        e += mass[c] * d * d;
    }
    return e;
}

static void round_codes(const float* t, int n, float scale, float offset, int8_t* codes) {
    for (int c = 0; c < n; ++c) {
        const double q = std::nearbyint((double(t[c]) - offset) / scale);
        codes[c] = int8_t(std::clamp(q, -127.0, 127.0));
    }
}

double fit_int8_table(const float* t, const double* mass, int n, int8_t* codes, float* scale, float* offset) {
    const auto [lo_it, hi_it] = std::minmax_element(t, t + n);
    const float lo = *lo_it, hi = *hi_it;
    float sc = float((double(hi) - lo) / 254.0);
    float off = float(0.5 * (double(hi) + lo));
    if (!std::isnormal(sc)) {
        // A constant table (or a range too small for a float step): one value.
        std::fill(codes, codes + n, int8_t(0));
        *scale = 0.f;
        *offset = off;
        return code_error(t, mass, n, codes, 0.f, off);
    }
    round_codes(t, n, sc, off, codes);
    double best = code_error(t, mass, n, codes, sc, off);
    *scale = sc;
    *offset = off;

    // The clusters' weights matter, not the table's extremes: refit the line
    // through (code, value) by weighted least squares, re-round, keep if better.
    // A narrower range may clamp a light outlier entry; on SmolLM2 rows that
    // still lowers the total error (by ~25% on q/k/v at 6..8 bits).
    int8_t trial[1 << kern::kMaxBits];
    std::copy(codes, codes + n, trial);
    for (int iter = 0; iter < 4; ++iter) {
        double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (int c = 0; c < n; ++c) {
            const double x = trial[c], y = t[c], m = mass[c];
            sw += m; sx += m * x; sy += m * y; sxx += m * x * x; sxy += m * x * y;
        }
        const double det = sw * sxx - sx * sx;
        if (!(sw > 0) || !(det > 1e-12 * sw * sxx)) break;
        const double a = (sw * sxy - sx * sy) / det;
        const double b = (sy - a * sx) / sw;
        if (!(a > 0) || !std::isfinite(b)) break;
        sc = float(a);
        off = float(b);
        round_codes(t, n, sc, off, trial);
        const double e = code_error(t, mass, n, trial, sc, off);
        if (!(e < best)) break;
        best = e;
        *scale = sc;
        *offset = off;
        std::copy(trial, trial + n, codes);
    }
    return best;
}

void pack_row(ApWeight& w, int r, const RowQuant& q, TableError* added) {
    if (q.lo_bits != w.seed_bits || q.hi_bits != w.parent_bits || int(q.index.size()) != w.cols || r < 0 || r >= w.rows)
        throw Error("pack_row: row quantization does not match the matrix");
    const int words = w.words(), P = w.parent_bits;
    for (int p = 0; p < P; ++p) {
        uint32_t* row = w.planes.data() + (size_t(p) * w.rows + r) * words;
        std::fill(row, row + words, 0u);
        const int shift = P - 1 - p;
        for (int k = 0; k < w.cols; ++k) row[k >> 5] |= uint32_t((q.index[k] >> shift) & 1u) << (k & 31);
    }
    if (added) added->fill(0.0);
    for (int b = w.seed_bits; b <= P; ++b) {
        const int K = 1 << b;
        float* aff = w.affine[b].data() + size_t(r) * 2;
        const double e = fit_int8_table(q.table[b].data(), q.mass[b].data(), K, w.lut[b].data() + size_t(r) * K,
                                        &aff[0], &aff[1]);
        if (added) (*added)[b] = e;
    }
}

}  // namespace ap::quant
