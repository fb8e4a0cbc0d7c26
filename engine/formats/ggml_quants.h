// ggml block formats beyond the simple ones gguf.cpp decodes inline: the
// 5-bit legacy quants (Q5_0, Q5_1), the K-quants (Q2_K..Q6_K, 256-weight
// super-blocks) and the non-linear 4-bit types (IQ4_NL, IQ4_XS). What
// llama.cpp's Q4_K_M / Q5_K_M / Q3_K_M / IQ4_XS files are made of.
//
// Dequantization only (these files are loaded, never written by us); every
// function reproduces ggml's reference arithmetic step for step in fp32 so
// the result is bit-identical to ggml and to the `gguf` Python package.
#pragma once
#include "gguf.h"

#include <cstddef>
#include <cstdint>

namespace ap {

// True for the types this file decodes.
bool ggml_quants_has(GgmlType t);
// Weights per block (32 or 256) and bytes per block; 0 for other types.
int ggml_quants_block_size(GgmlType t);
size_t ggml_quants_block_bytes(GgmlType t);

// Dequantizes n_blocks consecutive blocks of type t (one of ggml_quants_has)
// into n_blocks * block_size floats. Throws ap::Error for any other type.
void ggml_quants_dequantize(GgmlType t, const uint8_t* src, float* dst, int64_t n_blocks);

// The 16 values an IQ4_NL / IQ4_XS nibble indexes (ggml's kvalues_iq4nl).
extern const int8_t kIq4nlValues[16];

}  // namespace ap
