// Activation format of the AVX-512 any-precision kernel (avx512_ap_kernel.h),
// free of intrinsics so that non-AVX-512 files can produce it.
#pragma once
#include <cstdint>

namespace ap::kern::avx512 {

// Same activation range and code bias as the AVX2 path (see avx2_ap_gemv.cpp):
// codes enter the u8 x s8 products as code + 128, removed again through qsum.
constexpr int kActMax = 64;
constexpr int kCodeBias = 128;

// One token's activations in this kernel's order.
struct XTok {
    const int8_t* q;     // [groups][8][64]: byte 64*t + 4*i + m of group g = column 512g + 32i + 8m + t; zero past cols
    const float* scale;  // [groups * 16]: block scales in natural order, zero past the last block
    float sum;           // sum of x (fp32)
    float qsum;          // sum over blocks of scale * sum(q)
};

}  // namespace ap::kern::avx512
