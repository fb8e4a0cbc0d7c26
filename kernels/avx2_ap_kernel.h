// The AVX2 any-precision kernel for one token or a few, in two flavours:
// plain AVX2 (maddubs) and AVX-VNNI (vpdpbusd, Intel client CPUs since Alder
// Lake, which have no AVX-512). avx2_ap_gemv.cpp instantiates the plain one,
// avx2_ap_gemv_vnni.cpp (compiled with -mavxvnni, run only where the CPU
// reports it) the other. Per row, width and token:
//   y = offset * sum(x) + scale * sum_k code_k * x_k
// where the second sum runs in integers block by block (32 columns share one
// activation scale). Codes are looked up once per group and reused by every
// token, and each token's arithmetic is the same whatever the batch, so a
// batch of n gives exactly the results of n single-token calls.
#pragma once
#include "ap_affine.h"
#include "avx2_ap_index.h"
#include "avx2_internal.h"  // expand_layout
#include "avx2_xquant.h"
#include "kernels.h"
#include "with_width.h"

namespace ap::kern::avx2 {

// Ways into the int8 products:
// - maddubs (u8 x s8, int16 pair sums that must not saturate), narrow
//   widths: codes as uint8 (code + 128) against activations in [-64, 64]:
//   a pair stays within 2 * 255 * 64 = 32640, and the +128 comes back out
//   through QuantX::qsum. Nothing per token but the product.
// - maddubs, wide widths (kWideFrom and up): |code| (at most 128) against
//   the activation carrying the code's sign (vpsignb), so activations use
//   [-127, 127]: a pair stays within 2 * 128 * 127 = 32512. Half the
//   activation rounding error (perplexity at 8 bits on SmolLM2 with int8
//   activations: 64 levels cost ~1.6%, 127 ~0.55%) for one more operation
//   per 32 weights and token, which the 4..16 table lookups per 32 weights
//   at these widths hide; at 2..5 bits it would cost 10-20% of decode.
// - vpdpbusd (AVX-VNNI), every width: codes as uint8 against activations in
//   [-127, 127]; the four products of a dword are summed in 32 bits, so
//   nothing saturates, and one instruction replaces maddubs + madd + add.
constexpr int kActMax = 64;
constexpr int kActMaxWide = 127;
constexpr int kWideFrom = 6;
constexpr int kCodeBias = 128;
static_assert(kFewTokens <= QuantBatch::kMaxTokens);

constexpr int act_max(int bits, bool vnni) { return vnni || bits >= kWideFrom ? kActMaxWide : kActMax; }

// Rows r0..r1-1 of n <= QuantBatch::kMaxTokens tokens at `bits` (avx2_ap_gemv.cpp, avx2_ap_gemv_vnni.cpp).
void ap_rows_plain(const ApMatrix& m, int bits, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1);
void ap_rows_vnni(const ApMatrix& m, int bits, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1);

namespace {  // each flavour's translation unit gets its own copy (different instruction sets)

// m carries this flavour's copy of indices at width B (PairNibbles).
template <int B, bool VNNI>
bool has_index_copy(const ApMatrix& m) {
    return B <= index_copy_upto(VNNI) && m.codes && m.codes_bits == B && is_layout_of<VNNI>(m.codes_layout) &&
           B <= index_copy_upto_layout(m.codes_layout);
}

// NT > 0: exactly NT tokens (accumulators in registers); NT = 0: n tokens, n <= kMaxTokens.
// NIB: indices from the copy of indices (PairNibbles) instead of the planes.
template <int B, int NT, bool VNNI, bool NIB = false>
void ap_rows(const ApMatrix& m, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    constexpr int kTok = NT > 0 ? NT : QuantBatch::kMaxTokens;
    constexpr bool kSigned = !VNNI && B >= kWideFrom;  // the |code| x sign(code) * x route
    // The 5- and 6-bit copies look their codes up as they unpack them (PairNibbles::codes): C holds codes, not indices.
    constexpr bool kCoded = NIB && B >= 5;
    if constexpr (NT > 0) n = NT;
    const int full = m.words / 4, groups = (m.words + 3) / 4;
    const __m256i ones = _mm256_set1_epi16(1);
    const float* aff = m.lut_affine[B];
    for (int r = r0; r < r1; r += 2) {
        const int ra = r, rb = r + 1 < r1 ? r + 1 : r;  // an odd last row pairs with itself
        PairTable<B> tab;
        tab.load(m, ra, rb, kSigned ? char(0) : char(0x80));
        const PairPlanes<B> planes(m, ra, rb);
        const PairNibbles<B> nib = NIB ? PairNibbles<B>(m, ra, rb) : PairNibbles<B>();
        __m256 facc[kTok];
        for (int j = 0; j < n; ++j) facc[j] = _mm256_setzero_ps();
        for (int g = 0; g < groups; ++g) {
            __m256i P[B], C[8];
            if constexpr (NIB) {
                static_assert(B <= index_copy_upto(VNNI));
                if constexpr (NT == 1) nib.prefetch(g);
                if constexpr (kCoded && NT == 1) nib.load(g, C);  // the registers; each slice's codes as it is used
                else if constexpr (kCoded) nib.codes(g, tab, C);
                else nib.indices(g, C);
            } else {
            if (g < full) planes.load(g, P);
            else planes.load_tail(g, P);
            // Decode streams the planes once. Asking for them a few rows ahead
            // gained 10-35% at 3..6 bits on Zen 4 (SmolLM2 and a 1B model
            // larger than the caches); at 7..8 bits the lookups set the pace
            // and the extra instructions cost a few percent.
            if constexpr (NT == 1 && B <= 6)
                if (g % 2 == 0) planes.prefetch(g);
            plane_indices<B>(P, C);
            }
            // With one token, looking up just before use keeps fewer registers live.
            // The signed route keeps the codes' magnitudes (the u8 operand) beside the codes (their signs).
            __m256i A[kSigned && NT != 1 ? 8 : 1];
            if constexpr (NT != 1)
                for (int t = 0; t < 8; ++t) {
                    if constexpr (!kCoded) C[t] = tab.lookup(C[t]);
                    if constexpr (kSigned) A[t] = _mm256_abs_epi8(C[t]);
                }
            for (int j = 0; j < n; ++j) {
                const QuantX& x = xb.token(j);
                const int8_t* xq = x.q + 128 * g;
                __m256i acc = _mm256_setzero_si256();
                // One token from a copy of indices at 5-6 bits: each slice's codes as it is used, from 7 down.
                constexpr bool kLazy = NT == 1 && kCoded;
                auto slices = [&] {
                    if constexpr (kLazy) return typename PairNibbles<B>::Slices(C);
                    else return 0;
                }();
                for (int s = 0; s < 8; ++s) {
                    const int t = kLazy ? 7 - s : s;
                    const __m256i xv = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xq + 16 * t)));
                    __m256i code;
                    if constexpr (kLazy) code = slices.next(t, tab);
                    else code = NT == 1 ? tab.lookup(C[t]) : C[t];
                    if constexpr (VNNI) {
#ifdef __AVXVNNI__
                        acc = _mm256_dpbusd_avx_epi32(acc, code, xv);
#else
                        static_assert(!VNNI, "the VNNI flavour needs -mavxvnni");
#endif
                    } else {
                        __m256i p;
                        if constexpr (kSigned) p = _mm256_maddubs_epi16(NT == 1 ? _mm256_abs_epi8(code) : A[t], _mm256_sign_epi8(xv, code));
                        else p = _mm256_maddubs_epi16(code, xv);
                        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
                    }
                }
                const __m256 xs = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(x.scale + 4 * g));
                facc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), xs, facc[j]);
            }
        }
        for (int j = 0; j < n; ++j) {
            const QuantX& x = xb.token(j);
            const float corr = kSigned ? 0.f : -float(kCodeBias) * x.qsum;
            float* y = Y + ldy * j;
            y[ra] = ap_affine(aff[2 * ra], aff[2 * ra + 1], x.sum, hsum128(_mm256_castps256_ps128(facc[j])) + corr);
            if (rb != ra) y[rb] = ap_affine(aff[2 * rb], aff[2 * rb + 1], x.sum, hsum128(_mm256_extractf128_ps(facc[j], 1)) + corr);
        }
    }
}

template <int B, bool VNNI>
void ap_rows_any(const ApMatrix& m, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    if constexpr (B <= index_copy_upto(VNNI)) {
        if (has_index_copy<B, VNNI>(m)) {
            if (n == 1) ap_rows<B, 1, VNNI, true>(m, xb, n, Y, ldy, r0, r1);
            else ap_rows<B, 0, VNNI, true>(m, xb, n, Y, ldy, r0, r1);
            return;
        }
    }
    if (n == 1) ap_rows<B, 1, VNNI>(m, xb, n, Y, ldy, r0, r1);
    else ap_rows<B, 0, VNNI>(m, xb, n, Y, ldy, r0, r1);
}

template <bool VNNI>
void ap_rows_width(const ApMatrix& m, int bits, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    with_width(bits, [&](auto b) { ap_rows_any<decltype(b)::value, VNNI>(m, xb, n, Y, ldy, r0, r1); });
}

}  // namespace

}  // namespace ap::kern::avx2
