// The AVX2+FMA kernel set. Any-precision products take one of two routes:
// up to kFewTokens tokens (decode, speculative verification), and prompts of
// any length through prepare_x / gemm_ap_prepared, read the bitplanes
// directly with int8 activations (prompts look up a cache-sized tile of row
// pairs once and pass every token over it, avx2_ap_tiled.h); gemm_ap on larger batches (exact prompts)
// dequantizes a cache-sized tile of rows once and runs the fp32 blocked
// kernel over all tokens, so those see exact fp32 activations.
#include "avx2_internal.h"

#include <algorithm>
#include <vector>

namespace ap::kern {

namespace avx2 {

template <bool VNNI>
void gemm_ap(const ApMatrix& m, int bits, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    if (bits < kMinBits || bits > kMaxBits) {
        gemm_ap_scalar(m, bits, X, ldx, n, Y, ldy, r0, r1);  // outside the documented 2..8
        return;
    }
    if (n <= kFewTokens) {
        gemm_ap_few<VNNI>(m, bits, X, size_t(ldx), n, Y, size_t(ldy), r0, r1);
        return;
    }
    const int K = m.cols;
    // Tile rows sized by f32_tile_rows: the fp32 tile stays in L1/L2 while every token passes over it.
    const int tile = std::min(f32_tile_rows(K), r1 - r0);
    std::vector<float> w(size_t(tile) * K);
    for (int r = r0; r < r1; r += tile) {
        const int rows = std::min(tile, r1 - r);
        dequant_ap(m, bits, r, r + rows, w.data());
        f32_rows(w.data(), size_t(K), K, rows, X, size_t(ldx), n, Y + r, size_t(ldy));
    }
}

template void gemm_ap<false>(const ApMatrix&, int, const float*, int, int, float*, int, int, int);
template void gemm_ap<true>(const ApMatrix&, int, const float*, int, int, float*, int, int, int);

}  // namespace avx2

// vnni: the any-precision products use vpdpbusd (the caller has checked
// avxvnni); everything else is the same code.
KernelSet avx2_kernels(bool vnni) {
    KernelSet k;
    k.name = vnni ? "avx2+avxvnni" : "avx2";
    k.gemm_f32 = avx2::gemm_f32;
    k.gemm_h16 = avx2::gemm_h16;
    k.gemm_ap = vnni ? avx2::gemm_ap<true> : avx2::gemm_ap<false>;
    k.prepare_x = vnni ? avx2::prepare_x<true> : avx2::prepare_x<false>;
    k.gemm_ap_prepared = vnni ? avx2::gemm_ap_prepared<true> : avx2::gemm_ap_prepared<false>;
    k.expand_ap = vnni ? avx2::expand_ap<true> : avx2::expand_ap<false>;
    k.expand_bytes = vnni ? avx2::expand_bytes<true> : avx2::expand_bytes<false>;
    k.expand_layout = avx2::expand_layout(vnni);
    // Zen 4, SmolLM2 and a 1B-shaped model: 6..8 bits 1.3-3.6x faster
    // decode (a lookup per weight costs more than the byte read); 3..4 bits,
    // whose copy keeps nibble-packed indices (no bitplane transpose),
    // 1.15-1.65x on the 1B model. At 3 bits the nibbles are packed three
    // bytes to four (pack_nibbles3): Zen 3, 1B model, GEMV pass 16.2 ms
    // against 24.0 at 4 bits and 21.3 from the planes (with nibbles 3 bits
    // read the 4-bit copy's bytes and ran level with it). 5 bits keeps
    // indices too (index_copy_upto): Intel Xeon, GEMV pass against the
    // planes, SmolLM2 5.7-6.1 vs 6.1-6.9 ms, 1B 32.1-33.5 vs 34.3-34.4 ms (a
    // byte per weight there took 8.1 and 48 ms). Since then its top index
    // bits are kept as blend selectors (top_bits_by_slice): Zen 3, GEMV copy
    // pass 1B 23.4 / 30.1 ms against 31.9 / 40.8, SmolLM2 decode 125.7 /
    // 148.1 against 108.6 / 132.8 tok/s (alternating).
    k.copy_pays_from = 3;
    k.copy_indices_upto = avx2::index_copy_upto_layout(k.expand_layout);
    if (!vnni) {  // codes at 6 bits as the second form, timed against indices (avx2_internal.h)
        k.expand_layout_alt = avx2::kPlainCodesAt6;
        k.copy_indices_upto_alt = avx2::index_copy_upto_layout(k.expand_layout_alt);
    }
    k.copy_prompts_from = kMinBits;  // tiles from a copy of indices, a copy of codes read itself (avx2_internal.h)
    k.dequant_ap = avx2::dequant_ap;
    k.attend_f16 = avx2::attend_f16;
    k.attend_q8 = avx2::attend_q8;
    k.f32_to_f16 = avx2::f32_to_f16;
    k.f32_to_q8 = avx2::f32_to_q8;
    k.silu_mul = avx2::silu_mul;
    return k;
}

}  // namespace ap::kern
