// Activation format of the AVX-512 any-precision kernel (avx512_ap_kernel.h),
// free of intrinsics so that non-AVX-512 files can produce it.
#pragma once
#include <cstdint>

namespace ap::kern::avx512 {

// Codes enter the u8 x s8 products as code + 128, removed again through qsum.
// Activation range: with maddubs (int16 pair sums) [-64, 64] keeps
// 2 * 255 * 64 below 32767, the AVX2 range (see avx2_ap_gemv.cpp); vpdpbusd
// adds four products straight into int32, so the VNNI flavour uses the full
// [-127, 127]: half the activation rounding error (perplexity at 8 bits on
// SmolLM2 with int8 prompts: 46.24 at 64 levels a side, 45.78 at 127, 45.53 fp32).
constexpr int kActMaxMaddubs = 64;
constexpr int kActMaxVnni = 127;
constexpr int kCodeBias = 128;

// One token's activations in this kernel's order.
struct XTok {
    const int8_t* q;     // [groups][8][64]: byte 64*t + 4*i + m of group g = column 512g + 32i + 8m + t; zero past cols
    const float* scale;  // [groups * 16]: block scales in natural order, zero past the last block
    float sum;           // sum of x (fp32)
    float qsum;          // sum over blocks of scale * sum(q)
};

}  // namespace ap::kern::avx512
