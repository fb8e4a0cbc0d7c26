// The AVX-512 any-precision kernel for prompt chunks (more than kFewTokens
// tokens), in both flavours of avx512_ap_kernel.h. The few-token kernel runs
// a chunk 16 tokens at a time: every group of 16 tokens transposes and looks
// up every row pair again, and its 2 x 16 accumulators do not fit in the 32
// registers. Here a tile of row pairs is looked up once into an L2-sized
// buffer and every token of the chunk runs over it in register blocks of
// kTileTokens. Per token the arithmetic is the few-token kernel's (the same
// exact int32 group sums, converted, scaled and accumulated in the same
// order, the same final reduction), so a prompt token gets bit for bit its
// decode result. Include only from files compiled with the AVX-512 flags.
#pragma once
#include "avx512_ap_kernel.h"
#include "avx512_xlayout.h"

#include <cstddef>

namespace ap::kern::avx512 {

// Rows r0..r1-1 of all tokens of p at `bits` (avx512_ap_gemv.cpp, avx512_ap_gemv_vnni.cpp).
void ap_tiled_plain(const ApMatrix& m, int bits, const PreparedXTok& p, float* Y, size_t ldy, int r0, int r1);
void ap_tiled_vnni(const ApMatrix& m, int bits, const PreparedXTok& p, float* Y, size_t ldy, int r0, int r1);

namespace {  // one copy per flavour's translation unit (no std:: templates: see avx512_xlayout.h)

constexpr int kTileTokens = 4;  // 6 measured slower (register spills)
constexpr size_t kTileBytes = 96 * 1024;  // looked-up codes per tile (Zen 4 and recent Intel cores: L2 >= 1 MB)

struct alignas(64) CodeReg {
    int8_t bytes[64];
};

// Looked-up code registers per row pair: 8 per row and full group of 16
// words, 8 per row for a last group of 9..15 words, 8 for both rows' last
// group of 1..8 words (pair_tail's shared register).
inline size_t pair_regs(int words) {
    const int full = words / 16, rest = words % 16;
    return size_t(16 * full + (rest > 8 ? 16 : rest > 0 ? 8 : 0));
}

// One row's plane words [16g, 16g + 16) (masked to `mask`) as 8 code registers (row_group's lookup).
template <int B>
AP_ALWAYS_INLINE void row_codes(const uint32_t* base, size_t ps, int g, __mmask16 mask, const RowTable<B>& tab, __m512i* dst) {
    __m512i P[B], C[8];
    for (int p = 0; p < B; ++p) P[p] = _mm512_maskz_loadu_epi32(mask, base + p * ps + 16 * g);
    plane_indices<B>(P, C);
    for (int t = 0; t < 8; ++t) _mm512_store_si512(dst + t, tab.lookup(C[t]));
}

// Rows ra and rb (rb == ra for an odd last row) into pair_regs(m.words) registers at dst.
template <int B>
void lookup_pair(const ApMatrix& m, int ra, int rb, __m512i* dst) {
    const int words = m.words, full = words / 16, rest = words % 16;
    const __mmask16 tail = __mmask16((1u << rest) - 1);
    const size_t ps = size_t(m.rows) * words;
    RowTable<B> ta, tb;
    ta.load(m.lut[B] + (size_t(ra) << B));
    tb.load(m.lut[B] + (size_t(rb) << B));
    const uint32_t* base_a = m.planes + size_t(ra) * words;
    const uint32_t* base_b = m.planes + size_t(rb) * words;
    for (int g = 0; g < full + (rest > 8); ++g, dst += 16) {
        const __mmask16 mask = g < full ? __mmask16(0xffff) : tail;
        row_codes<B>(base_a, ps, g, mask, ta, dst);
        row_codes<B>(base_b, ps, g, mask, tb, dst + 8);
    }
    if (rest > 0 && rest <= 8) {  // pair_tail's register: row a in dwords 0..7, row b in 8..15
        __m512i P[B], C[8];
        const __mmask16 hi = __mmask16(tail << 8);
        for (int p = 0; p < B; ++p) {
            const uint32_t* wa = base_a + p * ps + 16 * full;
            const uint32_t* wb = reinterpret_cast<const uint32_t*>(reinterpret_cast<uintptr_t>(base_b + p * ps + 16 * full) - 32);
            P[p] = _mm512_mask_loadu_epi32(_mm512_maskz_loadu_epi32(tail, wa), hi, wb);
        }
        plane_indices<B>(P, C);
        const __mmask64 upper = 0xffffffff00000000ull;
        for (int t = 0; t < 8; ++t) _mm512_store_si512(dst + t, _mm512_mask_blend_epi8(upper, ta.lookup(C[t]), tb.lookup(C[t])));
    }
}

// T tokens against one looked-up row pair.
template <int T, bool VNNI>
void tile_pair(const __m512i* codes, int words, const float* aff, const XTok* const* x, float* Y, size_t ldy, int ra, int rb) {
    const int full = words / 16, rest = words % 16;
    __m512 fa[T], fb[T];
    for (int j = 0; j < T; ++j) fa[j] = fb[j] = _mm512_setzero_ps();
    for (int g = 0; g < full + (rest > 8); ++g, codes += 16) {
        __m512i aa[T], ab[T];
        for (int j = 0; j < T; ++j) aa[j] = ab[j] = _mm512_setzero_si512();
        for (int t = 0; t < 8; ++t) {
            const __m512i ca = _mm512_load_si512(codes + t), cb = _mm512_load_si512(codes + 8 + t);
            for (int j = 0; j < T; ++j) {
                const __m512i xv = _mm512_loadu_si512(x[j]->q + 512 * size_t(g) + 64 * t);
                aa[j] = dot_u8s8<VNNI>(aa[j], ca, xv);
                ab[j] = dot_u8s8<VNNI>(ab[j], cb, xv);
            }
        }
        for (int j = 0; j < T; ++j) {
            const __m512 sc = _mm512_loadu_ps(x[j]->scale + 16 * g);
            fa[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(aa[j]), sc, fa[j]);
            fb[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ab[j]), sc, fb[j]);
        }
    }
    if (rest > 0 && rest <= 8) {
        __m512i acc[T];
        for (int j = 0; j < T; ++j) acc[j] = _mm512_setzero_si512();
        for (int t = 0; t < 8; ++t) {
            const __m512i c = _mm512_load_si512(codes + t);
            for (int j = 0; j < T; ++j)
                acc[j] = dot_u8s8<VNNI>(acc[j], c, _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j]->q + 512 * size_t(full) + 64 * t))));
        }
        for (int j = 0; j < T; ++j) {
            const __m512 sc = _mm512_maskz_loadu_ps(0xff, x[j]->scale + 16 * full);
            fa[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[j]), sc, fa[j]);
            fb[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_shuffle_i64x2(acc[j], acc[j], 0x4e)), sc, fb[j]);
        }
    }
    for (int j = 0; j < T; ++j) {
        const float corr = -float(kCodeBias) * x[j]->qsum;
        float* y = Y + ldy * j;
        y[ra] = ap_affine(aff[2 * ra], aff[2 * ra + 1], x[j]->sum, _mm512_reduce_add_ps(fa[j]) + corr);
        if (rb != ra) y[rb] = ap_affine(aff[2 * rb], aff[2 * rb + 1], x[j]->sum, _mm512_reduce_add_ps(fb[j]) + corr);
    }
}

