// Scalar reference kernels: the definition of correct for every SIMD path.
#include "half.h"
#include "kernels.h"

#include <cstring>
#include <vector>

namespace ap::kern {

void gemm_f32_scalar(const float* W, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
        const float* w = W + size_t(r) * K;
        for (int t = 0; t < n; ++t) {
            const float* x = X + size_t(t) * ldx;
            float s = 0.f;
            for (int k = 0; k < K; ++k) s += w[k] * x[k];
            Y[size_t(t) * ldy + r] = s;
        }
    }
}

void gemm_h16_scalar(const uint16_t* W, bool bf16, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1) {
    std::vector<float> w(static_cast<size_t>(K));
    for (int r = r0; r < r1; ++r) {
        const uint16_t* h = W + size_t(r) * K;
        for (int k = 0; k < K; ++k) {
            if (bf16) {
                const uint32_t b = uint32_t(h[k]) << 16;
                std::memcpy(&w[size_t(k)], &b, 4);
            } else {
                w[size_t(k)] = half_to_float(h[k]);
            }
        }
        for (int t = 0; t < n; ++t) {
            const float* x = X + size_t(t) * ldx;
            float s = 0.f;
            for (int k = 0; k < K; ++k) s += w[size_t(k)] * x[k];
            Y[size_t(t) * ldy + r] = s;
        }
    }
}

// Builds the fp32 table of row r at `bits`.
static void row_table(const ApMatrix& m, int bits, int r, float* tab) {
    const int n = 1 << bits;
    const int8_t* codes = m.lut[bits] + size_t(r) * n;
    const float scale = m.lut_affine[bits][2 * r], offset = m.lut_affine[bits][2 * r + 1];
    for (int i = 0; i < n; ++i) tab[i] = offset + scale * float(codes[i]);
}

double sum_f32_scalar(const float* x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += x[i];
    return s;
}

void dequant_ap_scalar(const ApMatrix& m, int bits, int r0, int r1, float* dst) {
    float tab[1 << kMaxBits];
    for (int r = r0; r < r1; ++r) {
        row_table(m, bits, r, tab);
        float* out = dst + size_t(r - r0) * m.cols;
        for (int k = 0; k < m.cols; ++k) {
            const int w = k >> 5, bit = k & 31;
            unsigned idx = 0;
            for (int p = 0; p < bits; ++p)
                idx = (idx << 1) | ((m.planes[(size_t(p) * m.rows + r) * m.words + w] >> bit) & 1u);
            out[k] = tab[idx];
        }
    }
}

void gemm_ap_scalar(const ApMatrix& m, int bits, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1) {
    std::vector<float> row(m.cols);
    for (int r = r0; r < r1; ++r) {
        dequant_ap_scalar(m, bits, r, r + 1, row.data());
        for (int t = 0; t < n; ++t) {
            const float* x = X + size_t(t) * ldx;
            float s = 0.f;
            for (int k = 0; k < m.cols; ++k) s += row[k] * x[k];
            Y[size_t(t) * ldy + r] = s;
        }
    }
}

}  // namespace ap::kern
