// Small AVX2 helpers outside the GEMM kernels.
#include <immintrin.h>

#include <cstddef>

namespace ap::kern {

double sum_f32_avx2(const float* x, size_t n) {
    // Four independent accumulators so the loop is limited by loads, not add latency.
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    alignas(32) float t[8];
    _mm256_store_ps(t, s);
    double r = 0;
    for (float v : t) r += v;
    for (; i < n; ++i) r += x[i];
    return r;
}

}  // namespace ap::kern
