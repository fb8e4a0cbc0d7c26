// The AVX2 any-precision kernel for prompt chunks (more than kFewTokens
// tokens), in both flavours of avx2_ap_kernel.h. A tile of row pairs is
// looked up once into the codes that kernel computes, kept in an L2-sized
// buffer, and every token of the chunk then runs over it in register blocks
// of kTileTokens tokens. The few-token kernel keeps 16 tokens' accumulators
// and eight code registers live at once, more than AVX2's 16 registers, and
// spills; here a block needs 13. Per token the arithmetic is the few-token
// kernel's (the same exact int32 block sums, converted and accumulated in
// the same order), so a prompt token gets bit for bit its decode result.
#pragma once
#include "avx2_ap_kernel.h"

#include <algorithm>
#include <vector>

namespace ap::kern::avx2 {

// Rows r0..r1-1 of n tokens (x[j]: token j, any n) at `bits` (avx2_ap_gemv.cpp, avx2_ap_gemv_vnni.cpp).
void ap_tiled_plain(const ApMatrix& m, int bits, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1);
void ap_tiled_vnni(const ApMatrix& m, int bits, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1);

namespace {  // one copy per flavour's translation unit

constexpr int kTileTokens = 4;
constexpr size_t kTileBytes = 96 * 1024;  // looked-up codes per tile (Zen 4 and recent Intel cores: L2 >= 1 MB)

// One looked-up code register in the tile (a std::vector of __m256i draws GCC's ignored-attributes warning).
struct alignas(32) CodeReg {
    int8_t bytes[32];
};

template <int B, bool VNNI>
struct TileCodes {
    static constexpr bool kSigned = !VNNI && B >= kWideFrom;  // see avx2_ap_kernel.h: |code| x sign(code) * x
    static constexpr int kRegs = kSigned ? 16 : 8;           // per group and row pair: codes, then magnitudes

    // Row pairs of rows r0..r1-1 (an odd last row pairs with itself), group by group, into dst.
    static void lookup(const ApMatrix& m, int r0, int r1, __m256i* dst) {
        const int full = m.words / 4, groups = (m.words + 3) / 4;
        const int8_t* lut = m.lut[B];
        for (int r = r0; r < r1; r += 2) {
            const int ra = r, rb = r + 1 < r1 ? r + 1 : r;
            PairTable<B> tab;
            tab.load(lut + size_t(ra) * (1 << B), lut + size_t(rb) * (1 << B), kSigned ? char(0) : char(0x80));
            const PairPlanes<B> planes(m, ra, rb);
            for (int g = 0; g < groups; ++g, dst += kRegs) {
                __m256i P[B], C[8];
                if (g < full) planes.load(g, P);
                else planes.load_tail(g, P);
                plane_indices<B>(P, C);
                for (int t = 0; t < 8; ++t) {
                    const __m256i c = tab.lookup(C[t]);
                    _mm256_store_si256(dst + t, c);
                    if constexpr (kSigned) _mm256_store_si256(dst + 8 + t, _mm256_abs_epi8(c));
                }
            }
        }
    }
};

// T tokens against one looked-up row pair (rows ra and rb; rb == ra for an odd last row).
template <int B, int T, bool VNNI>
void tile_pair(const __m256i* codes, const ApMatrix& m, const QuantX* const* x, float* Y, size_t ldy, int ra, int rb) {
    using TC = TileCodes<B, VNNI>;
    const int groups = (m.words + 3) / 4;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 facc[T];
    for (int j = 0; j < T; ++j) facc[j] = _mm256_setzero_ps();
    for (int g = 0; g < groups; ++g, codes += TC::kRegs) {
        __m256i acc[T];
        for (int j = 0; j < T; ++j) acc[j] = _mm256_setzero_si256();
        for (int t = 0; t < 8; ++t) {
            const __m256i code = _mm256_load_si256(codes + t);
            for (int j = 0; j < T; ++j) {
                const __m256i xv = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[j]->q + 128 * g + 16 * t)));
                if constexpr (VNNI) {
#ifdef __AVXVNNI__
                    acc[j] = _mm256_dpbusd_avx_epi32(acc[j], code, xv);
#else
                    static_assert(!VNNI, "the VNNI flavour needs -mavxvnni");
#endif
                } else {
                    __m256i p;
                    if constexpr (TC::kSigned) p = _mm256_maddubs_epi16(_mm256_load_si256(codes + 8 + t), _mm256_sign_epi8(xv, code));
                    else p = _mm256_maddubs_epi16(code, xv);
                    acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(p, ones));
                }
            }
        }
        for (int j = 0; j < T; ++j) {
            const __m256 xs = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(x[j]->scale + 4 * g));
            facc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[j]), xs, facc[j]);
        }
    }
    const float* aff = m.lut_affine[B];
    for (int j = 0; j < T; ++j) {
        const float corr = TC::kSigned ? 0.f : -float(kCodeBias) * x[j]->qsum;
        float* y = Y + ldy * j;
        y[ra] = ap_affine(aff[2 * ra], aff[2 * ra + 1], x[j]->sum, hsum128(_mm256_castps256_ps128(facc[j])) + corr);
        if (rb != ra) y[rb] = ap_affine(aff[2 * rb], aff[2 * rb + 1], x[j]->sum, hsum128(_mm256_extractf128_ps(facc[j], 1)) + corr);
    }
}

