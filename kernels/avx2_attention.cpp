// Attention over the fp16 or int8 KV cache with AVX2 + FMA + F16C, for the
// query heads that share one KV head. Each cached row is read and converted
// once for all of them (up to three heads per pass): per position and
// 8-column chunk, one conversion feeds one FMA per head, so the work is the
// heads' FMAs and not the conversions, and nothing goes through a scratch
// copy of the rows (that copy cost more than the arithmetic). Scores for 4
// positions x up to 3 heads are 12 independent FMA chains; the weighted V
// sum keeps up to 3 heads x 32 columns in registers. Same contract as
// attend_f16_scalar; results differ from it only by fp32 rounding order and
// the exp approximation (within 2 ulp).
#include "avx2_internal.h"
#include "avx2_exp.h"
#include "avx2_simd.h"

#include <algorithm>
#include <cmath>

namespace ap::kern::avx2 {

namespace {

// Row readers: load(j, c) = 8 values of cached row j from column c, as fp32
// before the row's scale; scale(j) = that scale (1 for fp16 rows).
struct HalfRows {
    const uint16_t* p;
    size_t stride;
    AP_ALWAYS_INLINE __m256 load(int j, int c) const {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + size_t(j) * stride + c)));
    }
    static constexpr bool kScaled = false;
    float scale(int) const { return 1.f; }
};
struct Int8Rows {
    const int8_t* p;
    const float* s;
    size_t stride;
    AP_ALWAYS_INLINE __m256 load(int j, int c) const {
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + size_t(j) * stride + c))));
    }
    static constexpr bool kScaled = true;
    float scale(int j) const { return s[j]; }
};

// scores[g * n_pos + j] = scale * K.scale(j) * dot(q_g, k_j) for GH heads.
template <int GH, class Rows>
void head_scores(const float* q, size_t q_stride, const Rows& K, int n_pos, int d, float scale, float* scores) {
    int j = 0;
    for (; j + 4 <= n_pos; j += 4) {
        __m256 a[4][GH];
        for (int u = 0; u < 4; ++u)
            for (int g = 0; g < GH; ++g) a[u][g] = _mm256_setzero_ps();
        for (int c = 0; c < d; c += 8)
            for (int u = 0; u < 4; ++u) {
                const __m256 kv = K.load(j + u, c);
                for (int g = 0; g < GH; ++g) a[u][g] = _mm256_fmadd_ps(kv, _mm256_loadu_ps(q + g * q_stride + c), a[u][g]);
            }
        __m128 rs = _mm_set1_ps(scale);
        if constexpr (Rows::kScaled) rs = _mm_mul_ps(rs, _mm_setr_ps(K.scale(j), K.scale(j + 1), K.scale(j + 2), K.scale(j + 3)));
        for (int g = 0; g < GH; ++g) {
            // Lane u = the sum of a[u][g] (hadd pairs within each 128-bit half, then the halves added).
            const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a[0][g], a[1][g]), _mm256_hadd_ps(a[2][g], a[3][g]));
            const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
            _mm_storeu_ps(scores + size_t(g) * n_pos + j, _mm_mul_ps(s4, rs));
        }
    }
    for (; j < n_pos; ++j) {
        __m256 a[GH];
        for (int g = 0; g < GH; ++g) a[g] = _mm256_setzero_ps();
        for (int c = 0; c < d; c += 8) {
            const __m256 kv = K.load(j, c);
            for (int g = 0; g < GH; ++g) a[g] = _mm256_fmadd_ps(kv, _mm256_loadu_ps(q + g * q_stride + c), a[g]);
        }
        for (int g = 0; g < GH; ++g) scores[size_t(g) * n_pos + j] = hsum(a[g]) * scale * K.scale(j);
    }
}

// One head's softmax numerators in place (p_j = exp(s_j - max)); *m = max, *l = sum p_j.
void soft_max(float* s, int n_pos, float cap, float* m, float* l) {
    if (cap > 0)  // gemma2's soft cap (rare: scalar tanh)
        for (int j = 0; j < n_pos; ++j) s[j] = cap * std::tanh(s[j] / cap);
    float mx = -INFINITY;
    for (int j = 0; j < n_pos; ++j) mx = std::max(mx, s[j]);
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= n_pos; j += 8) {
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
        _mm256_storeu_ps(s + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    if (j < n_pos) {
        const __m256i mask = first_lanes(n_pos - j);
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_maskload_ps(s + j, mask), vm));
        _mm256_maskstore_ps(s + j, mask, e);
        vsum = _mm256_add_ps(vsum, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
    }
    *m = mx;
    *l = hsum(vsum);
}

// acc[g * d + c0 .. + 8C) = sum_j w[g * n_pos + j] * v_j[c0 .. + 8C) for GH heads.
template <int GH, int C, class Rows>
void weighted_rows(const float* w, const Rows& V, int n_pos, int c0, int d, float* acc) {
    __m256 o[GH][C];
    for (int g = 0; g < GH; ++g)
        for (int c = 0; c < C; ++c) o[g][c] = _mm256_setzero_ps();
    for (int j = 0; j < n_pos; ++j) {
        __m256 p[GH];
        for (int g = 0; g < GH; ++g) p[g] = _mm256_broadcast_ss(w + size_t(g) * n_pos + j);
        for (int c = 0; c < C; ++c) {
            const __m256 v = V.load(j, c0 + 8 * c);
            for (int g = 0; g < GH; ++g) o[g][c] = _mm256_fmadd_ps(p[g], v, o[g][c]);
        }
    }
    for (int g = 0; g < GH; ++g)
        for (int c = 0; c < C; ++c) _mm256_storeu_ps(acc + size_t(g) * d + c0 + 8 * c, o[g][c]);
}

