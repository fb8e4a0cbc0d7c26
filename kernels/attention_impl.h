// The attention kernels' algorithm (KernelSet::attend_f16 / attend_q8),
// written once over a vector type: avx2_attention.cpp instantiates it with
// 8-lane ymm registers, avx512_attention.cpp with 16-lane zmm ones (half the
// FMAs and conversions per cached row, and twice the registers, so the
// weighted V sum of three heads keeps 128 columns in registers, and four
// heads (Llama 3's 32 query heads over 8 KV heads) keep 4 positions per
// scores step and 64 columns per V run, where AVX2 keeps 2 and 16).
//
// Each cached row is read and converted once for all the query heads that
// share its KV head (up to V::kHeads per pass): per position and chunk of
// columns, one conversion feeds one FMA per head, so the work is the heads'
// FMAs and not the conversions, and nothing goes through a scratch copy of
// the rows. Scores for 4 positions x up to 3 (4) heads are 12 (16)
// independent FMA chains. Four heads on AVX2 (Llama 3's 32 query heads over
// 8 KV heads, Mistral's alike) take one pass of 2 positions x 4 heads and a
// V sum in narrower column runs rather than two passes of two heads: the
// second pass re-read every row, and from memory one pass is 0.80-0.92x the
// time (Zen 3, one thread, 2000 positions, f16 and int8 rows); from cache
// the two are level, so more heads still go in passes of three.
// Results differ from attend_f16_scalar only by fp32 rounding order and the
// exp approximation (within 2 ulp).
//
// Include only from a translation unit compiled for the vector type's
// instructions; everything here has internal linkage (one copy per set).
#pragma once
#include "avx2_simd.h"
#include "kernels.h"  // kAttendHeadsPerPass

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace ap::kern {
namespace {

// The vector operations the algorithm needs. V::reg holds kLanes floats;
// kRegs is the register file (16 ymm, 32 zmm); kHeads the most heads a
// pass takes when several passes are needed, kOnePass the most heads taken
// in a single pass (their scores' accumulators, q chunks and a row chunk fit).
//   V::half(p) / V::int8(p): kLanes cached values from p as fp32;
//   V::sum4(a0..a3): the four horizontal sums, lane u = sum of a_u.

// Asks for the cache lines of n bytes from p (no fault if p is past the end:
// prefetches never trap).
AP_ALWAYS_INLINE void prefetch_bytes(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    for (size_t b = 0; b < n; b += 64) _mm_prefetch(c + b, _MM_HINT_T0);
}

// Row readers: load(j, c) = the values of cached row j from column c, as
// fp32 before the row's scale; scale(j) = that scale (1 for fp16 rows).
template <class V>
struct HalfRows {
    const uint16_t* p;
    size_t stride;
    AP_ALWAYS_INLINE typename V::reg load(int j, int c) const { return V::half(p + size_t(j) * stride + c); }
    AP_ALWAYS_INLINE void prefetch(int j, int d) const { prefetch_bytes(p + size_t(j) * stride, size_t(d) * 2); }
    static constexpr bool kScaled = false;
    float scale(int) const { return 1.f; }
};
template <class V>
struct Int8Rows {
    const int8_t* p;
    const float* s;
    size_t stride;
    AP_ALWAYS_INLINE typename V::reg load(int j, int c) const { return V::int8(p + size_t(j) * stride + c); }
    AP_ALWAYS_INLINE void prefetch(int j, int d) const { prefetch_bytes(p + size_t(j) * stride, size_t(d)); }
    static constexpr bool kScaled = true;
    float scale(int j) const { return s[j]; }
};

// scores[g * n_pos + j] = scale * K.scale(j) * dot(q_g, k_j) for GH heads.
// The K rows kAhead positions on are asked for as the scores go, and the V
// rows of the same positions for the weighted pass that follows: one part's
// rows are a few short runs, too short for the hardware prefetcher to reach
// full speed (one thread streamed 6-7 GB/s without this).
constexpr int kAhead = 16;
// Positions per step of head_scores: 4 while their GH x 4 accumulators, GH
// q chunks and a row chunk fit the register file, else 2 (AVX2, 4 heads).
template <class V, int GH>
constexpr int score_positions() {
    return 4 * GH + GH + 1 <= V::kRegs ? 4 : 2;
}
template <class V, int GH, class Rows>
void head_scores(const float* q, size_t q_stride, const Rows& K, const Rows& Vr, int n_pos, int d, float scale,
                 float* scores) {
    using R = typename V::reg;
    constexpr int P = score_positions<V, GH>();
    int j = 0;
    for (int u = 0; u < kAhead && u < n_pos; ++u) K.prefetch(u, d);
    for (; j + P <= n_pos; j += P) {
        for (int u = 0; u < P; ++u) {
            if (j + u + kAhead < n_pos) K.prefetch(j + u + kAhead, d);
            Vr.prefetch(j + u, d);
        }
        R a[P][GH];
        for (int u = 0; u < P; ++u)
            for (int g = 0; g < GH; ++g) a[u][g] = V::zero();
        for (int c = 0; c < d; c += V::kLanes) {
            R qv[GH];
            for (int g = 0; g < GH; ++g) qv[g] = V::load(q + g * q_stride + c);
            for (int u = 0; u < P; ++u) {
                const R kv = K.load(j + u, c);
                for (int g = 0; g < GH; ++g) a[u][g] = V::fma(kv, qv[g], a[u][g]);
            }
        }
        if constexpr (P == 4) {
            __m128 rs = _mm_set1_ps(scale);
            if constexpr (Rows::kScaled) rs = _mm_mul_ps(rs, _mm_setr_ps(K.scale(j), K.scale(j + 1), K.scale(j + 2), K.scale(j + 3)));
            for (int g = 0; g < GH; ++g)
                _mm_storeu_ps(scores + size_t(g) * n_pos + j, _mm_mul_ps(V::sum4(a[0][g], a[1][g], a[2][g], a[3][g]), rs));
        } else {
            // Two heads' two positions per sum4: lanes (g, j), (g, j + 1), (g + 1, j), (g + 1, j + 1).
            __m128 rs = _mm_set1_ps(scale);
            if constexpr (Rows::kScaled) rs = _mm_mul_ps(rs, _mm_setr_ps(K.scale(j), K.scale(j + 1), K.scale(j), K.scale(j + 1)));
            static_assert(GH % 2 == 0);
            for (int g = 0; g < GH; g += 2) {
                const __m128 s = _mm_mul_ps(V::sum4(a[0][g], a[1][g], a[0][g + 1], a[1][g + 1]), rs);
                _mm_storel_pi(reinterpret_cast<__m64*>(scores + size_t(g) * n_pos + j), s);
                _mm_storeh_pi(reinterpret_cast<__m64*>(scores + size_t(g + 1) * n_pos + j), s);
            }
        }
    }
    for (; j < n_pos; ++j) {
        R a[GH];
        for (int g = 0; g < GH; ++g) a[g] = V::zero();
        for (int c = 0; c < d; c += V::kLanes) {
            const R kv = K.load(j, c);
            for (int g = 0; g < GH; ++g) a[g] = V::fma(kv, V::load(q + g * q_stride + c), a[g]);
        }
        for (int g = 0; g < GH; ++g) scores[size_t(g) * n_pos + j] = V::hsum(a[g]) * scale * K.scale(j);
    }
}

// acc[g * d + c0 .. + C lanes) = sum_j w[g * n_pos + j] * v_j[c0 ..] for GH heads.
template <class V, int GH, int C, class Rows>
void weighted_rows(const float* w, const Rows& Vr, int n_pos, int c0, int d, float* acc) {
    using R = typename V::reg;
    R o[GH][C];
    for (int g = 0; g < GH; ++g)
        for (int c = 0; c < C; ++c) o[g][c] = V::zero();
    for (int j = 0; j < n_pos; ++j) {
        R p[GH];
        for (int g = 0; g < GH; ++g) p[g] = V::set1(w[size_t(g) * n_pos + j]);
        for (int c = 0; c < C; ++c) {
            const R v = Vr.load(j, c0 + V::kLanes * c);
            for (int g = 0; g < GH; ++g) o[g][c] = V::fma(p[g], v, o[g][c]);
        }
    }
    for (int g = 0; g < GH; ++g)
        for (int c = 0; c < C; ++c) V::store(acc + size_t(g) * d + c0 + V::kLanes * c, o[g][c]);
}

// Columns from c0 on in runs of C registers, then the rest with fewer: as
// many columns per pass over the positions as the registers hold.
template <class V, int GH, int C, class Rows>
void weighted_cols(const float* w, const Rows& Vr, int n_pos, int c0, int d, float* acc) {
    for (; c0 + V::kLanes * C <= d; c0 += V::kLanes * C) weighted_rows<V, GH, C>(w, Vr, n_pos, c0, d, acc);
    if constexpr (C > 1) weighted_cols<V, GH, C / 2>(w, Vr, n_pos, c0, d, acc);
}

// The widest power-of-two run whose GH x C accumulators, GH weights and
// a row chunk fit the register file (AVX2: 8 / 4 / 2 for 1 / 2 / 3 heads;
// AVX-512: 8 up to 3 heads, 4 for 4).
template <class V, int GH>
constexpr int run_regs() {
    int c = 8;
    while (c > 1 && GH * c + GH + 1 > V::kRegs) c /= 2;
    return c;
}

// attend_heads' softmax step: in place, p_j = exp(s_j - max); *m = max, *l = sum p_j.
using SoftMaxFn = void (*)(float* s, int n_pos, float cap, float* m, float* l);

// GH heads (q rows g * q_stride) over the range: scores, softmax, weighted V.
template <class V, int GH, class Rows>
void attend_heads(SoftMaxFn soft_max, const float* q, size_t q_stride, const Rows& K, const Rows& Vr, int n_pos, int d,
                  float scale, float cap, float* scores, float* m, float* l, float* acc) {
    head_scores<V, GH>(q, q_stride, K, Vr, n_pos, d, scale, scores);
    for (int g = 0; g < GH; ++g) {
        float* s = scores + size_t(g) * n_pos;
        soft_max(s, n_pos, cap, m + g, l + g);
        if constexpr (Rows::kScaled)  // V's row scales go into the weights (l is taken before)
            for (int j = 0; j < n_pos; ++j) s[j] *= Vr.scale(j);
    }
    weighted_cols<V, GH, run_regs<V, GH>()>(scores, Vr, n_pos, 0, d, acc);
}

// The G heads in one pass up to V::kOnePass, else in passes of at most
// V::kHeads, as evenly as they split. The caller has checked
// d % V::kLanes == 0; scratch holds a pass's scores.
template <class V, class Rows>
void attend_all(SoftMaxFn soft_max, const float* q, size_t q_stride, int G, const Rows& K, const Rows& Vr, int n_pos,
                int d, float scale, float cap, float* scratch, float* m, float* l, float* acc) {
    static_assert(V::kHeads >= 3 && V::kHeads <= V::kOnePass && V::kOnePass <= kAttendHeadsPerPass);
    const int passes = G <= V::kOnePass ? 1 : (G + V::kHeads - 1) / V::kHeads;
    for (int p = 0, g0 = 0; p < passes; ++p) {
        const int gh = (G - g0 + (passes - p) - 1) / (passes - p);
        const float* qg = q + size_t(g0) * q_stride;
        float* ag = acc + size_t(g0) * d;
        switch (gh) {
        case 1: attend_heads<V, 1>(soft_max, qg, q_stride, K, Vr, n_pos, d, scale, cap, scratch, m + g0, l + g0, ag); break;
        case 2: attend_heads<V, 2>(soft_max, qg, q_stride, K, Vr, n_pos, d, scale, cap, scratch, m + g0, l + g0, ag); break;
        case 3: attend_heads<V, 3>(soft_max, qg, q_stride, K, Vr, n_pos, d, scale, cap, scratch, m + g0, l + g0, ag); break;
        default:
            if constexpr (V::kOnePass >= 4)
                attend_heads<V, 4>(soft_max, qg, q_stride, K, Vr, n_pos, d, scale, cap, scratch, m + g0, l + g0, ag);
            break;
        }
        g0 += gh;
    }
}

}  // namespace
}  // namespace ap::kern
