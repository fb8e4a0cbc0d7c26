// IEEE binary16 <-> binary32 conversions in portable C++ (round to nearest
// even, denormals, infinities and NaN kept): the scalar reference for the
// fp16 KV cache; the AVX2 set uses the F16C instructions, which round the same.
#pragma once
#include <cstdint>
#include <cstring>

namespace ap::kern {

inline float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);  // inf / NaN (payload kept)
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        // Denormal half: normalise into a float exponent.
        int e = -1;
        uint32_t m = man;
        do {
            m <<= 1;
            ++e;
        } while (!(m & 0x400));
        bits = sign | (uint32_t(112 - e) << 23) | ((m & 0x3ff) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t float_to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint16_t sign = uint16_t((x >> 16) & 0x8000);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return uint16_t(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0));
    if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // rounds past 65504: infinity
    if (ax < 0x38800000u) {
        // Half denormal or zero: align the mantissa (with its implicit bit) to 2^-24 units, round to nearest even.
        if (ax < 0x33000000u) return sign;  // below half the smallest denormal
        const int shift = 126 - int(ax >> 23);  // 14..24
        const uint32_t m = (ax & 0x7fffff) | 0x800000;
        uint32_t r = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (r & 1))) ++r;
        return uint16_t(sign | r);
    }
    // Normal: rebias and round the 13 dropped bits to nearest even (a carry may bump the exponent).
    uint32_t r = ax - 0x38000000u;
    r += 0xfff + ((r >> 13) & 1);
    return uint16_t(sign | (r >> 13));
}

}  // namespace ap::kern
