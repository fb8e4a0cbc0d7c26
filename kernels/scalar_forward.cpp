// Scalar references for the forward-pass kernels around the matrix
// products: attention over the fp16 and int8 KV caches, KV row stores, SwiGLU.
#include "half.h"
#include "kernels.h"

#include <algorithm>
#include <cmath>

namespace ap::kern {

namespace {

// One part of attention for G heads; key(j, i) and value(j, i) read element i of cached row j.
template <class Key, class Value>
void attend_rows(const float* q, size_t q_stride, int G, Key key, Value value, int n_pos, int d, float scale, float cap,
                 float* scratch, float* m, float* l, float* acc) {
    float* scores = scratch;
    for (int g = 0; g < G; ++g) {
        const float* qg = q + size_t(g) * q_stride;
        float mx = -INFINITY;
        for (int j = 0; j < n_pos; ++j) {
            float s = 0;
            for (int i = 0; i < d; ++i) s += qg[i] * key(j, i);
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
        for (int j = 0; j < n_pos; ++j)
            for (int i = 0; i < d; ++i) out[i] += scores[j] * value(j, i);
        m[g] = mx;
        l[g] = sum;
    }
}

}  // namespace

void attend_f16_scalar(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride,
                       int n_pos, int d, float scale, float cap, float* scratch, float* m, float* l, float* acc) {
    attend_rows(q, q_stride, G, [&](int j, int i) { return half_to_float(k[size_t(j) * stride + i]); },
                [&](int j, int i) { return half_to_float(v[size_t(j) * stride + i]); }, n_pos, d, scale, cap, scratch, m, l,
                acc);
}

void attend_q8_scalar(const float* q, size_t q_stride, int G, const int8_t* k, const int8_t* v, const float* k_scale,
                      const float* v_scale, size_t stride, int n_pos, int d, float scale, float cap, float* scratch,
                      float* m, float* l, float* acc) {
    attend_rows(q, q_stride, G, [&](int j, int i) { return k_scale[j] * float(k[size_t(j) * stride + i]); },
                [&](int j, int i) { return v_scale[j] * float(v[size_t(j) * stride + i]); }, n_pos, d, scale, cap, scratch,
                m, l, acc);
}

float f32_to_q8_scalar(const float* x, int8_t* y, size_t n) {
    float amax = 0;
    for (size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float s = amax / 127.f, inv = amax > 0 ? 127.f / amax : 0.f;
    for (size_t i = 0; i < n; ++i) y[i] = int8_t(std::lrint(std::clamp(x[i] * inv, -127.f, 127.f)));
    return s;
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
