// Any-precision products for one token or a few (decode, speculative
// verification) straight from the bitplanes: indices by bit transpose, codes
// by pshufb from the rows' int8 tables, dot products in int8 against the
// quantized activations. Per row, width and token:
//   y = offset * sum(x) + scale * sum_k code_k * x_k
// where the second sum runs in integers block by block (32 columns share one
// activation scale). Codes are looked up once per group and reused by every
// token, and each token's arithmetic is the same whatever the batch, so a
// batch of n gives exactly the results of n single-token calls.
#include "avx2_internal.h"
#include "avx2_ap_index.h"
#include "avx2_xquant.h"

namespace ap::kern::avx2 {

namespace {

// Codes enter maddubs as uint8 (code + 128): with activations in [-64, 64]
// a pair of products stays within 2 * 255 * 64 = 32640, so the int16 sums
// never saturate, and the +128 comes back out through QuantX::qsum.
constexpr int kActMax = 64;
constexpr int kCodeBias = 128;
static_assert(kFewTokens <= QuantBatch::kMaxTokens);

// NT > 0: exactly NT tokens (accumulators in registers); NT = 0: n tokens, n <= kMaxTokens.
template <int B, int NT>
void ap_rows(const ApMatrix& m, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    constexpr int kTok = NT > 0 ? NT : QuantBatch::kMaxTokens;
    if constexpr (NT > 0) n = NT;
    const int full = m.words / 4, groups = (m.words + 3) / 4;
    const __m256i ones = _mm256_set1_epi16(1);
    const int8_t* lut = m.lut[B];
    const float* aff = m.lut_affine[B];
    for (int r = r0; r < r1; r += 2) {
        const int ra = r, rb = r + 1 < r1 ? r + 1 : r;  // an odd last row pairs with itself
        PairTable<B> tab;
        tab.load(lut + size_t(ra) * (1 << B), lut + size_t(rb) * (1 << B), char(0x80));
        const PairPlanes<B> planes(m, ra, rb);
        __m256 facc[kTok];
        for (int j = 0; j < n; ++j) facc[j] = _mm256_setzero_ps();
        for (int g = 0; g < groups; ++g) {
            __m256i P[B], C[8];
            if (g < full) planes.load(g, P);
            else planes.load_tail(g, P);
            plane_indices<B>(P, C);
            // With one token, looking up just before use keeps fewer registers live.
            if constexpr (NT != 1)
                for (int t = 0; t < 8; ++t) C[t] = tab.lookup(C[t]);
            for (int j = 0; j < n; ++j) {
                const QuantX& x = xb.token(j);
                const int8_t* xq = x.q + 128 * g;
                __m256i acc = _mm256_setzero_si256();
                for (int t = 0; t < 8; ++t) {
                    const __m256i xv = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xq + 16 * t)));
                    const __m256i code = NT == 1 ? tab.lookup(C[t]) : C[t];
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(code, xv), ones));
                }
                const __m256 xs = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(x.scale + 4 * g));
                facc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), xs, facc[j]);
            }
        }
        for (int j = 0; j < n; ++j) {
            const QuantX& x = xb.token(j);
            const float corr = -float(kCodeBias) * x.qsum;
            float* y = Y + ldy * j;
            y[ra] = aff[2 * ra + 1] * x.sum + aff[2 * ra] * (hsum128(_mm256_castps256_ps128(facc[j])) + corr);
            if (rb != ra) y[rb] = aff[2 * rb + 1] * x.sum + aff[2 * rb] * (hsum128(_mm256_extractf128_ps(facc[j], 1)) + corr);
        }
    }
}

template <int B>
void ap_rows_any(const ApMatrix& m, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    if (n == 1) ap_rows<B, 1>(m, xb, n, Y, ldy, r0, r1);
    else ap_rows<B, 0>(m, xb, n, Y, ldy, r0, r1);
}

void ap_rows_width(const ApMatrix& m, int bits, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    switch (bits) {
    case 2: ap_rows_any<2>(m, xb, n, Y, ldy, r0, r1); break;
    case 3: ap_rows_any<3>(m, xb, n, Y, ldy, r0, r1); break;
    case 4: ap_rows_any<4>(m, xb, n, Y, ldy, r0, r1); break;
    case 5: ap_rows_any<5>(m, xb, n, Y, ldy, r0, r1); break;
    case 6: ap_rows_any<6>(m, xb, n, Y, ldy, r0, r1); break;
    case 7: ap_rows_any<7>(m, xb, n, Y, ldy, r0, r1); break;
    case 8: ap_rows_any<8>(m, xb, n, Y, ldy, r0, r1); break;
    }
}

struct Prepared final : PreparedX {
    Prepared(const float* X, size_t ldx, int n_, int cols_) : n(n_), cols(cols_), xb(X, ldx, n_, cols_, kActMax) {}
    int n, cols;
    QuantBatch xb;
};

}  // namespace

void gemm_ap_few(const ApMatrix& m, int bits, const float* X, size_t ldx, int n, float* Y, size_t ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    const QuantBatch xb(X, ldx, n, m.cols, kActMax);
    ap_rows_width(m, bits, xb, n, Y, ldy, r0, r1);
}

std::unique_ptr<PreparedX> prepare_x(const float* X, int ldx, int n, int cols) {
    if (n < 1 || n > kFewTokens) return nullptr;
    return std::make_unique<Prepared>(X, size_t(ldx), n, cols);
}

void gemm_ap_prepared(const ApMatrix& m, int bits, const PreparedX& x, float* Y, int ldy, int r0, int r1) {
    const auto& p = static_cast<const Prepared&>(x);
    if (r1 > r0) ap_rows_width(m, bits, p.xb, p.n, Y, size_t(ldy), r0, r1);
}

}  // namespace ap::kern::avx2
