// The CPU kernel set, chosen once at run time from the CPU's features
// (scalar reference or AVX2+FMA); the engine keeps one KernelSet and calls
// through it. Every kernel handles a row range so a thread pool can split rows.
#pragma once
#include "ap_matrix.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace ap::kern {

// Dense fp32: Y[t * ldy + r] = sum_k W[r * K + k] * X[t * ldx + k], for rows r0..r1-1, tokens 0..n-1.
using GemmF32Fn = void (*)(const float* W, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
// Dense 16-bit weights (fp16, or bf16 when bf16 is set): same contract as GemmF32Fn.
using GemmH16Fn = void (*)(const uint16_t* W, bool bf16, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0,
                           int r1);
// Any-precision at `bits`: same contract, weights from the bitplanes/tables.
using GemmApFn = void (*)(const ApMatrix& m, int bits, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
// Dequantize rows r0..r1-1 of an any-precision matrix at `bits` into dst[(r - r0) * cols + k].
using DequantApFn = void (*)(const ApMatrix& m, int bits, int r0, int r1, float* dst);

// Up to this many tokens the SIMD sets always multiply any-precision weights
// with int8 activations (decode, speculative verification); larger prompt
// chunks may take either route (SessionOptions::exact_prompts).
constexpr int kFewTokens = 16;

// Activations quantized once for several any-precision products over the
// same input (in decode q, k and v share one input, gate and up another),
// instead of once per row chunk inside gemm_ap. Opaque: only the kernel set
// that made it reads it, and it may be read by several threads at once.
struct PreparedX {
    virtual ~PreparedX() = default;
    // Quantizes now for width `bits` where the set would do it on first use
    // inside a product: called once before a product is split over threads,
    // so no thread waits on another's quantization (a blocked thread's
    // wake-up cost 50-80 us per product on an Intel Xeon VM).
    virtual void prepare(int /*bits*/) const {}
};
// n tokens of X (rows of ldx floats, `cols` used; X must stay alive and
// unchanged while the result is used: a set may quantize on first use, at the
// range the width needs); nullptr when the set has no
// such route (scalar): use gemm_ap then. The SIMD sets take any n (prompt
// chunks run their int8 kernel, the AVX2 set over cache-sized tiles of rows).
using PrepareXFn = std::unique_ptr<PreparedX> (*)(const float* X, int ldx, int n, int cols);
// gemm_ap on prepared activations (bits in kMinBits..kMaxBits, m.cols = the
// prepared cols); results are bit-identical to gemm_ap on the same X.
using GemmApPreparedFn = void (*)(const ApMatrix& m, int bits, const PreparedX& x, float* Y, int ldy, int r0, int r1);

// Rows r0..r1-1 of width `bits` expanded into dst (the whole copy,
// expand_bytes(m.rows, m.cols, bits) bytes, 64-byte aligned), in the order of this
// set's expand_layout; see ApMatrix::codes. nullptr where a set has no such route.
// Products of up to kFewTokens tokens read an attached copy; prompt chunks
// read it from KernelSet::copy_prompts_from and below that keep the tiles
// from the planes, whose lookups are shared by the chunk's tokens (on Zen 4
// the AVX-512 copy's token pass measured 10-15% slower on SmolLM2 at 6..8
// bits and even to 12% faster on a 1B model). Either way the results are
// the same.
// layout: the set's expand_layout or, where it has one, expand_layout_alt
// (what ApMatrix::codes_layout then says).
using ExpandApFn = void (*)(const ApMatrix& m, int bits, int layout, int r0, int r1, int8_t* dst);
using ExpandBytesFn = size_t (*)(int rows, int cols, int bits, int layout);  // a copy's size at one width

// Sum of n floats: the streaming-read probe behind bandwidth figures.
using SumF32Fn = double (*)(const float* x, size_t n);
// Attention of the G query heads that share one KV head over n_pos cached
// positions (K and V rows fp16, `stride` elements from one position to the
// next), as a part that attend_merge combines with the parts of other
// position ranges (so long contexts split over threads):
//   s_gj = scale * q_g . k_j, then cap * tanh(s_gj / cap) when cap > 0;
//   m[g] = max_j s_gj; l[g] = sum_j exp(s_gj - m[g]);
//   acc[g * d + i] = sum_j exp(s_gj - m[g]) * v_j[i].
// q: G rows of d floats, q_stride apart. K and V rows are read once for up
// to kAttendHeadsPerPass heads. scratch: attend_scratch_floats(n_pos, d)
// floats (the scores of one pass's heads).
using AttendF16Fn = void (*)(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride,
                             int n_pos, int d, float scale, float cap, float* scratch, float* m, float* l, float* acc);
constexpr int kAttendHeadsPerPass = 4;  // the most any set takes per pass (AVX-512: 4; AVX2: 4 as a single pass, else 3)
inline size_t attend_scratch_floats(int n_pos, int /*d*/) { return size_t(n_pos) * kAttendHeadsPerPass + 16; }
// The same over an int8 KV cache (half the bytes of fp16 streamed per token
// at long contexts): K row j is k_scale[j] * k[j * stride .. + d), V alike.
using AttendQ8Fn = void (*)(const float* q, size_t q_stride, int G, const int8_t* k, const int8_t* v, const float* k_scale,
                            const float* v_scale, size_t stride, int n_pos, int d, float scale, float cap, float* scratch,
                            float* m, float* l, float* acc);
// Stores one int8 KV row: y[i] = round-to-even(x[i] * (127 / max|x|)) (0 for
// a zero row); returns the row's scale max|x| / 127. Every set rounds alike.
using F32ToQ8Fn = float (*)(const float* x, int8_t* y, size_t n);
// Softmax-weighted V rows of G heads from n_parts parts (part p's m and l at
// [p * G + g], acc at [(p * G + g) * d]), merged in part order; row g of the
// result goes to out + g * out_stride.
void attend_merge(int n_parts, int G, int d, const float* m, const float* l, const float* acc, float* out,
                  size_t out_stride);
// y[i] = x[i] rounded to fp16 (nearest even), for storing KV rows.
using F32ToF16Fn = void (*)(const float* x, uint16_t* y, size_t n);
// SwiGLU: gate[i] = silu(gate[i]) * up[i].
using SiluMulFn = void (*)(float* gate, const float* up, size_t n);

struct KernelSet {
    const char* name = "scalar";
    SumF32Fn sum_f32 = nullptr;
    GemmF32Fn gemm_f32 = nullptr;
    GemmH16Fn gemm_h16 = nullptr;
    GemmApFn gemm_ap = nullptr;
    PrepareXFn prepare_x = nullptr;  // may stay null
    GemmApPreparedFn gemm_ap_prepared = nullptr;
    ExpandApFn expand_ap = nullptr;  // may stay null
    ExpandBytesFn expand_bytes = nullptr;
    int expand_layout = 0;           // what ApMatrix::codes_layout must say for gemm_ap_prepared to read the copy
    // A second form of copy (0: none), timed against the first at the widths
    // where they differ (copy_indices_upto_alt < bits <= copy_indices_upto):
    // plain AVX2 keeps codes rather than indices at 6 bits in it, which one
    // is faster depends on the CPU (see avx2_internal.h).
    int expand_layout_alt = 0;
    // The narrowest width from which this set's copy measured faster than its
    // tables on some CPU and model (0: no copies): Always keeps copies from
    // here, Automatic times each width from here. Decode reads an attached
    // copy at any width.
    int copy_pays_from = 0;
    // Copies at this width and below hold indices and still read the tables
    // (bytes per token count both); wider ones hold the codes themselves.
    int copy_indices_upto = 0;
    int copy_indices_upto_alt = 0;  // the same for expand_layout_alt
    // Prompt chunks at this width and above read an attached copy too (0:
    // never): where the table lookups cost more than the copy's token pass.
    int copy_prompts_from = 0;
    DequantApFn dequant_ap = nullptr;
    AttendF16Fn attend_f16 = nullptr;
    AttendQ8Fn attend_q8 = nullptr;
    F32ToF16Fn f32_to_f16 = nullptr;
    F32ToQ8Fn f32_to_q8 = nullptr;
    SiluMulFn silu_mul = nullptr;
};

// Auto: AVX-512 VBMI where the CPU has it, else AVX2 with AVX-VNNI where it
// has that (Intel client CPUs), else AVX2, else scalar. Avx2 is the plain
// AVX2 set even where AVX-VNNI exists (what AMD Zen 2/3 users run).
// Up to which width a copy in `layout` (one of k's) holds indices.
inline int copy_indices_upto(const KernelSet& k, int layout) {
    return layout != 0 && layout == k.expand_layout_alt ? k.copy_indices_upto_alt : k.copy_indices_upto;
}

enum class KernelChoice { Auto, Scalar, Avx2, AvxVnni };

bool cpu_has_avx2_fma();
bool cpu_has_avx_vnni();
// Throws std::runtime_error if a set is requested on a CPU without it.
KernelSet select_kernels(KernelChoice c = KernelChoice::Auto);

// Scalar reference implementations (always available; tests compare against them).
void gemm_f32_scalar(const float* W, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
void gemm_h16_scalar(const uint16_t* W, bool bf16, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
void gemm_ap_scalar(const ApMatrix& m, int bits, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
double sum_f32_scalar(const float* x, size_t n);
void dequant_ap_scalar(const ApMatrix& m, int bits, int r0, int r1, float* dst);
void attend_f16_scalar(const float* q, size_t q_stride, int G, const uint16_t* k, const uint16_t* v, size_t stride,
                       int n_pos, int d, float scale, float cap, float* scratch, float* m, float* l, float* acc);
void attend_q8_scalar(const float* q, size_t q_stride, int G, const int8_t* k, const int8_t* v, const float* k_scale,
                      const float* v_scale, size_t stride, int n_pos, int d, float scale, float cap, float* scratch,
                      float* m, float* l, float* acc);
void f32_to_f16_scalar(const float* x, uint16_t* y, size_t n);
float f32_to_q8_scalar(const float* x, int8_t* y, size_t n);
void silu_mul_scalar(float* gate, const float* up, size_t n);

}  // namespace ap::kern
