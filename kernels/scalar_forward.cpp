// Scalar references for the forward-pass kernels around the matrix
// products: attention over the fp16 KV cache, fp16 row stores, SwiGLU.
#include "half.h"
#include "kernels.h"

#include <algorithm>
#include <cmath>

namespace ap::kern {

void attend_f16_scalar(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride,
                       int n_pos, int d, float scale, float cap, float* scratch, float* m, float* l, float* acc) {
    float* scores = scratch;
    for (int g = 0; g < G; ++g) {
        const float* qg = q + size_t(g) * q_stride;
        float mx = -INFINITY;
        for (int j = 0; j < n_pos; ++j) {
            const uint16_t* kr = k + size_t(j) * stride;
            float s = 0;
            for (int i = 0; i < d; ++i) s += qg[i] * half_to_float(kr[i]);
            s *= scale;
            if (cap > 0) s = cap * std::tanh(s / cap);
            scores[j] = s;
            mx = std::max(mx, s);
        }
        float sum = 0;
        for (int j = 0; j < n_pos; ++j) {
            scores[j] = std::exp(scores[j] - mx);
            sum += scores[j];
        }
        float* out = acc + size_t(g) * d;
        for (int i = 0; i < d; ++i) out[i] = 0;
        for (int j = 0; j < n_pos; ++j) {
            const uint16_t* vr = v + size_t(j) * stride;
            for (int i = 0; i < d; ++i) out[i] += scores[j] * half_to_float(vr[i]);
        }
        m[g] = mx;
        l[g] = sum;
    }
}

void attend_merge(int n_parts, int G, int d, const float* m, const float* l, const float* acc, float* out,
                  size_t out_stride) {
    for (int g = 0; g < G; ++g) {
        float M = -INFINITY;
        for (int p = 0; p < n_parts; ++p) M = std::max(M, m[size_t(p) * G + g]);
        float* o = out + size_t(g) * out_stride;
        float L = 0;
        for (int i = 0; i < d; ++i) o[i] = 0;
        for (int p = 0; p < n_parts; ++p) {
            const size_t pg = size_t(p) * G + g;
            const float w = n_parts == 1 ? 1.f : std::exp(m[pg] - M);  // one part: exactly the plain softmax
            L += w * l[pg];
            const float* a = acc + pg * d;
            for (int i = 0; i < d; ++i) o[i] += w * a[i];
        }
        const float inv = 1.f / L;
        for (int i = 0; i < d; ++i) o[i] *= inv;
    }
}

void f32_to_f16_scalar(const float* x, uint16_t* y, size_t n) {
    for (size_t i = 0; i < n; ++i) y[i] = float_to_half(x[i]);
}

void silu_mul_scalar(float* gate, const float* up, size_t n) {
    for (size_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.f + std::exp(-gate[i])) * up[i];
}

}  // namespace ap::kern
