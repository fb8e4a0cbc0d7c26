#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace ap {

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

int32_t Sampler::sample(const float* logits, int n_vocab, const std::vector<int32_t>& history) {
    cand_.resize(n_vocab);
    for (int i = 0; i < n_vocab; ++i) cand_[i] = {logits[i], i};

    if (p_.repeat_penalty != 1.f && p_.repeat_last_n != 0) {
        // llama.cpp convention: divide positive logits, multiply negative ones.
        size_t n = p_.repeat_last_n < 0 ? history.size() : std::min(history.size(), size_t(p_.repeat_last_n));
        std::unordered_set<int32_t> seen(history.end() - n, history.end());
        for (int32_t t : seen) {
            if (t < 0 || t >= n_vocab) continue;
            float& l = cand_[t].first;
            l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
        }
    }

    if (p_.temperature <= 0.f) {
        auto it = std::max_element(cand_.begin(), cand_.end(),
                                   [](auto& a, auto& b) { return a.first < b.first || (a.first == b.first && a.second > b.second); });
        return it->second;
    }

    // Sort descending (only the top-k part when top-k is on).
    size_t keep = cand_.size();
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    if (p_.top_k > 0 && size_t(p_.top_k) < keep) {
        keep = size_t(p_.top_k);
        std::partial_sort(cand_.begin(), cand_.begin() + keep, cand_.end(), by_logit);
    } else {
        std::sort(cand_.begin(), cand_.end(), by_logit);
    }
    cand_.resize(keep);

    // Softmax with temperature.
    const float mx = cand_[0].first;
    double sum = 0;
    std::vector<double> prob(keep);
    for (size_t i = 0; i < keep; ++i) {
        prob[i] = std::exp(double(cand_[i].first - mx) / p_.temperature);
        sum += prob[i];
    }
    for (auto& p : prob) p /= sum;

    // min-p: drop tokens less likely than min_p times the best one.
    if (p_.min_p > 0.f) {
        size_t n = 1;
        while (n < keep && prob[n] >= p_.min_p * prob[0]) ++n;
        keep = n;
    }
    // top-p: smallest prefix whose mass reaches top_p.
    if (p_.top_p < 1.f) {
        double cum = 0;
        size_t n = 0;
        while (n < keep) {
            cum += prob[n++];
            if (cum >= p_.top_p) break;
        }
        keep = std::max<size_t>(1, n);
    }
    double total = 0;
    for (size_t i = 0; i < keep; ++i) total += prob[i];
    std::uniform_real_distribution<double> u(0.0, total);
    double r = u(rng_), acc = 0;
    for (size_t i = 0; i < keep; ++i) {
        acc += prob[i];
        if (r < acc) return cand_[i].second;
    }
    return cand_[keep - 1].second;
}

}  // namespace ap