template <int B, bool VNNI>
void ap_tiled_rows(const ApMatrix& m, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    using TC = TileCodes<B, VNNI>;
    const size_t pair_regs = size_t((m.words + 3) / 4) * TC::kRegs;
    const int tile_pairs = int(std::max<size_t>(1, kTileBytes / (pair_regs * sizeof(__m256i))));
    std::vector<CodeReg> buffer(pair_regs * size_t(std::min(tile_pairs, (r1 - r0 + 1) / 2)));
    __m256i* tile = reinterpret_cast<__m256i*>(buffer.data());
    for (int t0 = r0; t0 < r1; t0 += 2 * tile_pairs) {
        const int t1 = std::min(r1, t0 + 2 * tile_pairs);
        TC::lookup(m, t0, t1, tile);
        for (int j = 0; j < n; j += kTileTokens) {
            const QuantX* const* xj = x + j;
            float* Yj = Y + ldy * size_t(j);
            for (int r = t0; r < t1; r += 2) {
                const int rb = r + 1 < t1 ? r + 1 : r;
                const __m256i* codes = tile + pair_regs * size_t((r - t0) / 2);
                switch (std::min(kTileTokens, n - j)) {
                case 4: tile_pair<B, 4, VNNI>(codes, m, xj, Yj, ldy, r, rb); break;
                case 3: tile_pair<B, 3, VNNI>(codes, m, xj, Yj, ldy, r, rb); break;
                case 2: tile_pair<B, 2, VNNI>(codes, m, xj, Yj, ldy, r, rb); break;
                default: tile_pair<B, 1, VNNI>(codes, m, xj, Yj, ldy, r, rb); break;
                }
            }
        }
    }
}

template <bool VNNI>
void ap_tiled_width(const ApMatrix& m, int bits, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    switch (bits) {
    case 2: ap_tiled_rows<2, VNNI>(m, x, n, Y, ldy, r0, r1); break;
    case 3: ap_tiled_rows<3, VNNI>(m, x, n, Y, ldy, r0, r1); break;
    case 4: ap_tiled_rows<4, VNNI>(m, x, n, Y, ldy, r0, r1); break;
    case 5: ap_tiled_rows<5, VNNI>(m, x, n, Y, ldy, r0, r1); break;
    case 6: ap_tiled_rows<6, VNNI>(m, x, n, Y, ldy, r0, r1); break;
    case 7: ap_tiled_rows<7, VNNI>(m, x, n, Y, ldy, r0, r1); break;
    case 8: ap_tiled_rows<8, VNNI>(m, x, n, Y, ldy, r0, r1); break;
    }
}

}  // namespace

}  // namespace ap::kern::avx2
