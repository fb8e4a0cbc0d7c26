#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_set>

namespace ap {

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

// The first of the largest logits. Eight independent maxima (no
// loop-carried chain through one register), then the first index holding the winner.
int32_t Sampler::argmax(const float* l, int n_vocab) const {
    float m[8];
    for (int j = 0; j < 8; ++j) m[j] = l[0];
    int i = 0;
    for (; i + 8 <= n_vocab; i += 8)
        for (int j = 0; j < 8; ++j) m[j] = l[i + j] > m[j] ? l[i + j] : m[j];
    float mx = m[0];
    for (int j = 1; j < 8; ++j) mx = m[j] > mx ? m[j] : mx;
    for (; i < n_vocab; ++i) mx = l[i] > mx ? l[i] : mx;
    int32_t best = 0;
    while (best < n_vocab - 1 && !(l[best] == mx)) ++best;
    return best;
}

int32_t Sampler::sample(const float* logits, int n_vocab, const std::vector<int32_t>& history) {
    const bool penalty = p_.repeat_penalty != 1.f && p_.repeat_last_n != 0;
    if (p_.temperature <= 0.f && !penalty) return argmax(logits, n_vocab);
    distribution(logits, n_vocab, history, dist_);
    return draw(dist_);
}

double Sampler::uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

int32_t Sampler::draw(const TokenDist& d) {
    if (greedy()) return d.ids[0];  // greedy draws use no randomness
    std::uniform_real_distribution<double> u(0.0, d.total);
    double r = u(rng_), acc = 0;
    for (size_t i = 0; i < d.ids.size(); ++i) {
        acc += d.w[i];
        if (r < acc) return d.ids[i];
    }
    return d.ids.back();
}

void Sampler::distribution(const float* logits, int n_vocab, const std::vector<int32_t>& history, TokenDist& d) {
    d.clear();
    const bool penalty = p_.repeat_penalty != 1.f && p_.repeat_last_n != 0;
    // Work on a copy of the logits: the penalty must not touch the caller's.
    if (penalty) {
        work_.assign(logits, logits + n_vocab);
        // llama.cpp convention: divide positive logits, multiply negative ones.
        size_t n = p_.repeat_last_n < 0 ? history.size() : std::min(history.size(), size_t(p_.repeat_last_n));
        std::unordered_set<int32_t> seen(history.end() - n, history.end());
        for (int32_t t : seen) {
            if (t < 0 || t >= n_vocab) continue;
            float& l = work_[t];
            l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
        }
    }

    // Greedy: no sorting.
    const int32_t best = argmax(penalty ? work_.data() : logits, n_vocab);
    if (p_.temperature <= 0.f) {
        d.ids.push_back(best);
        d.w.push_back(1.0);
        d.total = 1.0;
        return;
    }
    if (!penalty) work_.assign(logits, logits + n_vocab);

    // Candidates in descending order (ties: lower id first). Only the part
    // that can be kept gets sorted: the top-k, or for top-p / min-p a prefix
    // grown until it holds the cut, so a 49k vocabulary costs O(n), not a sort.
    const float mx = work_[best];
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    const double T = p_.temperature;
    auto rel = [&](float l) { return std::exp(double(l - mx) / T); };  // probability relative to the best token
    // min-p keeps tokens with rel >= min_p; a logit threshold finds them
    // without an exp per token (the exact test runs on those near it).
    const bool min_p_on = p_.min_p > 0.f;
    const double thr = min_p_on ? double(mx) + T * std::log(double(p_.min_p)) : -INFINITY;
    auto passes_min_p = [&](float l) {
        if (!min_p_on || l == mx) return true;  // the best token always stays
        const double margin = 1e-6 * (std::fabs(thr) + 1);
        if (l >= thr + margin) return true;
        if (l < thr - margin) return false;
        return rel(l) >= p_.min_p;  // near the threshold: the exact test
    };
    cand_.clear();
    double sum = 0;  // softmax normaliser over the top-k set (all tokens without top-k): top-p measures mass against it
    size_t keep;
    if (p_.top_k > 0 && size_t(p_.top_k) < size_t(n_vocab)) {
        const size_t k = size_t(p_.top_k);
        top_.assign(work_.begin(), work_.end());
        // A bounded heap (partial_sort) beats nth_element here: most logits lose at the first comparison.
        std::partial_sort(top_.begin(), top_.begin() + k, top_.end(), std::greater<float>());
        const float kth = top_[k - 1];
        const size_t above = size_t(std::find(top_.begin(), top_.begin() + k, kth) - top_.begin());
        // The top-k set: all above the k-th value, then ties by lower id.
        size_t ties = k - above;
        for (int i = 0; i < n_vocab; ++i) {
            const float l = work_[i];
            if (l > kth || (l == kth && ties > 0)) {
                if (l == kth) --ties;
                sum += rel(l);
                if (passes_min_p(l)) cand_.push_back({l, i});
            }
        }
    } else {
        for (int i = 0; i < n_vocab; ++i) {
            sum += rel(work_[i]);
            if (passes_min_p(work_[i])) cand_.push_back({work_[i], i});
        }
    }
    keep = cand_.size();

    // Sort a growing prefix until it holds every token top-p may keep.
    size_t sorted = std::min(keep, size_t(64));
    for (;;) {
        std::partial_sort(cand_.begin(), cand_.begin() + sorted, cand_.end(), by_logit);
        prob_.resize(sorted);
        double cum = 0;
        size_t cut = sorted;
        for (size_t i = 0; i < sorted; ++i) {
            prob_[i] = std::exp(double(cand_[i].first - mx) / p_.temperature) / sum;
            cum += prob_[i];
            if (p_.top_p < 1.f && cum >= p_.top_p && cut == sorted) cut = i + 1;
        }
        if (cut < sorted || sorted == keep) {
            keep = std::min(keep, cut);
            break;
        }
        sorted = std::min(keep, sorted * 4);
    }

    for (size_t i = 0; i < keep; ++i) {
        d.ids.push_back(cand_[i].second);
        d.w.push_back(prob_[i]);
        d.total += prob_[i];
    }
}

}  // namespace ap
