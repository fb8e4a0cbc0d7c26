// Scalar dequantizers for ggml's 5-bit, K-quant and IQ4 block formats.
//
// Layouts and arithmetic follow ggml's reference C (ggml-quants.c,
// dequantize_row_*): each sub-block scale is formed first in fp32
// (d * sc, dmin * m) and then applied as `scale * q - min`, every step
// rounded on its own. Keeping that order is what makes the output
// bit-identical to ggml and to the `gguf` Python package, which the tests
// compare against; the file is built with -ffp-contract=off so no compiler
// default may fuse a multiply and add into one rounding.
//
// Blocks are read through byte offsets and memcpy, never struct casts: the
// data is a file mapping with only the tensor's own alignment guaranteed.
#include "ggml_quants.h"

#include "error.h"
#include "half.h"

#include <cstring>
#include <string>

namespace ap {

const int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

namespace {

constexpr int QK = 32;     // weights per legacy block (Q5_0, Q5_1, IQ4_NL)
constexpr int QK_K = 256;  // weights per K-quant super-block (and IQ4_XS)

float f16_at(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return kern::half_to_float(h);
}

uint32_t u32_at(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Q5_0: fp16 d | qh[4] (bit 4 of each weight) | qs[16] (low nibbles: weights
// j and j+16 share byte j). w = d * (q5 - 16).
void dequant_q5_0(const uint8_t* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, b += 22, y += QK) {
        const float d = f16_at(b);
        const uint32_t qh = u32_at(b + 2);
        const uint8_t* qs = b + 6;
        for (int j = 0; j < QK / 2; ++j) {
            const int x0 = ((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) - 16;
            const int x1 = ((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16;
            y[j] = x0 * d;
            y[j + QK / 2] = x1 * d;
        }
    }
}

// Q5_1: fp16 d | fp16 m | qh[4] | qs[16]. w = d * q5 + m.
void dequant_q5_1(const uint8_t* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, b += 24, y += QK) {
        const float d = f16_at(b);
        const float m = f16_at(b + 2);
        const uint32_t qh = u32_at(b + 4);
        const uint8_t* qs = b + 8;
        for (int j = 0; j < QK / 2; ++j) {
            const int x0 = (qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10);
            const int x1 = (qs[j] >> 4) | ((qh >> (j + 12)) & 0x10);
            y[j] = x0 * d + m;
            y[j + QK / 2] = x1 * d + m;
        }
    }
}

// Q2_K: scales[16] (low nibble scale, high nibble min, per 16 weights) |
// qs[64] (2-bit) | fp16 d | fp16 dmin. Each 32-byte half of qs holds 128
// weights as four 2-bit planes. w = d*sc * q - dmin*m.
void dequant_q2_k(const uint8_t* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, b += 84) {
        const uint8_t* scales = b;
        const uint8_t* q = b + 16;
        const float d = f16_at(b + 80);
        const float dmin = f16_at(b + 82);
        int is = 0;
        for (int n = 0; n < QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half) {
                    const uint8_t sc = scales[is++];
                    const float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
                    for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
                }
            }
        }
    }
}

// Q3_K: hmask[32] (bit 2 of each weight, set = no offset) | qs[64] (low 2
// bits) | scales[12] (sixteen 6-bit scales, biased by 32) | fp16 d.
// w = d*(sc-32) * (q2 - (hbit ? 0 : 4)).
void dequant_q3_k(const uint8_t* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, b += 110) {
        const uint8_t* hm = b;
        const uint8_t* q = b + 32;
        const uint8_t* s = b + 96;
        const float d_all = f16_at(b + 108);
        // Scale j: low 4 bits in nibble j/8 of byte j%8, high 2 bits in bits
        // 2*(j/4) of byte 8 + j%4.
        int scales[16];
        for (int j = 0; j < 16; ++j)
            scales[j] = (((s[j % 8] >> (4 * (j / 8))) & 0x0F) | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
        int is = 0;
        uint8_t m = 1;
        for (int n = 0; n < QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int half = 0; half < 2; ++half) {
                    const float dl = d_all * scales[is++];
                    const int o = 16 * half;
                    for (int l = 0; l < 16; ++l)
                        *y++ = dl * (((q[l + o] >> shift) & 3) - ((hm[l + o] & m) ? 0 : 4));
                }
            }
        }
    }
}

