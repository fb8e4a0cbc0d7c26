// Random, valid ggml blocks of the read-only GGUF types (Q5_x, K-quants,
// IQ4), for tests that need files in those types: every quant bit and
// integer sub-scale is a random byte, the fp16 scale (and min) fields are
// chosen so the weights stay within about +-amplitude. Also writes a tiny
// model whose 2-D weights are such blocks, replacing the model's fp32
// weights by exactly what a loader must decode.
#pragma once
#include "ggml_quants.h"
#include "gguf.h"
#include "half.h"
#include "tiny_model.h"

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace aptest {

// Where a block keeps its fp16 fields and how large its codes get.
struct BlockLayout {
    ap::GgmlType type;
    int scale_off;     // fp16 scale d
    int min_off;       // fp16 min / dmin, -1 if none
    float code_max;    // largest |weight / d| the integer fields can give
    float min_ratio;   // min field = min_ratio * d roughly centres the weights
};

inline const BlockLayout& block_layout(ap::GgmlType t) {
    using G = ap::GgmlType;
    static const BlockLayout layouts[] = {
        {G::Q5_0, 0, -1, 16, 0},          {G::Q5_1, 0, 2, 31, -15.5f},
        {G::Q2_K, 80, 82, 45, 1.5f},      {G::Q3_K, 108, -1, 128, 0},
        {G::Q4_K, 0, 2, 945, 7.5f},       {G::Q5_K, 0, 2, 1953, 15.5f},
        {G::Q6_K, 208, -1, 4096, 0},      {G::IQ4_NL, 0, -1, 127, 0},
        {G::IQ4_XS, 0, -1, 4064, 0},
    };
    for (const BlockLayout& l : layouts)
        if (l.type == t) return l;
    throw std::invalid_argument(std::string("no block layout for ") + ap::ggml_type_name(t));
}

// The types ggml_blocks can produce (every type ggml_quants decodes).
inline std::vector<ap::GgmlType> block_types() {
    using G = ap::GgmlType;
    return {G::Q5_0, G::Q5_1, G::Q2_K, G::Q3_K, G::Q4_K, G::Q5_K, G::Q6_K, G::IQ4_NL, G::IQ4_XS};
}

inline std::vector<uint8_t> random_blocks(ap::GgmlType t, int64_t n_blocks, float amplitude, std::mt19937& rng) {
    const BlockLayout& l = block_layout(t);
    const size_t bytes = ap::ggml_quants_block_bytes(t);
    std::vector<uint8_t> out(size_t(n_blocks) * bytes);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> mag(0.25f, 1.f);
    auto put = [](uint8_t* p, float v) {
        const uint16_t h = ap::kern::float_to_half(v);
        std::memcpy(p, &h, 2);
    };
    for (int64_t b = 0; b < n_blocks; ++b) {
        uint8_t* blk = out.data() + size_t(b) * bytes;
        for (size_t k = 0; k < bytes; ++k) blk[k] = uint8_t(byte(rng));
        const float d = (byte(rng) & 1 ? -1.f : 1.f) * amplitude * mag(rng) / l.code_max;
        put(blk + l.scale_off, d);
        if (l.min_off >= 0) put(blk + l.min_off, l.min_ratio * std::fabs(d));
    }
    return out;
}

// Stores every 2-D weight of m as random blocks of type t, sets m.w to their
// dequantized values (so reference_logits(m) is the exact expected model),
// and writes the GGUF (q/k rows permuted as the llama.cpp converter does).
// Every row length must be a multiple of t's block size.
inline void write_tiny_gguf_blocks(TinyModel& m, const std::string& path, ap::GgmlType t, unsigned seed) {
    std::mt19937 rng(seed);
    ap::GgufWriter g = tiny_gguf_metadata(m);
    const int blk = ap::ggml_block_size(t);
    for (auto& [name, data] : m.w) {
        const auto& sh = m.shape.at(name);
        std::vector<int64_t> gs(sh.rbegin(), sh.rend());
        if (sh.size() == 1) {
            g.add_tensor(gguf_name(name), ap::GgmlType::F32, gs, data.data());
            continue;
        }
        const int64_t rows = sh[0], cols = sh[1];
        // Typical |w| of the fp32 init is 1/sqrt(cols) (1 for the embedding).
        const float amp = name.find("embed") != std::string::npos ? 3.f : 3.f / std::sqrt(float(cols));
        std::vector<uint8_t> raw = random_blocks(t, rows * cols / blk, amp, rng);
        ap::dequantize_row(t, raw.data(), data.data(), rows * cols);
        // Permute whole encoded rows: row r of the file is row src[r] of the model.
        int heads = 0;
        if (name.find("q_proj") != std::string::npos) heads = m.n_head;
        if (name.find("k_proj") != std::string::npos) heads = m.n_head_kv;
        if (heads) {
            std::vector<float> idx(static_cast<size_t>(rows));
            for (int64_t r = 0; r < rows; ++r) idx[size_t(r)] = float(r);
            const std::vector<float> src = permute_for_gguf(idx, heads, m.head_dim, 1);
            const size_t row_bytes = ap::ggml_type_size(t, cols);
            std::vector<uint8_t> permuted(raw.size());
            for (int64_t r = 0; r < rows; ++r)
                std::memcpy(&permuted[size_t(r) * row_bytes], &raw[size_t(src[size_t(r)]) * row_bytes], row_bytes);
            raw.swap(permuted);
        }
        g.add_tensor_raw(gguf_name(name), t, gs, std::move(raw));
    }
    g.write(path);
}

}  // namespace aptest
