// The AVX2 any-precision kernel for prompt chunks (more than kFewTokens
// tokens), in both flavours of avx2_ap_kernel.h. A tile of row pairs is
// looked up once into the codes that kernel computes, kept in an L2-sized
// buffer, and every token of the chunk then runs over it in register blocks
// of kTileTokens tokens. The few-token kernel keeps 16 tokens' accumulators
// and eight code registers live at once, more than AVX2's 16 registers, and
// spills; here a block needs 13. Per token the arithmetic is the few-token
// kernel's (the same exact int32 block sums, converted and accumulated in
// the same order), so a prompt token gets bit for bit its decode result.
// The same token pass reads expanded copies of codes (ApMatrix::codes, above
// index_copy_upto): the codes of a whole matrix at one width, stored once,
// for decode (up to kFewTokens tokens) and prompt chunks; a copy of indices
// fills the tiles instead of the planes (see ExpandApFn).
#pragma once
#include "avx2_ap_kernel.h"
#include "avx2_internal.h"  // expanded_row_bytes

#include <algorithm>
#include <type_traits>
#include <vector>

namespace ap::kern::avx2 {

// Rows r0..r1-1 of n tokens (x[j]: token j, any n) at `bits` (avx2_ap_gemv.cpp, avx2_ap_gemv_vnni.cpp).
void ap_tiled_plain(const ApMatrix& m, int bits, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1);
void ap_tiled_vnni(const ApMatrix& m, int bits, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1);
// The same from the expanded copy m.codes (width m.codes_bits), and the copy's
// rows r0..r1-1 written: the codes a tile holds for the row pairs (2i, 2i + 1),
// so the token pass is the tiled one and a pair streams as one sequence
// (two rows 2 KB apart read 16 bytes at a time ran at half the bandwidth).
// copy_slot gives where row r's 16 bytes of group g, slice t go.
void ap_copy_plain(const ApMatrix& m, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1);
void ap_copy_vnni(const ApMatrix& m, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1);
void expand_plain(const ApMatrix& m, int bits, int layout, int r0, int r1, int8_t* dst);
void expand_vnni(const ApMatrix& m, int bits, int layout, int r0, int r1, int8_t* dst);

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

