// The element-wise and attention pieces of the forward pass, kept apart
// from the orchestration in session.cpp so tests can check them directly.
#pragma once
#include <cstddef>

namespace ap {

void rms_norm(const float* x, const float* w, int n, float eps, float* out);
// cos/sin of (pos0 + t) * inv_freq[i] for t < n, i < half: [n][half].
void rope_tables(const float* inv_freq, int half, int pos0, int n, float* cos_out, float* sin_out);
// Rotate-half RoPE (Hugging Face layout): pairs (i, i + d/2).
void rope_rotate_half(float* v, int d, const float* cos_t, const float* sin_t);
// gate[i] = silu(gate[i]) * up[i]
void swiglu(float* gate, const float* up, size_t n);
// Causal attention over n_pos cached positions whose K/V rows are `stride`
// floats apart, for the `group` query heads that share one KV head (grouped-query attention):
// q and out hold `group` consecutive heads of d floats; every K/V row is read
// once for all of them. scores is scratch of group * n_pos floats.
void attend_group(const float* q, int group, const float* k, const float* v, int stride, int n_pos, int d, float scale,
                  float* scores, float* out);

}  // namespace ap
