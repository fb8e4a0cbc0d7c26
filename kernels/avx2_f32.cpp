// Dense fp32 products on AVX2+FMA: register blocks of rows x tokens whose
// dot products run along K, so each weight vector loaded serves every token
// of the block and each activation vector every row.
#include "avx2_internal.h"
#include "avx2_simd.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace ap::kern::avx2 {

namespace {

template <int RB, int TB>
void dot_block(const float* W, size_t ldw, int K, const float* X, size_t ldx, float* Y, size_t ldy) {
    __m256 acc[RB][TB];
    for (int r = 0; r < RB; ++r)
        for (int t = 0; t < TB; ++t) acc[r][t] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 xv[TB];
        for (int t = 0; t < TB; ++t) xv[t] = _mm256_loadu_ps(X + t * ldx + k);
        for (int r = 0; r < RB; ++r) {
            const __m256 w = _mm256_loadu_ps(W + r * ldw + k);
            for (int t = 0; t < TB; ++t) acc[r][t] = _mm256_fmadd_ps(w, xv[t], acc[r][t]);
        }
    }
    if (k < K) {
        const __m256i mask = first_lanes(K - k);
        __m256 xv[TB];
        for (int t = 0; t < TB; ++t) xv[t] = _mm256_maskload_ps(X + t * ldx + k, mask);
        for (int r = 0; r < RB; ++r) {
            const __m256 w = _mm256_maskload_ps(W + r * ldw + k, mask);
            for (int t = 0; t < TB; ++t) acc[r][t] = _mm256_fmadd_ps(w, xv[t], acc[r][t]);
        }
    }
    for (int r = 0; r < RB; ++r)
        for (int t = 0; t < TB; ++t) Y[t * ldy + r] = hsum(acc[r][t]);
}

using BlockFn = void (*)(const float*, size_t, int, const float*, size_t, float*, size_t);

// Row blocks of up to 4 against token blocks of up to 3: 12 accumulators,
// 4 weight and 3 activation loads per 12 FMAs.
constexpr int kRowBlock = 4, kTokBlock = 3;
constexpr BlockFn kBlocks[kRowBlock][kTokBlock] = {
    {dot_block<1, 1>, dot_block<1, 2>, dot_block<1, 3>},
    {dot_block<2, 1>, dot_block<2, 2>, dot_block<2, 3>},
    {dot_block<3, 1>, dot_block<3, 2>, dot_block<3, 3>},
    {dot_block<4, 1>, dot_block<4, 2>, dot_block<4, 3>},
};

}  // namespace

void f32_rows(const float* W, size_t ldw, int K, int rows, const float* X, size_t ldx, int n, float* Y, size_t ldy) {
    if (n == 1) {
        // GEMV is bound by streaming W: 8 rows give 8 independent FMA chains.
        int r = 0;
        for (; r + 8 <= rows; r += 8) dot_block<8, 1>(W + r * ldw, ldw, K, X, ldx, Y + r, ldy);
        for (; r < rows; ++r) dot_block<1, 1>(W + r * ldw, ldw, K, X, ldx, Y + r, ldy);
        return;
    }
    for (int t = 0; t < n; t += kTokBlock) {
        const int tb = std::min(kTokBlock, n - t);
        for (int r = 0; r < rows; r += kRowBlock) {
            const int rb = std::min(kRowBlock, rows - r);
            kBlocks[rb - 1][tb - 1](W + r * ldw, ldw, K, X + t * ldx, ldx, Y + t * ldy + r, ldy);
        }
    }
}

// Rows per tile for several tokens: about 32 KB of weights, so the tile
// stays in L1/L2 while every token block passes over it.
int f32_tile_rows(int K) {
    const int r = 32768 / (4 * std::max(K, 1));
    return std::clamp(r / kRowBlock * kRowBlock, kRowBlock, 64);
}

void gemm_f32(const float* W, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    const int tile = n == 1 ? r1 - r0 : f32_tile_rows(K);
    for (int r = r0; r < r1; r += tile) {
        const int rows = std::min(tile, r1 - r);
        f32_rows(W + size_t(r) * K, size_t(K), K, rows, X, size_t(ldx), n, Y + r, size_t(ldy));
    }
}

// 16-bit weights: a cache-sized tile of rows widened to fp32 (F16C, or a
// shift for bf16), then the fp32 blocks. Each row's sum runs along K in the
// same order whatever n is, so a token's result does not depend on its batch.
void gemm_h16(const uint16_t* W, bool bf16, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    const int tile = std::min(f32_tile_rows(K), r1 - r0);
    std::vector<float> w(size_t(tile) * K);
    for (int r = r0; r < r1; r += tile) {
        const int rows = std::min(tile, r1 - r);
        const uint16_t* src = W + size_t(r) * K;
        const size_t count = size_t(rows) * K;
        size_t i = 0;
        if (bf16) {
            for (; i + 8 <= count; i += 8) {
                const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
                _mm256_storeu_ps(w.data() + i, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
            }
            for (; i < count; ++i) {
                const uint32_t b = uint32_t(src[i]) << 16;
                std::memcpy(&w[i], &b, 4);
            }
        } else {
            for (; i + 8 <= count; i += 8)
                _mm256_storeu_ps(w.data() + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
            for (; i < count; ++i) w[i] = _cvtsh_ss(src[i]);
        }
        f32_rows(w.data(), size_t(K), K, rows, X, size_t(ldx), n, Y + r, size_t(ldy));
    }
}

}  // namespace ap::kern::avx2
