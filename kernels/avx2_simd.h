// Small AVX2 building blocks shared by the avx2_*.cpp kernels. Include only
// from translation units compiled with -mavx2 -mfma (see kernels/CMakeLists.txt).
#pragma once
#include <immintrin.h>

#include <cstdint>

// The bit-transpose and lookup helpers must melt into the kernels' loops
// (their arrays of registers would otherwise go through memory); GCC stops
// inlining them once a kernel gets large, so insist.
#if defined(__GNUC__)
#define AP_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define AP_ALWAYS_INLINE inline
#endif

namespace ap::kern::avx2 {

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float hsum128(__m128 s) {
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Lane mask for a partial vector: the first `n` (0..8) int32 lanes all-ones.
inline __m256i first_lanes(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// The transpose steps of plane_transpose.h on ymm registers (swap: 6
// operations, split: 3).
struct BitSteps {
    template <int S>
    static AP_ALWAYS_INLINE void swap(__m256i& a, __m256i& c, __m256i m) {
        const __m256i t = _mm256_and_si256(_mm256_xor_si256(_mm256_srli_epi32(a, S), c), m);
        c = _mm256_xor_si256(c, t);
        a = _mm256_xor_si256(a, _mm256_slli_epi32(t, S));
    }
    template <int S>
    static AP_ALWAYS_INLINE void split(__m256i& a, __m256i& c, __m256i m) {
        c = _mm256_and_si256(_mm256_srli_epi32(a, S), m);
        a = _mm256_andnot_si256(_mm256_slli_epi32(m, S), a);
    }
};

}  // namespace ap::kern::avx2
