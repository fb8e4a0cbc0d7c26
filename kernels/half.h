// IEEE binary16 <-> binary32 conversions in portable C++ (round to nearest
// even, subnormals and infinities kept, NaN stays NaN). The one
// implementation in the project: the scalar reference of the fp16 KV cache
// and, through engine/formats/safetensors.h, the F16 tensors of GGUF and safetensors
// files. The AVX2 set uses the F16C instructions, which round the same.
#pragma once
#include <bit>
#include <cstdint>

namespace ap::kern {

inline uint16_t float_to_half(float f) {
    uint32_t x = std::bit_cast<uint32_t>(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
    x &= 0x7fffffffu;
    if (x >= 0x47800000u)  // |f| >= 65536 (or inf/nan): no finite half can hold it
        return sign | (x > 0x7f800000u ? 0x7e00 : 0x7c00);
    if (x < 0x38800000u) {
        // Below the smallest normal half: adding 0.5 lines the 10 result bits
        // up with the bottom of the float mantissa, so the FPU's own
        // round-to-nearest-even does the rounding (and may carry into the
        // smallest normal, which is the correct encoding).
        const float aligned = std::bit_cast<float>(x) + 0.5f;
        return sign | static_cast<uint16_t>(std::bit_cast<uint32_t>(aligned) - 0x3f000000u);
    }
    // Normal range: rebias the exponent and round the dropped 13 bits to
    // nearest even; a mantissa carry moves into the exponent, reaching inf
    // for values in [65520, 65536) as IEEE requires.
    const uint32_t odd = (x >> 13) & 1u;
    x += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu + odd;
    return sign | static_cast<uint16_t>(x >> 13);
}

inline float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    if (exp == 0) {
        // Zero or subnormal: mant * 2^-24 is exact in fp32.
        const float v = static_cast<float>(mant) * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
    return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

}  // namespace ap::kern
