// Scalar references for the forward-pass kernels around the matrix
// products: attention over the fp16 KV cache, fp16 row stores, SwiGLU.
#include "half.h"
#include "kernels.h"

#include <algorithm>
#include <cmath>

namespace ap::kern {

void attend_f16_scalar(const float* q, const uint16_t* k, const uint16_t* v, size_t stride, int n_pos, int d, float scale,
                       float* scores, float* out) {
    float mx = -INFINITY;
    for (int j = 0; j < n_pos; ++j) {
        const uint16_t* kr = k + size_t(j) * stride;
        float s = 0;
        for (int i = 0; i < d; ++i) s += q[i] * half_to_float(kr[i]);
        scores[j] = s * scale;
        mx = std::max(mx, scores[j]);
    }
    float sum = 0;
    for (int j = 0; j < n_pos; ++j) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
    }
    for (int i = 0; i < d; ++i) out[i] = 0;
    for (int j = 0; j < n_pos; ++j) {
        const uint16_t* vr = v + size_t(j) * stride;
        for (int i = 0; i < d; ++i) out[i] += scores[j] * half_to_float(vr[i]);
    }
    const float inv = 1.f / sum;
    for (int i = 0; i < d; ++i) out[i] *= inv;
}

void f32_to_f16_scalar(const float* x, uint16_t* y, size_t n) {
    for (size_t i = 0; i < n; ++i) y[i] = float_to_half(x[i]);
}

void silu_mul_scalar(float* gate, const float* up, size_t n) {
    for (size_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.f + std::exp(-gate[i])) * up[i];
}

}  // namespace ap::kern
