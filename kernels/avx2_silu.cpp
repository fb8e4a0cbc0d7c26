// SwiGLU, gate = silu(gate) * up, with the vectorised exp of avx2_exp.h:
// the scalar libm exp made this a measurable part of a 3-bit decode step.
#include "avx2_exp.h"
#include "avx2_internal.h"

namespace ap::kern::avx2 {

void silu_mul(float* gate, const float* up, size_t n) {
    const __m256 one = _mm256_set1_ps(1.f), sign = _mm256_set1_ps(-0.f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = exp_ps(_mm256_xor_ps(g, sign));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
    }
    if (i < n) silu_mul_scalar(gate + i, up + i, n - i);
}

}  // namespace ap::kern::avx2