// The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes
// shared by Q4_K and Q5_K (ggml's get_scale_min_k4).
void scale_min_k4(int j, const uint8_t* q, int& sc, int& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// Q4_K: fp16 d | fp16 dmin | scales[12] | qs[128]. Each 32-byte group of qs
// holds 64 weights: low nibbles first, then high nibbles, each 32 with their
// own scale and min. w = d*sc * q - dmin*m.
void dequant_q4_k(const uint8_t* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, b += 144) {
        const float d = f16_at(b);
        const float dmin = f16_at(b + 2);
        const uint8_t* scales = b + 4;
        const uint8_t* q = b + 16;
        for (int is = 0; is < 8; is += 2, q += 32) {
            int sc, m;
            scale_min_k4(is, scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            scale_min_k4(is + 1, scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

// Q5_K: fp16 d | fp16 dmin | scales[12] | qh[32] | qs[128]; as Q4_K plus a
// fifth bit per weight: sub-block s takes bit s of qh[l].
void dequant_q5_k(const uint8_t* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, b += 176) {
        const float d = f16_at(b);
        const float dmin = f16_at(b + 2);
        const uint8_t* scales = b + 4;
        const uint8_t* qh = b + 16;
        const uint8_t* ql = b + 48;
        uint8_t u1 = 1, u2 = 2;
        for (int is = 0; is < 8; is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
            int sc, m;
            scale_min_k4(is, scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            scale_min_k4(is + 1, scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
        }
    }
}

// Q6_K: ql[128] (low 4 bits) | qh[64] (high 2 bits) | int8 scales[16] |
// fp16 d. w = d*sc * (q6 - 32); the product d*sc is formed first, as in ggml.
void dequant_q6_k(const uint8_t* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, b += 210) {
        const uint8_t* ql = b;
        const uint8_t* qh = b + 128;
        const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
        const float d = f16_at(b + 208);
        for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

// IQ4_NL: fp16 d | qs[16]; nibbles index a fixed non-linear table.
void dequant_iq4_nl(const uint8_t* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, b += 18, y += QK) {
        const float d = f16_at(b);
        const uint8_t* qs = b + 2;
        for (int j = 0; j < QK / 2; ++j) {
            y[j] = d * kIq4nlValues[qs[j] & 0xF];
            y[j + QK / 2] = d * kIq4nlValues[qs[j] >> 4];
        }
    }
}

// IQ4_XS: fp16 d | u16 scales_h | scales_l[4] | qs[128]: eight 32-weight
// sub-blocks, each with a 6-bit scale (biased by 32) and IQ4_NL nibbles.
void dequant_iq4_xs(const uint8_t* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, b += 136) {
        const float d = f16_at(b);
        uint16_t scales_h;
        std::memcpy(&scales_h, b + 2, 2);
        const uint8_t* scales_l = b + 4;
        const uint8_t* qs = b + 8;
        for (int ib = 0; ib < QK_K / 32; ++ib, y += 32, qs += 16) {
            const int ls = ((scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((scales_h >> (2 * ib)) & 3) << 4);
            const float dl = d * (ls - 32);
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * kIq4nlValues[qs[j] & 0xF];
                y[j + 16] = dl * kIq4nlValues[qs[j] >> 4];
            }
        }
    }
}

struct Format {
    GgmlType type;
    int block_size;
    size_t block_bytes;
    void (*dequant)(const uint8_t*, float*, int64_t);
};

// Block sizes and byte counts as in ggml's type traits (ggml.c).
constexpr Format kFormats[] = {
    {GgmlType::Q5_0, QK, 22, dequant_q5_0},        {GgmlType::Q5_1, QK, 24, dequant_q5_1},
    {GgmlType::Q2_K, QK_K, 84, dequant_q2_k},      {GgmlType::Q3_K, QK_K, 110, dequant_q3_k},
    {GgmlType::Q4_K, QK_K, 144, dequant_q4_k},     {GgmlType::Q5_K, QK_K, 176, dequant_q5_k},
    {GgmlType::Q6_K, QK_K, 210, dequant_q6_k},     {GgmlType::IQ4_NL, QK, 18, dequant_iq4_nl},
    {GgmlType::IQ4_XS, QK_K, 136, dequant_iq4_xs},
};

const Format* format_of(GgmlType t) {
    for (const Format& f : kFormats)
        if (f.type == t) return &f;
    return nullptr;
}

}  // namespace

bool ggml_quants_has(GgmlType t) { return format_of(t) != nullptr; }

int ggml_quants_block_size(GgmlType t) {
    const Format* f = format_of(t);
    return f ? f->block_size : 0;
}

size_t ggml_quants_block_bytes(GgmlType t) {
    const Format* f = format_of(t);
    return f ? f->block_bytes : 0;
}

void ggml_quants_dequantize(GgmlType t, const uint8_t* src, float* dst, int64_t n_blocks) {
    const Format* f = format_of(t);
    if (!f) throw Error("ggml_quants: no block decoder for tensor type " + std::to_string(static_cast<uint32_t>(t)));
    if (n_blocks > 0) f->dequant(src, dst, n_blocks);
}

}  // namespace ap
