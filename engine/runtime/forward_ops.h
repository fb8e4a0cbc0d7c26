// The element-wise pieces of the forward pass, kept apart
// from the orchestration in session.cpp so tests can check them directly.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ap {

void rms_norm(const float* x, const float* w, int n, float eps, float* out);
// cos/sin of (pos0 + t) * inv_freq[i] for t < n, i < half: [n][half].
void rope_tables(const float* inv_freq, int half, int pos0, int n, float* cos_out, float* sin_out);
// Rotate-half RoPE (Hugging Face layout): pairs (i, i + d/2).
void rope_rotate_half(float* v, int d, const float* cos_t, const float* sin_t);
// Attention over the fp16 KV cache (soft-capped scores included) and SwiGLU
// are kernels: KernelSet::attend_f16 with kern::attend_merge, silu_mul.
// GeGLU (gemma): gate[i] = gelu_tanh(gate[i]) * up[i].
void gelu_tanh_mul(float* gate, const float* up, size_t n);
// x[i] = cap * tanh(x[i] / cap) (gemma2's final logits).
void soft_cap(float* x, size_t n, float cap);

}  // namespace ap
