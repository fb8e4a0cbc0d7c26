#include "forward_ops.h"

#include <algorithm>
#include <cmath>

// Attention runs at every decoded token over the whole cache; cloning it for
// AVX2 (picked at load time by the dynamic linker) keeps it off the profile
// without a hand-written kernel. `omp simd` allows the vector reduction.
#if defined(__x86_64__)
#define AP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AP_CLONES
#endif

namespace ap {

AP_CLONES void rms_norm(const float* x, const float* w, int n, float eps, float* out) {
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

AP_CLONES void swiglu(float* g, const float* u, size_t n) {
    for (size_t i = 0; i < n; ++i) g[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
}

AP_CLONES static float dot(const float* a, const float* b, int n) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

AP_CLONES void attend_group(const float* q, int group, const float* k, const float* v, int stride, int n_pos, int d,
                            float scale, float* scores, float* out) {
    for (int j = 0; j < n_pos; ++j) {
        const float* kr = k + size_t(j) * stride;
        for (int h = 0; h < group; ++h) scores[size_t(h) * n_pos + j] = dot(q + size_t(h) * d, kr, d) * scale;
    }
    for (int h = 0; h < group; ++h) {
        float* sc = scores + size_t(h) * n_pos;
        float mx = -INFINITY;
        for (int j = 0; j < n_pos; ++j) mx = std::max(mx, sc[j]);
        float sum = 0;
        for (int j = 0; j < n_pos; ++j) {
            sc[j] = std::exp(sc[j] - mx);
            sum += sc[j];
        }
        const float inv = 1.f / sum;
        for (int j = 0; j < n_pos; ++j) sc[j] *= inv;
    }
    for (int i = 0; i < group * d; ++i) out[i] = 0;
    for (int j = 0; j < n_pos; ++j) {
        const float* vr = v + size_t(j) * stride;
        for (int h = 0; h < group; ++h) {
            const float p = scores[size_t(h) * n_pos + j];
            float* o = out + size_t(h) * d;
#pragma omp simd
            for (int i = 0; i < d; ++i) o[i] += p * vr[i];
        }
    }
}

}  // namespace ap
