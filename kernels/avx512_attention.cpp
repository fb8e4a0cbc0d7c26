// GCC 12 warns (falsely, GCC PR 105593) about _mm512_undefined_* inside the
// AVX-512 intrinsics; the pragma must precede the intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// Attention over the fp16 or int8 KV cache for the AVX-512 set: the
// algorithm of attention_impl.h over 16-lane zmm registers. Half the FMAs and
// conversions of the AVX2 form per cached row, and 32 registers take four
// query heads per pass (three on AVX2), so a KV head shared by four query
// heads (Llama 3) is streamed once instead of twice. Heads whose width is not
// a multiple of 16 take the AVX2 form; the softmax step is the AVX2 set's.
#include "attention_impl.h"
#include "avx2_internal.h"
#include "avx512_kernels.h"

namespace ap::kern::avx512 {

namespace {

struct Zmm {
    using reg = __m512;
    static constexpr int kLanes = 16, kRegs = 32, kHeads = 4, kOnePass = 4;
    static AP_ALWAYS_INLINE reg zero() { return _mm512_setzero_ps(); }
    static AP_ALWAYS_INLINE reg load(const float* p) { return _mm512_loadu_ps(p); }
    static AP_ALWAYS_INLINE reg set1(float x) { return _mm512_set1_ps(x); }
    static AP_ALWAYS_INLINE void store(float* p, reg a) { _mm512_storeu_ps(p, a); }
    static AP_ALWAYS_INLINE reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    static AP_ALWAYS_INLINE reg half(const uint16_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static AP_ALWAYS_INLINE reg int8(const int8_t* p) {
        return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    }
    static AP_ALWAYS_INLINE float hsum(reg a) { return _mm512_reduce_add_ps(a); }
    // The two 256-bit halves added, then the AVX2 form's hadd reduction.
    static AP_ALWAYS_INLINE __m256 fold(reg a) {
        return _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    }
    static AP_ALWAYS_INLINE __m128 sum4(reg a0, reg a1, reg a2, reg a3) {
        const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(fold(a0), fold(a1)), _mm256_hadd_ps(fold(a2), fold(a3)));
        return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    }
};

}  // namespace

void attend_f16(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride, int n_pos,
                int d, float scale, float cap, float* scratch, float* m, float* l, float* acc) {
    if (d % Zmm::kLanes != 0 || d > 512 || n_pos <= 0) {
        avx2::attend_f16(q, q_stride, G, k, v, stride, n_pos, d, scale, cap, scratch, m, l, acc);
        return;
    }
    attend_all<Zmm>(avx2::soft_max, q, q_stride, G, HalfRows<Zmm>{k, stride}, HalfRows<Zmm>{v, stride}, n_pos, d, scale,
                    cap, scratch, m, l, acc);
}

void attend_q8(const float* q, size_t q_stride, int G, const int8_t* k, const int8_t* v, const float* k_scale,
               const float* v_scale, size_t stride, int n_pos, int d, float scale, float cap, float* scratch, float* m,
               float* l, float* acc) {
    if (d % Zmm::kLanes != 0 || d > 512 || n_pos <= 0) {
        avx2::attend_q8(q, q_stride, G, k, v, k_scale, v_scale, stride, n_pos, d, scale, cap, scratch, m, l, acc);
        return;
    }
    attend_all<Zmm>(avx2::soft_max, q, q_stride, G, Int8Rows<Zmm>{k, k_scale, stride}, Int8Rows<Zmm>{v, v_scale, stride},
                    n_pos, d, scale, cap, scratch, m, l, acc);
}

}  // namespace ap::kern::avx512
