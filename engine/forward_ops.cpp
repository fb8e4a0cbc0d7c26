#include "forward_ops.h"

#include <algorithm>
#include <cmath>

namespace ap {

void rms_norm(const float* x, const float* w, int n, float eps, float* out) {
    double ss = 0;
    for (int i = 0; i < n; ++i) ss += double(x[i]) * x[i];
    const float r = float(1.0 / std::sqrt(ss / n + eps));
    for (int i = 0; i < n; ++i) out[i] = x[i] * r * w[i];
}

void rope_tables(const float* inv_freq, int half, int pos0, int n, float* cos_out, float* sin_out) {
    for (int t = 0; t < n; ++t)
        for (int i = 0; i < half; ++i) {
            const double a = double(pos0 + t) * inv_freq[i];
            cos_out[size_t(t) * half + i] = float(std::cos(a));
            sin_out[size_t(t) * half + i] = float(std::sin(a));
        }
}

void rope_rotate_half(float* v, int d, const float* c, const float* s) {
    const int half = d / 2;
    for (int i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = a * s[i] + b * c[i];
    }
}

void swiglu(float* g, const float* u, size_t n) {
    for (size_t i = 0; i < n; ++i) g[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
}

static inline float dot(const float* a, const float* b, int n) {
    // Four partial sums let the compiler keep several FMAs in flight.
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

void attend(const float* q, const float* k, const float* v, int stride, int n_pos, int d, float scale, float* scores,
            float* out) {
    float mx = -INFINITY;
    for (int j = 0; j < n_pos; ++j) {
        scores[j] = dot(q, k + size_t(j) * stride, d) * scale;
        mx = std::max(mx, scores[j]);
    }
    float sum = 0;
    for (int j = 0; j < n_pos; ++j) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
    }
    const float inv = 1.f / sum;
    for (int i = 0; i < d; ++i) out[i] = 0;
    for (int j = 0; j < n_pos; ++j) {
        const float p = scores[j] * inv;
        const float* vr = v + size_t(j) * stride;
        for (int i = 0; i < d; ++i) out[i] += p * vr[i];
    }
}

}  // namespace ap
