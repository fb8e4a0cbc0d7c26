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

// The distribution a Sampler draws from after every transform (penalty,
// temperature, top-k, min-p, top-p): the kept tokens with weights in
// descending order; probabilities are weight / total. Greedy: one token.
struct TokenDist {
    std::vector<int32_t> ids;
    std::vector<double> w;
    double total = 0;
    double prob(size_t i) const { return w[i] / total; }
    void clear() { ids.clear(), w.clear(), total = 0; }
};

class Sampler {
public:
    explicit Sampler(const SamplingParams& p);
    bool greedy() const { return p_.temperature <= 0.f; }
    // history: tokens so far (prompt + generated) for the repetition penalty.
    int32_t sample(const float* logits, int n_vocab, const std::vector<int32_t>& history);
    // What sample() draws from; `draw(d)` then equals sample() on the same state.
    void distribution(const float* logits, int n_vocab, const std::vector<int32_t>& history, TokenDist& d);
    int32_t draw(const TokenDist& d);
    double uniform();  // in [0, 1), from the sampler's generator (speculative acceptance)
private:
    int32_t argmax(const float* l, int n_vocab) const;
    SamplingParams p_;
    std::mt19937_64 rng_;
    std::vector<float> work_, top_;  // penalised logits; scratch for the top-k cut
    std::vector<std::pair<float, int32_t>> cand_;
    std::vector<double> prob_;
    TokenDist dist_;
};

}  // namespace ap
