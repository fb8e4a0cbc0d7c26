// SwiGLU, gate = silu(gate) * up, with the vectorised exp of avx2_exp.h:
// the scalar libm exp made this a measurable part of a 3-bit decode step.
#include "avx2_exp.h"
#include "avx2_internal.h"

namespace ap::kern::avx2 {

// The tail goes through the same vector code (not libm's exp): an element
// gets the same result wherever it sits, so a token's activations do not
// depend on how many tokens share the call (speculative verification must
// reproduce single-token decoding bit for bit).
void silu_mul(float* gate, const float* up, size_t n) {
    const __m256 one = _mm256_set1_ps(1.f), sign = _mm256_set1_ps(-0.f);
    auto eight = [&](const float* g8, const float* u8, float* out) {
        const __m256 g = _mm256_loadu_ps(g8);
        const __m256 e = exp_ps(_mm256_xor_ps(g, sign));
        _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(u8)));
    };
    size_t i = 0;
    for (; i + 8 <= n; i += 8) eight(gate + i, up + i, gate + i);
    if (i < n) {
        float g[8] = {}, u[8] = {}, out[8];
        for (size_t j = i; j < n; ++j) g[j - i] = gate[j], u[j - i] = up[j];
        eight(g, u, out);
        for (size_t j = i; j < n; ++j) gate[j] = out[j - i];
    }
}

}  // namespace ap::kern::avx2
