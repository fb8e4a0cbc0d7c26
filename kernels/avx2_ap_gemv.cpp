// Any-precision products for one token or a few (decode, speculative
// verification) straight from the bitplanes: indices by bit transpose, codes
// by pshufb from the rows' int8 tables, dot products in int8 against the
// quantized activations. Per row, width and token:
//   y = offset * sum(x) + scale * sum_k code_k * x_k
// where the second sum runs in integers block by block (32 columns share one
// activation scale). Codes are looked up once per group and reused by every
// token, and each token's arithmetic is the same whatever the batch, so a
// batch of n gives exactly the results of n single-token calls.
#include "ap_affine.h"
#include "avx2_internal.h"
#include "avx2_ap_index.h"
#include "avx2_xquant.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

namespace ap::kern::avx2 {

namespace {

// Two ways into maddubs (u8 x s8, int16 pair sums that must not saturate):
// - narrow widths: codes as uint8 (code + 128) against activations in
//   [-64, 64]: a pair stays within 2 * 255 * 64 = 32640, and the +128 comes
//   back out through QuantX::qsum. Nothing per token but the product.
// - wide widths (kWideFrom and up): |code| (at most 128) against the
//   activation carrying the code's sign (vpsignb), so activations use
//   [-127, 127]: a pair stays within 2 * 128 * 127 = 32512. Half the
//   activation rounding error (perplexity at 8 bits on SmolLM2 with int8
//   activations: 64 levels cost ~1.6%, 127 ~0.55%) for one more operation
//   per 32 weights and token, which the 4..16 table lookups per 32 weights
//   at these widths hide; at 2..5 bits it would cost 10-20% of decode.
constexpr int kActMax = 64;
constexpr int kActMaxWide = 127;
constexpr int kWideFrom = 6;
constexpr int kCodeBias = 128;
static_assert(kFewTokens <= QuantBatch::kMaxTokens);

constexpr int act_max(int bits) { return bits >= kWideFrom ? kActMaxWide : kActMax; }

// NT > 0: exactly NT tokens (accumulators in registers); NT = 0: n tokens, n <= kMaxTokens.
template <int B, int NT>
void ap_rows(const ApMatrix& m, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    constexpr int kTok = NT > 0 ? NT : QuantBatch::kMaxTokens;
    constexpr bool kWide = B >= kWideFrom;
    if constexpr (NT > 0) n = NT;
    const int full = m.words / 4, groups = (m.words + 3) / 4;
    const __m256i ones = _mm256_set1_epi16(1);
    const int8_t* lut = m.lut[B];
    const float* aff = m.lut_affine[B];
    for (int r = r0; r < r1; r += 2) {
        const int ra = r, rb = r + 1 < r1 ? r + 1 : r;  // an odd last row pairs with itself
        PairTable<B> tab;
        tab.load(lut + size_t(ra) * (1 << B), lut + size_t(rb) * (1 << B), kWide ? char(0) : char(0x80));
        const PairPlanes<B> planes(m, ra, rb);
        __m256 facc[kTok];
        for (int j = 0; j < n; ++j) facc[j] = _mm256_setzero_ps();
        for (int g = 0; g < groups; ++g) {
            __m256i P[B], C[8];
            if (g < full) planes.load(g, P);
            else planes.load_tail(g, P);
            plane_indices<B>(P, C);
            // With one token, looking up just before use keeps fewer registers live.
            // Wide widths keep the codes' magnitudes (the u8 operand) beside the codes (their signs).
            __m256i A[kWide && NT != 1 ? 8 : 1];
            if constexpr (NT != 1)
                for (int t = 0; t < 8; ++t) {
                    C[t] = tab.lookup(C[t]);
                    if constexpr (kWide) A[t] = _mm256_abs_epi8(C[t]);
                }
            for (int j = 0; j < n; ++j) {
                const QuantX& x = xb.token(j);
                const int8_t* xq = x.q + 128 * g;
                __m256i acc = _mm256_setzero_si256();
                for (int t = 0; t < 8; ++t) {
                    const __m256i xv = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xq + 16 * t)));
                    const __m256i code = NT == 1 ? tab.lookup(C[t]) : C[t];
                    __m256i p;
                    if constexpr (kWide) p = _mm256_maddubs_epi16(NT == 1 ? _mm256_abs_epi8(code) : A[t], _mm256_sign_epi8(xv, code));
                    else p = _mm256_maddubs_epi16(code, xv);
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
                }
                const __m256 xs = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(x.scale + 4 * g));
                facc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), xs, facc[j]);
            }
        }
        for (int j = 0; j < n; ++j) {
            const QuantX& x = xb.token(j);
            const float corr = kWide ? 0.f : -float(kCodeBias) * x.qsum;
            float* y = Y + ldy * j;
            y[ra] = ap_affine(aff[2 * ra], aff[2 * ra + 1], x.sum, hsum128(_mm256_castps256_ps128(facc[j])) + corr);
            if (rb != ra) y[rb] = ap_affine(aff[2 * rb], aff[2 * rb + 1], x.sum, hsum128(_mm256_extractf128_ps(facc[j], 1)) + corr);
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

// Activations quantized once for any number of tokens, in groups of
// QuantBatch::kMaxTokens: decode (one group) and prompt chunks (many) run the
// same int8 kernel, each group reusing every row pair's codes for all of its
// tokens, and every token gets the arithmetic it would get alone. Each
// activation range is quantized on first use (several threads may ask at once).
struct Prepared final : PreparedX {
    Prepared(const float* X_, size_t ldx_, int n_, int cols_) : X(X_), ldx(ldx_), n(n_), cols(cols_) {}
    const float* X;  // the caller keeps X alive and unchanged while it uses this
    size_t ldx;
    int n, cols;

    const std::vector<std::unique_ptr<QuantBatch>>& groups(int bits) const {
        Range& r = range[act_max(bits) == kActMaxWide];
        std::call_once(r.once, [&] {
            for (int t = 0; t < n; t += QuantBatch::kMaxTokens)
                r.groups.push_back(std::make_unique<QuantBatch>(X + ldx * size_t(t), ldx, std::min(QuantBatch::kMaxTokens, n - t), cols, act_max(bits)));
        });
        return r.groups;
    }

private:
    struct Range {
        std::once_flag once;
        std::vector<std::unique_ptr<QuantBatch>> groups;  // group g: tokens kMaxTokens * g ..
    };
    mutable Range range[2];  // [0]: narrow widths, [1]: wide
};

}  // namespace

