#include "forward_ops.h"

#include "half.h"

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

void gelu_tanh_mul(float* gate, const float* up, size_t n) {
    const float c = 0.7978845608028654f;  // sqrt(2 / pi)
    for (size_t i = 0; i < n; ++i) {
        const float x = gate[i];
        gate[i] = 0.5f * x * (1.f + std::tanh(c * (x + 0.044715f * x * x * x))) * up[i];
    }
}

void soft_cap(float* x, size_t n, float cap) {
    for (size_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace ap