    // Row pairs of rows r0..r1-1 (an odd last row pairs with itself), group
    // by group, into dst: from the copy of indices where m has one (no bit
    // transpose), else from the planes.
    static void lookup(const ApMatrix& m, int r0, int r1, __m256i* dst) {
        auto store = [&](int, int, int, int t, __m256i c) {
            _mm256_store_si256(dst + t, c);
            if constexpr (kSigned) _mm256_store_si256(dst + 8 + t, _mm256_abs_epi8(c));
            if (t == 7) dst += kRegs;
        };
        if constexpr (B <= index_copy_upto(VNNI))
            if (has_index_copy<B, VNNI>(m)) return each_pair_from_copy(m, r0, r1, store);
        each_pair(m, r0, r1, store);
    }
    // Rows r0..r1-1 into an expanded copy (ApMatrix::codes): row a's half of
    // every code register to its row, row b's to its own.
    // Up to the layout's index_copy_upto_layout (6 or 5 bits) the copy keeps indices (PairNibbles): the low four planes
    // nibble-packed (at 3 bits four registers packed in three), at 5 and 6
    // bits the upper planes' bits beside them as selectors (top_bits_by_slice).
    // As many bytes as the planes or fewer; decode skips most of the
    // transpose, not the lookup (one pshufb per 32 weights; at 5 bits two
    // and a blend, at 6 four and three).
    static void expand(const ApMatrix& m, int layout, int r0, int r1, int8_t* copy) {
        if constexpr (B <= index_copy_upto(VNNI))
            if (B <= index_copy_upto_layout(layout)) {
                using Nib = PairNibbles<B>;
                const size_t pair_bytes = Nib::pair_bytes(m);
                each_group(m, r0, r1, [&](int ra, int rb, int g, __m256i* P) {
                    __m256i R[Nib::kRegs];
                    if constexpr (B == 3) {
                        __m256i N[4];
                        plane_nibbles<3>(P, N);
                        pack_nibbles3(N, R);
                    } else if constexpr (B <= 4) {
                        plane_nibbles<B>(P, R);
                    } else {
                        plane_nibbles<4>(P + (B - 4), R);  // P[0] is the top plane
                        for (int p = 0; p < B - 4; ++p) R[4 + p] = top_bits_by_slice(P[B - 5 - p]);  // index bit 4, then 5
                    }
                    for (int u = 0; u < Nib::kRegs; ++u) {
                        _mm_storeu_si128(reinterpret_cast<__m128i*>(copy + Nib::slot(pair_bytes, ra, g, u)), _mm256_castsi256_si128(R[u]));
                        if (rb != ra)
                            _mm_storeu_si128(reinterpret_cast<__m128i*>(copy + Nib::slot(pair_bytes, rb, g, u)), _mm256_extracti128_si256(R[u], 1));
                    }
                });
                return;
            }
        const size_t row_bytes = expanded_row_bytes(m.cols);
        each_pair(m, r0, r1, [&](int ra, int rb, int g, int t, __m256i c) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(copy + copy_slot(row_bytes, ra, g, t)), _mm256_castsi256_si128(c));
            if (rb != ra) _mm_storeu_si128(reinterpret_cast<__m128i*>(copy + copy_slot(row_bytes, rb, g, t)), _mm256_extracti128_si256(c, 1));
        });
    }
    // f(ra, rb, g, P) for every row pair of rows r0..r1-1 (an odd last row
    // pairs with itself) and group g, P holding the group's B plane registers.
    template <class F>
    static void each_group(const ApMatrix& m, int r0, int r1, F&& f) {
        const int full = m.words / 4, groups = (m.words + 3) / 4;
        for (int r = r0; r < r1; r += 2) {
            const int ra = r, rb = r + 1 < r1 ? r + 1 : r;
            const PairPlanes<B> planes(m, ra, rb);
            for (int g = 0; g < groups; ++g) {
                __m256i P[B];
                if (g < full) planes.load(g, P);
                else planes.load_tail(g, P);
                f(ra, rb, g, P);
            }
        }
    }
    // The same as each_pair, reading m's copy of indices.
    template <class Store>
    static void each_pair_from_copy(const ApMatrix& m, int r0, int r1, Store&& store) {
        const int groups = (m.words + 3) / 4;
        for (int r = r0; r < r1; r += 2) {
            const int ra = r, rb = r + 1 < r1 ? r + 1 : r;
            PairTable<B> tab;
            tab.load(m, ra, rb, kSigned ? char(0) : char(0x80));
            const PairNibbles<B> nib(m, ra, rb);
            for (int g = 0; g < groups; ++g) {
                __m256i C[8];
                if constexpr (B >= 5) {
                    nib.codes(g, tab, C);
                } else {
                    nib.indices(g, C);
                    for (int t = 0; t < 8; ++t) C[t] = tab.lookup(C[t]);
                }
                for (int t = 0; t < 8; ++t) store(ra, rb, g, t, C[t]);
            }
        }
    }
    // store(ra, rb, g, t, codes) for every looked-up code register, pair by pair, group by group.
    template <class Store>
    static void each_pair(const ApMatrix& m, int r0, int r1, Store&& store) {
        PairTable<B> tab{};  // loaded at each pair's first group
        each_group(m, r0, r1, [&](int ra, int rb, int g, __m256i* P) {
            if (g == 0) tab.load(m, ra, rb, kSigned ? char(0) : char(0x80));
            __m256i C[8];
            plane_indices<B>(P, C);
            for (int t = 0; t < 8; ++t) store(ra, rb, g, t, tab.lookup(C[t]));
        });
    }
};

// Where tile_pair reads a row pair's code registers: a tile (codes, then
// magnitudes on the signed route) or an expanded copy (each row's 16-byte
// halves; magnitudes computed).
template <int B, bool VNNI>
struct FromTile {
    const __m256i* p;
    __m256i code(int t) const { return _mm256_load_si256(p + t); }
    __m256i magnitude(int t, __m256i) const { return _mm256_load_si256(p + 8 + t); }
    void prefetch() const {}  // the tile sits in L2
    void next_group() { p += TileCodes<B, VNNI>::kRegs; }
};
// A stored pair (rows 2i, 2i + 1): one 32-byte load per register.
struct FromCopyPair {
    const int8_t* p;
    __m256i code(int t) const { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * t)); }
    __m256i magnitude(int, __m256i c) const { return _mm256_abs_epi8(c); }
    void prefetch() const {
        for (int o = 0; o < 256; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + kCopyPrefetch + o), _MM_HINT_T0);
    }
    void next_group() { p += 256; }
};
// Any two rows (a row range starting at an odd row, an odd last row).
struct FromCopyRows {
    const int8_t *a, *b;
    __m256i code(int t) const {
        return _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(b + 32 * t), reinterpret_cast<const __m128i*>(a + 32 * t));
    }
    __m256i magnitude(int, __m256i c) const { return _mm256_abs_epi8(c); }
    void prefetch() const {}
    void next_group() { a += 256; b += 256; }
};