void gemm_ap_few(const ApMatrix& m, int bits, const float* X, size_t ldx, int n, float* Y, size_t ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    const QuantBatch xb(X, ldx, n, m.cols, act_max(bits));
    ap_rows_width(m, bits, xb, n, Y, ldy, r0, r1);
}

std::unique_ptr<PreparedX> prepare_x(const float* X, int ldx, int n, int cols) {
    if (n < 1) return nullptr;
    return std::make_unique<Prepared>(X, size_t(ldx), n, cols);
}

void gemm_ap_prepared(const ApMatrix& m, int bits, const PreparedX& x, float* Y, int ldy, int r0, int r1) {
    const auto& p = static_cast<const Prepared&>(x);
    if (r1 <= r0) return;
    if (p.n > kFewTokens && bits >= kWideFrom) {
        // Prompt chunks at wide widths: the int8 kernel's 8..16 lookups per
        // 32 weights and its per-token sign operation leave it behind the
        // dequantized fp32 tiles (512-token microbenchmark, K = 576, one
        // thread: int8 0.030 / 0.039 / 0.045 ns per weight and token at 6 /
        // 7 / 8 bits, fp32 tiles 0.027 / 0.031 / 0.029; at 3..5 bits int8
        // 0.022, fp32 0.027), and the tiles are exact.
        gemm_ap(m, bits, p.X, int(p.ldx), p.n, Y, ldy, r0, r1);
        return;
    }
    const auto& groups = p.groups(bits);
    for (size_t g = 0; g < groups.size(); ++g) {
        const int t0 = int(g) * QuantBatch::kMaxTokens;
        ap_rows_width(m, bits, *groups[g], std::min(QuantBatch::kMaxTokens, p.n - t0), Y + size_t(ldy) * t0, size_t(ldy), r0, r1);
    }
}

}  // namespace ap::kern::avx2