// The tile buffer, 64-byte aligned (no std::vector here: see avx512_xlayout.h).
struct TileBuffer {
    explicit TileBuffer(size_t regs) : p(new CodeReg[regs]) {}
    ~TileBuffer() { delete[] p; }
    TileBuffer(const TileBuffer&) = delete;
    TileBuffer& operator=(const TileBuffer&) = delete;
    __m512i* regs() { return reinterpret_cast<__m512i*>(p); }
    CodeReg* p;
};

template <int B, bool VNNI>
void ap_tiled_rows(const ApMatrix& m, const PreparedXTok& p, float* Y, size_t ldy, int r0, int r1) {
    const size_t regs = pair_regs(m.words);
    const int fit = int(kTileBytes / (regs * sizeof(__m512i))), pairs = (r1 - r0 + 1) / 2;
    const int tile_pairs = fit < 1 ? 1 : fit;
    TileBuffer buffer(regs * size_t(tile_pairs < pairs ? tile_pairs : pairs));
    __m512i* tile = buffer.regs();
    const float* aff = m.lut_affine[B];
    for (int t0 = r0; t0 < r1; t0 += 2 * tile_pairs) {
        const int t1 = r1 < t0 + 2 * tile_pairs ? r1 : t0 + 2 * tile_pairs;
        for (int r = t0; r < t1; r += 2) lookup_pair<B>(m, r, r + 1 < t1 ? r + 1 : r, tile + regs * size_t((r - t0) / 2));
        for (int j = 0; j < p.n; j += kTileTokens) {
            const int nt = p.n - j < kTileTokens ? p.n - j : kTileTokens;
            const XTok* x[kTileTokens];
            for (int i = 0; i < nt; ++i) x[i] = p.group_tokens((j + i) / PreparedXTok::kGroup) + (j + i) % PreparedXTok::kGroup;
            float* Yj = Y + ldy * size_t(j);
            for (int r = t0; r < t1; r += 2) {
                const int rb = r + 1 < t1 ? r + 1 : r;
                const __m512i* codes = tile + regs * size_t((r - t0) / 2);
                switch (nt) {
                case 4: tile_pair<4, VNNI>(codes, m.words, aff, x, Yj, ldy, r, rb); break;
                case 3: tile_pair<3, VNNI>(codes, m.words, aff, x, Yj, ldy, r, rb); break;
                case 2: tile_pair<2, VNNI>(codes, m.words, aff, x, Yj, ldy, r, rb); break;
                default: tile_pair<1, VNNI>(codes, m.words, aff, x, Yj, ldy, r, rb); break;
                }
            }
        }
    }
}

template <bool VNNI>
void ap_tiled_width(const ApMatrix& m, int bits, const PreparedXTok& p, float* Y, size_t ldy, int r0, int r1) {
    if (r1 <= r0 || p.n <= 0) return;
    with_width(bits, [&](auto b) { ap_tiled_rows<decltype(b)::value, VNNI>(m, p, Y, ldy, r0, r1); });
}

}  // namespace

}  // namespace ap::kern::avx512
