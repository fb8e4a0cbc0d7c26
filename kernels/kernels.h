// The CPU kernel set, chosen once at run time from the CPU's features
// (scalar reference or AVX2+FMA); the engine keeps one KernelSet and calls
// through it. Every kernel handles a row range so a thread pool can split rows.
#pragma once
#include "ap_matrix.h"

#include <cstddef>
#include <cstdint>

namespace ap::kern {

// Dense fp32: Y[t * ldy + r] = sum_k W[r * K + k] * X[t * ldx + k], for rows r0..r1-1, tokens 0..n-1.
using GemmF32Fn = void (*)(const float* W, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
// Any-precision at `bits`: same contract, weights from the bitplanes/tables.
using GemmApFn = void (*)(const ApMatrix& m, int bits, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
// Dequantize rows r0..r1-1 of an any-precision matrix at `bits` into dst[(r - r0) * cols + k].
using DequantApFn = void (*)(const ApMatrix& m, int bits, int r0, int r1, float* dst);

// Sum of n floats: the streaming-read probe behind bandwidth figures.
using SumF32Fn = double (*)(const float* x, size_t n);

struct KernelSet {
    const char* name = "scalar";
    SumF32Fn sum_f32 = nullptr;
    GemmF32Fn gemm_f32 = nullptr;
    GemmApFn gemm_ap = nullptr;
    DequantApFn dequant_ap = nullptr;
};

enum class KernelChoice { Auto, Scalar, Avx2 };

bool cpu_has_avx2_fma();
// Throws std::runtime_error if Avx2 is requested on a CPU without it.
KernelSet select_kernels(KernelChoice c = KernelChoice::Auto);

// Scalar reference implementations (always available; tests compare against them).
void gemm_f32_scalar(const float* W, int K, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
void gemm_ap_scalar(const ApMatrix& m, int bits, const float* X, int ldx, int n, float* Y, int ldy, int r0, int r1);
double sum_f32_scalar(const float* x, size_t n);
void dequant_ap_scalar(const ApMatrix& m, int bits, int r0, int r1, float* dst);

}  // namespace ap::kern
