// GCC 12 warns (falsely, GCC PR 105593) about _mm512_undefined_* inside the
// AVX-512 shift intrinsics; the pragma must precede the intrinsic headers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// The AVX-512 (VBMI) kernel set. Any-precision products of 1..kFewTokens
// tokens run the vpermb/vpermi2b kernel of avx512_ap_kernel.h at every width
// 2..8 (measured faster than AVX2 at each: 1.2-1.4x at 2..4 bits, where AVX2
// already needs one pshufb per 32 weights, 1.5-3.9x at 5..8 bits); prepared
// prompt chunks run the tiled form of it (avx512_ap_tiled.h). Exact prompts
// (gemm_ap on larger batches: fp32 tiles), dense fp32 products and
// dequantization keep the AVX2 implementation.
#include "avx512_ap_copy.h"
#include "avx512_ap_tiled.h"
#include "avx2_internal.h"
#include "avx512_xlayout.h"

namespace ap::kern {

KernelSet avx2_kernels(bool vnni);  // avx2.cpp

namespace avx512 {

// Attention over the KV cache with zmm registers (avx512_attention.cpp).
void attend_f16(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride, int n_pos,
                int d, float scale, float cap, float* scratch, float* m, float* l, float* acc);
void attend_q8(const float* q, size_t q_stride, int G, const int8_t* k, const int8_t* v, const float* k_scale,
               const float* v_scale, size_t stride, int n_pos, int d, float scale, float cap, float* scratch, float* m,
               float* l, float* acc);

void ap_rows_plain(const ApMatrix& m, int bits, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_rows_switch<false>(m, bits, xt, n, Y, ldy, r0, r1);
}
void ap_tiled_plain(const ApMatrix& m, int bits, const PreparedXTok& p, float* Y, size_t ldy, int r0, int r1) {
    ap_tiled_width<false>(m, bits, p, Y, ldy, r0, r1);
}
void ap_copy_plain(const ApMatrix& m, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_copy_rows<false>(m, xt, n, Y, ldy, r0, r1);
}

size_t expand_bytes(int rows, int cols, int /*bits*/, int /*layout: kExpandLayout*/) {
    return (size_t(rows) + 1) / 2 * 2 * avx2::expanded_row_bytes(cols);
}

void expand_ap(const ApMatrix& m, int bits, int /*layout: kExpandLayout*/, int r0, int r1, int8_t* dst) {
    with_width(bits, [&](auto b) { expand_rows<decltype(b)::value>(m, r0, r1, dst); });
}

// Up to 16 tokens of one activation group: from the copy where one of this
// width is attached, else from the planes and tables.
template <bool VNNI>
void rows_or_copy(const ApMatrix& m, int bits, const XTok* xt, int n, float* Y, size_t ldy, int r0, int r1) {
    if (reads_copy(m, bits)) {
        if constexpr (VNNI) ap_copy_vnni(m, xt, n, Y, ldy, r0, r1);
        else ap_copy_plain(m, xt, n, Y, ldy, r0, r1);
    } else if constexpr (VNNI) {
        ap_rows_vnni(m, bits, xt, n, Y, ldy, r0, r1);
    } else {
        ap_rows_plain(m, bits, xt, n, Y, ldy, r0, r1);
    }
}

template <bool VNNI>
void gemm_ap(const ApMatrix& m, int bits, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    if (bits < kMinBits || bits > kMaxBits || n > avx2::kFewTokens) {
        avx2::gemm_ap<false>(m, bits, X, ldx, n, Y, ldy, r0, r1);
        return;
    }
    const XLayout xl(X, size_t(ldx), n, m.cols, VNNI ? kActMaxVnni : kActMaxMaddubs);
    rows_or_copy<VNNI>(m, bits, xl.tokens(), n, Y, size_t(ldy), r0, r1);
}

template <bool VNNI>
void gemm_ap_prepared(const ApMatrix& m, int bits, const PreparedX& x, float* Y, int ldy, int r0, int r1) {
    if (r1 <= r0) return;
    const auto& p = static_cast<const PreparedXTok&>(x);
    if (p.n > avx2::kFewTokens) {  // prompt chunks: each tile of rows looked up once for all tokens
        if constexpr (VNNI) ap_tiled_vnni(m, bits, p, Y, size_t(ldy), r0, r1);
        else ap_tiled_plain(m, bits, p, Y, size_t(ldy), r0, r1);
        return;
    }
    const int groups = p.group_count();
    for (int g = 0; g < groups; ++g) {
        const int t0 = g * PreparedXTok::kGroup, nt = p.n - t0 < PreparedXTok::kGroup ? p.n - t0 : PreparedXTok::kGroup;
        float* Yg = Y + size_t(ldy) * t0;
        rows_or_copy<VNNI>(m, bits, p.group_tokens(g), nt, Yg, size_t(ldy), r0, r1);
    }
}

}  // namespace avx512

// vnni: use vpdpbusd (the caller has checked avx512vnni); both flavours give
// identical results, the choice only exists so tests can run each.
KernelSet avx512_kernels(bool vnni) {
    KernelSet k = avx2_kernels(false);
    k.name = "avx512vbmi";
    k.gemm_ap = vnni ? avx512::gemm_ap<true> : avx512::gemm_ap<false>;
    k.prepare_x = vnni ? avx512::prepare_xtok_vnni : avx512::prepare_xtok_maddubs;
    k.gemm_ap_prepared = vnni ? avx512::gemm_ap_prepared<true> : avx512::gemm_ap_prepared<false>;
    // Copies of u8 codes in the AVX2 pair layout (avx512_ap_copy.h).
    k.expand_ap = avx512::expand_ap;
    k.expand_bytes = avx512::expand_bytes;
    k.expand_layout = avx512::kExpandLayout;
    // Paid at 8 bits only before its token pass prefetched (Intel Xeon with
    // AVX-512, SmolLM2: 8 bits 98.6 tok/s against 92.1 from the tables; 7
    // bits 100.9 against 121.6). Since then (kCopyPrefetch) SmolLM2 on the same
    // VM decodes 8 bits from the copy at 242-257 tok/s against 122-135 for 7
    // bits from the tables, and copies at 7 and 6 bits gave 183.7 and 201.5
    // against 146.6 and 189.7 from the tables (5 bits and below lost: 194.3
    // against 214.9); on the 1B model the tables stay faster at 6 bits. So
    // Automatic times the copy against the tables from 6 bits up.
    k.copy_pays_from = 6;
    k.expand_layout_alt = 0;  // one form
    k.copy_indices_upto = 0;
    k.copy_indices_upto_alt = 0;
    k.copy_prompts_from = 0;  // its prompt chunks keep the tiles
    k.attend_f16 = avx512::attend_f16;
    k.attend_q8 = avx512::attend_q8;
    return k;
}

}  // namespace ap::kern
