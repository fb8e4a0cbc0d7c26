// Per-call activation quantization for the any-precision GEMV (see avx2_xquant.h).
#include "avx2_xquant.h"

#include "avx2_simd.h"

namespace ap::kern::avx2 {

// One 32-column block: returns its 32 int8 values with byte 4*t + m of the
// 32-byte result = column 8*m + t (the per-word part of the index order),
// and adds to the running sums.
static inline __m256i quantize_block(const float* x, int n, int qmax, float* scale, __m256& sum, __m256& qsum) {
    __m256 v[4];
    for (int j = 0; j < 4; ++j) {
        const int left = n - 8 * j;
        if (left >= 8) v[j] = _mm256_loadu_ps(x + 8 * j);
        else if (left > 0) v[j] = _mm256_maskload_ps(x + 8 * j, first_lanes(left));
        else v[j] = _mm256_setzero_ps();
    }
    sum = _mm256_add_ps(sum, _mm256_add_ps(_mm256_add_ps(v[0], v[1]), _mm256_add_ps(v[2], v[3])));
    const __m256 sign = _mm256_set1_ps(-0.f);
    const __m256 amax8 = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                                       _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
    const float amax = hmax(amax8);
    const float s = amax / float(qmax);
    *scale = s;
    const __m256 inv = _mm256_set1_ps(amax > 0.f ? float(qmax) / amax : 0.f);
    __m256i q[4];
    for (int j = 0; j < 4; ++j) q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], inv));
    const __m256i qs = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    qsum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(qs), _mm256_set1_ps(s), qsum);
    // packs interleave lanes: lane L, byte 4*m + e now holds column 8*m + 4*L + e.
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    // 4x4 byte transpose per lane: byte 4*e + m <- byte 4*m + e, i.e. t = 4*L + e major.
    const __m256i tr = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                        0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm256_shuffle_epi8(p, tr);
}

// Quantizes one token into q/scale; returns {sum of x, sum of scale * q}.
static void quantize_token(const float* x, int cols, int groups, int qmax, int8_t* qout, float* scale, float& xsum, float& qsum_out) {
    __m256 sum = _mm256_setzero_ps(), qsum = _mm256_setzero_ps();
    for (int g = 0; g < groups; ++g) {
        __m256i v[4];  // dword t of v[i] = the 4 bytes (m = 0..3) of column block 4g+i for slice t
        for (int i = 0; i < 4; ++i) {
            const int c0 = 128 * g + 32 * i;
            v[i] = quantize_block(x + c0, cols - c0, qmax, scale + 4 * g + i, sum, qsum);
        }
        // 4x8 dword transpose: slice t gets [v0[t], v1[t], v2[t], v3[t]].
        const __m256i a = _mm256_unpacklo_epi32(v[0], v[1]), b = _mm256_unpacklo_epi32(v[2], v[3]);
        const __m256i c = _mm256_unpackhi_epi32(v[0], v[1]), d = _mm256_unpackhi_epi32(v[2], v[3]);
        const __m256i s04 = _mm256_unpacklo_epi64(a, b), s15 = _mm256_unpackhi_epi64(a, b);
        const __m256i s26 = _mm256_unpacklo_epi64(c, d), s37 = _mm256_unpackhi_epi64(c, d);
        __m128i* q = reinterpret_cast<__m128i*>(qout + 128 * g);
        _mm_storeu_si128(q + 0, _mm256_castsi256_si128(s04));
        _mm_storeu_si128(q + 4, _mm256_extracti128_si256(s04, 1));
        _mm_storeu_si128(q + 1, _mm256_castsi256_si128(s15));
        _mm_storeu_si128(q + 5, _mm256_extracti128_si256(s15, 1));
        _mm_storeu_si128(q + 2, _mm256_castsi256_si128(s26));
        _mm_storeu_si128(q + 6, _mm256_extracti128_si256(s26, 1));
        _mm_storeu_si128(q + 3, _mm256_castsi256_si128(s37));
        _mm_storeu_si128(q + 7, _mm256_extracti128_si256(s37, 1));
    }
    xsum = hsum(sum);
    qsum_out = hsum(qsum);
}

QuantBatch::QuantBatch(const float* X, size_t ldx, int n, int cols, int qmax) {
    n = n < kMaxTokens ? n : kMaxTokens;
    const int groups = (cols + 127) / 128;
    const size_t per_token = size_t(groups) * 128;
    int8_t* q = q_;
    float* s = s_;
    if (per_token * n > sizeof(q_)) {
        heap_q_.reset(new int8_t[per_token * n]);
        heap_s_.reset(new float[per_token / 32 * n]);
        q = heap_q_.get();
        s = heap_s_.get();
    }
    for (int j = 0; j < n; ++j) {
        QuantX& t = tok_[j];
        int8_t* tq = q + per_token * j;
        float* ts = s + per_token / 32 * j;
        quantize_token(X + ldx * j, cols, groups, qmax, tq, ts, t.sum, t.qsum);
        t.q = tq;
        t.scale = ts;
    }
}

}  // namespace ap::kern::avx2