// T tokens against one looked-up row pair (rows ra and rb; rb == ra for an odd last row).
template <int B, int T, bool VNNI, class Codes>
void tile_pair(Codes codes, const ApMatrix& m, const QuantX* const* x, float* Y, size_t ldy, int ra, int rb) {
    using TC = TileCodes<B, VNNI>;
    const int groups = (m.words + 3) / 4;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 facc[T];
    for (int j = 0; j < T; ++j) facc[j] = _mm256_setzero_ps();
    for (int g = 0; g < groups; ++g, codes.next_group()) {
        codes.prefetch();
        __m256i acc[T];
        for (int j = 0; j < T; ++j) acc[j] = _mm256_setzero_si256();
        for (int t = 0; t < 8; ++t) {
            const __m256i code = codes.code(t);
            __m256i mag;
            if constexpr (TC::kSigned) mag = codes.magnitude(t, code);
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
                    if constexpr (TC::kSigned) p = _mm256_maddubs_epi16(mag, _mm256_sign_epi8(xv, code));
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

// min(kTileTokens, n) tokens against one row pair.
template <int B, bool VNNI, class Codes>
void tile_block(Codes codes, const ApMatrix& m, const QuantX* const* x, int n, float* Y, size_t ldy, int ra, int rb) {
    switch (std::min(kTileTokens, n)) {
    case 4: tile_pair<B, 4, VNNI>(codes, m, x, Y, ldy, ra, rb); break;
    case 3: tile_pair<B, 3, VNNI>(codes, m, x, Y, ldy, ra, rb); break;
    case 2: tile_pair<B, 2, VNNI>(codes, m, x, Y, ldy, ra, rb); break;
    default: tile_pair<B, 1, VNNI>(codes, m, x, Y, ldy, ra, rb); break;
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
                tile_block<B, VNNI>(FromTile<B, VNNI>{tile + pair_regs * size_t((r - t0) / 2)}, m, xj, n - j, Yj, ldy, r, rb);
            }
        }
    }
}

// Rows r0..r1-1 from the expanded copy: row tiles of about kTileBytes of the
// copy, every token over each (decode: one token, the copy streamed once).
template <int B, bool VNNI>
void ap_copy_rows(const ApMatrix& m, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    const size_t row_bytes = expanded_row_bytes(m.cols);
    const int tile_rows = std::max(2, int(kTileBytes / row_bytes) & ~1);
    for (int t0 = r0; t0 < r1; t0 += tile_rows) {
        const int t1 = std::min(r1, t0 + tile_rows);
        for (int j = 0; j < n; j += kTileTokens)
            for (int r = t0; r < t1; r += 2) {
                const int rb = r + 1 < t1 ? r + 1 : r;
                const QuantX* const* xj = x + j;
                float* Yj = Y + ldy * size_t(j);
                if (r % 2 == 0 && rb == r + 1)
                    tile_block<B, VNNI>(FromCopyPair{m.codes + copy_slot(row_bytes, r, 0, 0)}, m, xj, n - j, Yj, ldy, r, rb);
                else
                    tile_block<B, VNNI>(FromCopyRows{m.codes + copy_slot(row_bytes, r, 0, 0), m.codes + copy_slot(row_bytes, rb, 0, 0)},
                                        m, xj, n - j, Yj, ldy, r, rb);
            }
    }
}

template <bool VNNI>
void ap_tiled_width(const ApMatrix& m, int bits, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    with_width(bits, [&](auto b) { ap_tiled_rows<decltype(b)::value, VNNI>(m, x, n, Y, ldy, r0, r1); });
}
template <bool VNNI>
void ap_copy_width(const ApMatrix& m, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    with_width(m.codes_bits, [&](auto b) { ap_copy_rows<decltype(b)::value, VNNI>(m, x, n, Y, ldy, r0, r1); });
}
template <bool VNNI>
void expand_width(const ApMatrix& m, int bits, int layout, int r0, int r1, int8_t* dst) {
    if (r1 <= r0) return;
    with_width(bits, [&](auto b) { TileCodes<decltype(b)::value, VNNI>::expand(m, layout, r0, r1, dst); });
}

}  // namespace

}  // namespace ap::kern::avx2