template <int GH, class Rows>
void weighted_sum(const float* w, const Rows& V, int n_pos, int d, float* acc) {
    // GH x C accumulators, GH weights and the row chunk fit the 16 registers.
    constexpr int C = GH <= 2 ? 4 : 2;
    int c0 = 0;
    for (; c0 + 8 * C <= d; c0 += 8 * C) weighted_rows<GH, C>(w, V, n_pos, c0, d, acc);
    for (; c0 < d; c0 += 8) weighted_rows<GH, 1>(w, V, n_pos, c0, d, acc);
}

// GH heads (q rows g * q_stride) over the range: scores, softmax, weighted V.
template <int GH, class Rows>
void attend_heads(const float* q, size_t q_stride, const Rows& K, const Rows& V, int n_pos, int d, float scale, float cap,
                  float* scores, float* m, float* l, float* acc) {
    head_scores<GH>(q, q_stride, K, n_pos, d, scale, scores);
    for (int g = 0; g < GH; ++g) {
        float* s = scores + size_t(g) * n_pos;
        soft_max(s, n_pos, cap, m + g, l + g);
        if constexpr (Rows::kScaled)  // V's row scales go into the weights (l is taken before)
            for (int j = 0; j < n_pos; ++j) s[j] *= V.scale(j);
    }
    weighted_sum<GH>(scores, V, n_pos, d, acc);
}

// The G heads in passes of at most three, as evenly as they split.
template <class Rows>
void attend_all(const float* q, size_t q_stride, int G, const Rows& K, const Rows& V, int n_pos, int d, float scale,
                float cap, float* scratch, float* m, float* l, float* acc) {
    const int passes = (G + 2) / 3;
    for (int p = 0, g0 = 0; p < passes; ++p) {
        const int gh = (G - g0 + (passes - p) - 1) / (passes - p);
        const float* qg = q + size_t(g0) * q_stride;
        float* ag = acc + size_t(g0) * d;
        switch (gh) {
        case 1: attend_heads<1>(qg, q_stride, K, V, n_pos, d, scale, cap, scratch, m + g0, l + g0, ag); break;
        case 2: attend_heads<2>(qg, q_stride, K, V, n_pos, d, scale, cap, scratch, m + g0, l + g0, ag); break;
        default: attend_heads<3>(qg, q_stride, K, V, n_pos, d, scale, cap, scratch, m + g0, l + g0, ag); break;
        }
        g0 += gh;
    }
}

}  // namespace

// The scratch holds 3 heads' scores (attend_scratch_floats(n_pos, d) >= 3 * n_pos for d >= 8).
void attend_f16(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride, int n_pos,
                int d, float scale, float cap, float* scratch, float* m, float* l, float* acc) {
    if (d % 8 != 0 || d > 512 || n_pos <= 0) {
        attend_f16_scalar(q, q_stride, G, k, v, stride, n_pos, d, scale, cap, scratch, m, l, acc);
        return;
    }
    attend_all(q, q_stride, G, HalfRows{k, stride}, HalfRows{v, stride}, n_pos, d, scale, cap, scratch, m, l, acc);
}

void attend_q8(const float* q, size_t q_stride, int G, const int8_t* k, const int8_t* v, const float* k_scale,
               const float* v_scale, size_t stride, int n_pos, int d, float scale, float cap, float* scratch, float* m,
               float* l, float* acc) {
    if (d % 8 != 0 || d > 512 || n_pos <= 0) {
        attend_q8_scalar(q, q_stride, G, k, v, k_scale, v_scale, stride, n_pos, d, scale, cap, scratch, m, l, acc);
        return;
    }
    attend_all(q, q_stride, G, Int8Rows{k, k_scale, stride}, Int8Rows{v, v_scale, stride}, n_pos, d, scale, cap, scratch,
               m, l, acc);
}

void f32_to_f16(const float* x, uint16_t* y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; ++i)
        y[i] = uint16_t(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), 0));
}

float f32_to_q8(const float* x, int8_t* y, size_t n) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 mx = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) mx = _mm256_max_ps(mx, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    float amax = _mm_cvtss_f32(m4);
    for (size_t j = i; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
    // The scalar reference's arithmetic, step for step: the same bytes.
    const float inv = amax > 0 ? 127.f / amax : 0.f;
    const __m256 vinv = _mm256_set1_ps(inv), lo = _mm256_set1_ps(-127.f), hi = _mm256_set1_ps(127.f);
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv), lo), hi);
        const __m256i q = _mm256_cvtps_epi32(v);  // round to nearest even, as lrint
        const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), _mm_packs_epi16(w, w));
    }
    for (; i < n; ++i) y[i] = int8_t(std::lrint(std::clamp(x[i] * inv, -127.f, 127.f)));
    return amax / 127.f;
}

}  // namespace ap::kern::avx2
