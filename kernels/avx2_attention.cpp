// Attention over the fp16 or int8 KV cache with AVX2 + FMA + F16C (the
// algorithm is attention_impl.h, here over 8-lane ymm registers), the
// softmax step both sets share, and the KV row stores.
#include "attention_impl.h"
#include "avx2_internal.h"
#include "avx2_exp.h"
#include "avx2_simd.h"

#include <algorithm>
#include <cmath>

namespace ap::kern::avx2 {

namespace {

struct Ymm {
    using reg = __m256;
    static constexpr int kLanes = 8, kRegs = 16, kHeads = 3, kOnePass = 4;
    static AP_ALWAYS_INLINE reg zero() { return _mm256_setzero_ps(); }
    static AP_ALWAYS_INLINE reg load(const float* p) { return _mm256_loadu_ps(p); }
    static AP_ALWAYS_INLINE reg set1(float x) { return _mm256_set1_ps(x); }
    static AP_ALWAYS_INLINE void store(float* p, reg a) { _mm256_storeu_ps(p, a); }
    static AP_ALWAYS_INLINE reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    static AP_ALWAYS_INLINE reg half(const uint16_t* p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static AP_ALWAYS_INLINE reg int8(const int8_t* p) {
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
    static AP_ALWAYS_INLINE float hsum(reg a) { return avx2::hsum(a); }
    // Lane u = the sum of a_u (hadd pairs within each 128-bit half, then the halves added).
    static AP_ALWAYS_INLINE __m128 sum4(reg a0, reg a1, reg a2, reg a3) {
        const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    }
};

}  // namespace

// One head's softmax numerators in place (p_j = exp(s_j - max)); *m = max,
// *l = sum p_j. Shared by both sets (a few percent of attention's time).
void soft_max(float* s, int n_pos, float cap, float* m, float* l) {
    if (cap > 0)  // gemma2's soft cap (rare: scalar tanh)
        for (int j = 0; j < n_pos; ++j) s[j] = cap * std::tanh(s[j] / cap);
    __m256 vmx = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= n_pos; j += 8) vmx = _mm256_max_ps(vmx, _mm256_loadu_ps(s + j));
    float mx = hmax(vmx);
    for (; j < n_pos; ++j) mx = std::max(mx, s[j]);
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    for (j = 0; j + 8 <= n_pos; j += 8) {
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

void attend_f16(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride, int n_pos,
                int d, float scale, float cap, float* scratch, float* m, float* l, float* acc) {
    if (d % 8 != 0 || d > 512 || n_pos <= 0) {
        attend_f16_scalar(q, q_stride, G, k, v, stride, n_pos, d, scale, cap, scratch, m, l, acc);
        return;
    }
    attend_all<Ymm>(soft_max, q, q_stride, G, HalfRows<Ymm>{k, stride}, HalfRows<Ymm>{v, stride}, n_pos, d, scale, cap, scratch, m, l, acc);
}

void attend_q8(const float* q, size_t q_stride, int G, const int8_t* k, const int8_t* v, const float* k_scale,
               const float* v_scale, size_t stride, int n_pos, int d, float scale, float cap, float* scratch, float* m,
               float* l, float* acc) {
    if (d % 8 != 0 || d > 512 || n_pos <= 0) {
        attend_q8_scalar(q, q_stride, G, k, v, k_scale, v_scale, stride, n_pos, d, scale, cap, scratch, m, l, acc);
        return;
    }
    attend_all<Ymm>(soft_max, q, q_stride, G, Int8Rows<Ymm>{k, k_scale, stride}, Int8Rows<Ymm>{v, v_scale, stride}, n_pos, d, scale, cap, scratch,
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
