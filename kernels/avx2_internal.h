// Entry points shared between the AVX2 translation units (avx2*.cpp).
#pragma once
#include "kernels.h"

#include <cstddef>

namespace ap::kern::avx2 {

// Any-precision product for 1 <= n <= kFewTokens tokens with int8-quantized
// activations, bits in 2..8 (avx2_ap_gemv.cpp): Y[t * ldy + r], rows r0..r1-1.
// Such a batch reproduces single-token results bit for bit (a speculative
// draft verified at high precision matches plain decoding); 16 covers
// draft lengths in use; prompt chunks above it take the tiled int8 kernel
// (prepared activations) or the exact fp32 route (gemm_ap).
constexpr int kFewTokens = kern::kFewTokens;
// VNNI: the AVX-VNNI flavour (vpdpbusd; the caller has checked the CPU).
template <bool VNNI>
void gemm_ap_few(const ApMatrix& m, int bits, const float* X, size_t ldx, int n, float* Y, size_t ldy, int r0, int r1);
// The AVX2 set's any-precision entry (avx2.cpp): the few-token route up to
// kFewTokens, dequantized fp32 tiles above; the AVX-512 set falls back to it.
template <bool VNNI>
void gemm_ap(const ApMatrix& m, int bits, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);

// The same with the activations quantized once (KernelSet::prepare_x /
// gemm_ap_prepared), for any number of tokens: up to kFewTokens the few-token
// kernel, above it the tiled kernel (avx2_ap_tiled.h), both bit-identical
// to one token at a time (the int8 prompt route).
template <bool VNNI>
std::unique_ptr<PreparedX> prepare_x(const float* X, int ldx, int n, int cols);
template <bool VNNI>
void gemm_ap_prepared(const ApMatrix& m, int bits, const PreparedX& x, float* Y, int ldy, int r0, int r1);
// Expanded copies (ApMatrix::codes) for gemm_ap_prepared: the codes of the
// tiled kernel row by row; the flavours differ (the plain one keeps signed
// codes from kWideFrom bits up), hence a layout per flavour, and the plain
// one has two (kPlainCodesAt6: codes at 6 bits where layout 1 keeps indices).
constexpr int expand_layout(bool vnni) { return vnni ? 2 : 1; }
constexpr int kPlainCodesAt6 = 4;  // (the AVX-512 set's is 3)
template <bool VNNI>
constexpr bool is_layout_of(int layout) {
    return layout == expand_layout(VNNI) || (!VNNI && layout == kPlainCodesAt6);
}
// Bytes per row (columns padded to the 128 of a group) and of a whole copy
// (rows padded to an even count: rows go in pairs); up to index_copy_upto
// the copy keeps indices, as many bits per weight as the width (PairNibbles; 2 bits keep 4).
inline size_t expanded_row_bytes(int cols) { return (size_t(cols) + 127) / 128 * 128; }
// Where row r's 16 bytes of 128-column group g, slice t go in a copy of
// codes (above index_copy_upto here; every width in the AVX-512 set's copy): pair i =
// rows 2i, 2i + 1 holds per group and slice 32 bytes, row 2i's 16 then row
// 2i + 1's, so a pair streams as one sequence. Slice t byte 4i + m is
// column 128g + 32i + 8m + t (the order of avx2_ap_index.h).
constexpr size_t copy_slot(size_t row_bytes, int r, int g, int t) {
    return size_t(r / 2) * 2 * row_bytes + size_t(256) * g + 32 * t + 16 * (r & 1);
}
// A token pass streams a copy from memory: its bytes are asked for
// kCopyPrefetch ahead (every line of a group's 256 bytes; the AVX-512 set's copy too). The hardware
// prefetcher alone left the byte copy at 0.71-0.72 of the streaming read
// (Intel Xeon VM, 1B model, 8 and 7 bits, GEMV pass 62-64 ms); with this
// 0.92-0.94 (42-49 ms; 2 and 8 KiB ahead 0.91-0.92), two alternating rounds.
constexpr int kCopyPrefetch = 4096;
// Up to this width the copy keeps indices rather than codes
// (KernelSet::copy_indices_upto, PairNibbles): the low four planes'
// indices nibble-packed (at 3 bits three bytes to four), at 5 and 6 bits
// the upper index bits beside them as blend selectors, so the copy holds
// no more bytes than the planes, and decode skips the bit transpose but
// still looks the codes up (one pshufb per 32 weights; two and a blend at
// 5 bits, four and three at 6). Plain AVX2 keeps indices at 6 bits too:
// Zen 3, 1B model, three alternating rounds, GEMV pass 38-43 ms against
// 47-56 for the byte copy. The AVX-VNNI flavour (Intel client cores) keeps
// bytes there: its token pass over bytes is a single vpdpbusd per 32
// weights, where the index copy adds four lookups and three blends (three
// micro-ops each on recent Intel cores), not measured on such a CPU.
// The widest of a flavour's layouts (what the templates compile for), and of one layout.
// Which of the plain flavour's two forms is faster at 6 bits depends on the
// CPU, so the engine times both (KernelSet::expand_layout_alt): the index
// copy won on Zen 3 (above), the copy of codes on an Intel Xeon with 480 MB
// of L3 (1B model, GEMV pass 43-45 ms against 51-55, 0.84-0.86 of the
// streaming bandwidth against 0.53-0.55).
constexpr int index_copy_upto(bool vnni) { return vnni ? 5 : 6; }
constexpr int index_copy_upto_layout(int layout) { return layout == expand_layout(false) ? 6 : 5; }
// 32-byte registers per row pair and group of 128 columns in a copy of
// indices (PairNibbles) at `bits` <= index_copy_upto: as many as bits per
// weight, 4 for 2 bits (nibbles).
constexpr int index_copy_regs(int bits) { return bits <= 4 ? (bits == 3 ? 3 : 4) : bits; }
// Prompt chunks read an attached copy at every width
// (KernelSet::copy_prompts_from = kMinBits): a copy of indices fills the
// tiles (no bit transpose; the lookups are still shared by the chunk's
// tokens), a copy of codes (above index_copy_upto) is read by the token pass
// itself, where the 64..256-entry lookups into a tile cost more than the
// copy's token pass computes again: AVX-VNNI (Intel client cores), Intel
// Xeon, 512-token prompts, copies against tiles +14% at 8 bits, +5% at 7;
// plain AVX2, AMD EPYC (Zen 3), 6 bits (then a copy of codes), three
// alternating rounds: 1B-shaped model 93.7 / 97.4 / 96.9 against 83.0 /
// 92.6 / 91.1 tok/s, SmolLM2 level.
template <bool VNNI>
size_t expand_bytes(int rows, int cols, int bits, int layout) {
    // A pair's group of 128 columns: registers of indices, or 8 of codes.
    const size_t group_bytes = bits <= index_copy_upto_layout(layout) ? 32 * size_t(index_copy_regs(bits)) : 256;
    return (size_t(rows) + 1) / 2 * group_bytes * (expanded_row_bytes(cols) / 128);
}
template <bool VNNI>
void expand_ap(const ApMatrix& m, int bits, int layout, int r0, int r1, int8_t* dst);

// Natural-order fp32 rows r0..r1-1 at `bits` (avx2_ap_dequant.cpp).
void dequant_ap(const ApMatrix& m, int bits, int r0, int r1, float* dst);

// Y[t * ldy + i] = dot(W[i * ldw ..], X[t * ldx ..]) over K columns for
// i < rows, t < n (avx2_f32.cpp). Blocks over rows and tokens so a row
// loaded once serves several tokens; callers pass row tiles that fit in cache.
void f32_rows(const float* W, size_t ldw, int K, int rows, const float* X, size_t ldx, int n, float* Y, size_t ldy);

// Rows per tile of weights shared by several tokens (avx2_f32.cpp).
int f32_tile_rows(int K);

// The KernelSet entry for dense fp32 (avx2_f32.cpp).
void gemm_f32(const float* W, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
void gemm_h16(const uint16_t* W, bool bf16, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);

// Attention over the fp16 KV cache and fp16 row stores (avx2_attention.cpp, needs F16C).
void attend_f16(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride, int n_pos,
                int d, float scale, float cap, float* scratch, float* m, float* l, float* acc);
void attend_q8(const float* q, size_t q_stride, int G, const int8_t* k, const int8_t* v, const float* k_scale,
               const float* v_scale, size_t stride, int n_pos, int d, float scale, float cap, float* scratch, float* m,
               float* l, float* acc);
void f32_to_f16(const float* x, uint16_t* y, size_t n);
float f32_to_q8(const float* x, int8_t* y, size_t n);
// Attention's softmax step over one head's scores, in place: p_j = exp(s_j -
// max) after the soft cap; *m = max, *l = sum p_j (the AVX-512 set's too).
void soft_max(float* s, int n_pos, float cap, float* m, float* l);
// SwiGLU with the vectorised exp (avx2_silu.cpp).
void silu_mul(float* gate, const float* up, size_t n);

}  // namespace ap::kern::avx2
