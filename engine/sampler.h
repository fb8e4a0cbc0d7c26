// Token sampling: greedy, temperature, top-k, top-p, min-p, repetition penalty.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace ap {

struct SamplingParams {
    float temperature = 0.7f;  // 0 = greedy
    int top_k = 40;            // 0 = off
    float top_p = 0.95f;       // 1 = off
    float min_p = 0.05f;       // 0 = off
    float repeat_penalty = 1.1f;  // 1 = off
    int repeat_last_n = 64;
    uint64_t seed = 42;
};

class Sampler {
public:
    explicit Sampler(const SamplingParams& p);
    // history: tokens so far (prompt + generated) for the repetition penalty.
    int32_t sample(const float* logits, int n_vocab, const std::vector<int32_t>& history);
private:
    SamplingParams p_;
    std::mt19937_64 rng_;
    std::vector<float> work_, top_;  // penalised logits; scratch for the top-k cut
    std::vector<std::pair<float, int32_t>> cand_;
    std::vector<double> prob_;
};

}  // namespace ap
