// Attention over the fp16 KV cache with AVX2 + FMA + F16C, for the query
// heads that share one KV head: the K and V rows of the range are converted
// to fp32 once (not once per query head, and read from memory once: at long
// contexts the cache, not the arithmetic, is what costs), then per head
// scores by 8-wide dot products, a vectorised exp, and the probability-
// weighted sum of V rows in up to 64 fp32 accumulators at a time. Same
// contract as attend_f16_scalar; results differ from it only by fp32
// rounding order and the exp approximation (within 2 ulp).
#include "avx2_internal.h"
#include "avx2_exp.h"
#include "avx2_simd.h"

#include <algorithm>
#include <cmath>

namespace ap::kern::avx2 {

namespace {

AP_ALWAYS_INLINE __m256 load_half8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
AP_ALWAYS_INLINE __m256 load8(const float* p) { return _mm256_loadu_ps(p); }

// out[0 .. 8C) += sum_j p_j * v_j[0 .. 8C) for C <= 8 chunks of 8 values (kept in registers).
template <int C>
void weighted_rows(const float* p, const float* v, size_t stride, int n_pos, float* out) {
    __m256 acc[C];
    for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
    for (int j = 0; j < n_pos; ++j) {
        const __m256 pj = _mm256_broadcast_ss(p + j);
        const float* vr = v + size_t(j) * stride;
        for (int c = 0; c < C; ++c) acc[c] = _mm256_fmadd_ps(pj, load8(vr + 8 * c), acc[c]);
    }
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(out + 8 * c, acc[c]);
}

// scores[j] = dot(qs, k_j) for all positions (qs = q * scale in registers),
// four positions at a time so the horizontal sums share their shuffles;
// returns the maximum. CT > 0: exactly CT chunks of 8 (unrolled).
template <int CT>
float scaled_scores(const __m256* qv, int chunks, const float* k, size_t stride, int n_pos, float* scores) {
    if constexpr (CT > 0) chunks = CT;
    __m128 vmax = _mm_set1_ps(-INFINITY);
    float mx = -INFINITY;
    int j = 0;
    for (; j + 4 <= n_pos; j += 4) {
        __m256 a[4];
        for (int u = 0; u < 4; ++u) {
            const float* kr = k + size_t(j + u) * stride;
            __m256 s = _mm256_mul_ps(qv[0], load8(kr));
            for (int c = 1; c < chunks; ++c) s = _mm256_fmadd_ps(qv[c], load8(kr + 8 * c), s);
            a[u] = s;
        }
        // Lane u of s4 = the sum of a[u] (hadd pairs within each 128-bit half).
        const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
        const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        _mm_storeu_ps(scores + j, s4);
        vmax = _mm_max_ps(vmax, s4);
    }
    for (; j < n_pos; ++j) {
        const float* kr = k + size_t(j) * stride;
        __m256 s = _mm256_mul_ps(qv[0], load8(kr));
        for (int c = 1; c < chunks; ++c) s = _mm256_fmadd_ps(qv[c], load8(kr + 8 * c), s);
        scores[j] = hsum(s);
        mx = std::max(mx, scores[j]);
    }
    vmax = _mm_max_ps(vmax, _mm_movehl_ps(vmax, vmax));
    vmax = _mm_max_ss(vmax, _mm_movehdup_ps(vmax));
    return std::max(mx, _mm_cvtss_f32(vmax));
}

}  // namespace

// One head over rows already in fp32 (kf, vf: n_pos rows of d).
static void attend_head(const float* q, const float* kf, const float* vf, int n_pos, int d, float scale, float cap,
                        float* scores, float* m, float* l, float* acc) {
    const int chunks = d / 8;
    __m256 qv[64];
    for (int c = 0; c < chunks; ++c) qv[c] = _mm256_mul_ps(_mm256_loadu_ps(q + 8 * c), _mm256_set1_ps(scale));
    float mx;
    if (chunks == 8) mx = scaled_scores<8>(qv, chunks, kf, size_t(d), n_pos, scores);
    else if (chunks == 16) mx = scaled_scores<16>(qv, chunks, kf, size_t(d), n_pos, scores);
    else mx = scaled_scores<0>(qv, chunks, kf, size_t(d), n_pos, scores);
    if (cap > 0) {  // gemma2's soft cap (rare: scalar tanh)
        mx = -INFINITY;
        for (int j = 0; j < n_pos; ++j) {
            scores[j] = cap * std::tanh(scores[j] / cap);
            mx = std::max(mx, scores[j]);
        }
    }
    // Probabilities (unnormalised) and their sum.
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= n_pos; j += 8) {
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vm));
        _mm256_storeu_ps(scores + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    if (j < n_pos) {
        const __m256i mask = first_lanes(n_pos - j);
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_maskload_ps(scores + j, mask), vm));
        _mm256_maskstore_ps(scores + j, mask, e);
        vsum = _mm256_add_ps(vsum, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
    }
    *m = mx;
    *l = hsum(vsum);
    // Weighted V rows, 64 columns per pass over the positions.
    for (int c0 = 0; c0 < chunks; c0 += 8) {
        const float* vc = vf + 8 * c0;
        float* o = acc + 8 * c0;
        switch (std::min(8, chunks - c0)) {
        case 1: weighted_rows<1>(scores, vc, size_t(d), n_pos, o); break;
        case 2: weighted_rows<2>(scores, vc, size_t(d), n_pos, o); break;
        case 3: weighted_rows<3>(scores, vc, size_t(d), n_pos, o); break;
        case 4: weighted_rows<4>(scores, vc, size_t(d), n_pos, o); break;
        case 5: weighted_rows<5>(scores, vc, size_t(d), n_pos, o); break;
        case 6: weighted_rows<6>(scores, vc, size_t(d), n_pos, o); break;
        case 7: weighted_rows<7>(scores, vc, size_t(d), n_pos, o); break;
        default: weighted_rows<8>(scores, vc, size_t(d), n_pos, o); break;
        }
    }
}

void attend_f16(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride, int n_pos,
                int d, float scale, float cap, float* scratch, float* m, float* l, float* acc) {
    if (d % 8 != 0 || d > 512 || n_pos <= 0) {
        attend_f16_scalar(q, q_stride, G, k, v, stride, n_pos, d, scale, cap, scratch, m, l, acc);
        return;
    }
    float* kf = scratch;
    float* vf = kf + size_t(n_pos) * d;
    float* scores = vf + size_t(n_pos) * d;
    for (int j = 0; j < n_pos; ++j)
        for (int c = 0; c < d; c += 8) {
            _mm256_storeu_ps(kf + size_t(j) * d + c, load_half8(k + size_t(j) * stride + c));
            _mm256_storeu_ps(vf + size_t(j) * d + c, load_half8(v + size_t(j) * stride + c));
        }
    for (int g = 0; g < G; ++g)
        attend_head(q + size_t(g) * q_stride, kf, vf, n_pos, d, scale, cap, scores, m + g, l + g, acc + size_t(g) * d);
}

void f32_to_f16(const float* x, uint16_t* y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; ++i)
        y[i] = uint16_t(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), 0));
}

}  // namespace ap::kern::avx2
