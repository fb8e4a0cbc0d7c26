// Row clustering. Everything works on the row's sorted distinct values with
// prefix sums of s, s*v and s*v^2, so a contiguous range's weighted mean and
// squared error cost O(1) whatever the number of weights it holds.
#include "cluster.h"
#include "monotone_layer.h"

#include <algorithm>
#include <queue>
#include <random>
#include <tuple>
#include <cmath>
#include <limits>

namespace ap::quant {

double weighted_sq_error(const RowQuant& q, const float* w, const float* s, int n, int bits) {
    const std::vector<float>& tab = q.table[bits];
    const int shift = q.hi_bits - bits;
    double e = 0;
    for (int i = 0; i < n; ++i) {
        const double d = double(w[i]) - double(tab[q.index[i] >> shift]);
        e += (s ? double(s[i]) : 1.0) * d * d;
    }
    return e;
}

void RowClusterer::prepare(const float* w, const float* s, int n) {
    // Effective sensitivities: see the class comment for the fallbacks.
    double total = 0;
    bool weighted = s != nullptr;
    if (weighted) {
        for (int i = 0; i < n; ++i)
            if (std::isfinite(s[i]) && s[i] > 0) total += s[i];
        weighted = total > 0 && std::isfinite(total);
    }
    const double floor = weighted ? 1e-6 * total / n : 1.0;
    auto eff = [&](int i) -> double {
        if (!weighted) return 1.0;
        const double v = s[i];
        return std::isfinite(v) && v > floor ? v : floor;
    };

    sorted_.resize(n);
    for (int i = 0; i < n; ++i) sorted_[i] = {w[i], i};
    std::sort(sorted_.begin(), sorted_.end());

    // Shifting to the range's midpoint keeps the prefix sums of v^2 small,
    // which keeps the cancellation in "sum v^2 - (sum v)^2 / sum s" harmless.
    shift_ = n ? 0.5 * (double(sorted_.front().first) + double(sorted_.back().first)) : 0.0;
    u_.clear();
    mass_.clear();
    uid_.resize(n);
    for (int j = 0; j < n; ++j) {
        const auto [v, i] = sorted_[j];
        if (j == 0 || v != sorted_[j - 1].first) {
            u_.push_back(double(v) - shift_);
            mass_.push_back(0.0);
        }
        mass_.back() += eff(i);
        uid_[i] = int(u_.size()) - 1;
    }
    m_ = int(u_.size());
    p0_.assign(m_ + 1, 0.0);
    p1_.assign(m_ + 1, 0.0);
    p2_.assign(m_ + 1, 0.0);
    for (int j = 0; j < m_; ++j) {
        p0_[j + 1] = p0_[j] + mass_[j];
        p1_[j + 1] = p1_[j] + mass_[j] * u_[j];
        p2_[j + 1] = p2_[j] + mass_[j] * u_[j] * u_[j];
    }
}

// Weighted squared error of distinct values [a, b) around their weighted mean.
inline double RowClusterer::cost(int a, int b) const {
    return range_sq_error(p0_.data(), p1_.data(), p2_.data(), a, b);
}

inline double RowClusterer::mean(int a, int b) const {
    return (p1_[b] - p1_[a]) / (p0_[b] - p0_[a]);
}

void RowClusterer::optimal_partition(int k, int n_cuts) {
    const int m = m_;
    bounds_.assign(k + 1, m);
    if (m <= k) {
        // Every distinct value its own cluster; the rest stay empty.
        for (int c = 0; c <= m; ++c) bounds_[c] = c;
        return;
    }
    // Cut positions: every distinct value, or (n_cuts > 0) that many evenly
    // spaced ones, which makes this the optimum over a coarser set of values.
    const int B = n_cuts > 0 && n_cuts < m ? std::max(n_cuts, k) : m;
    pos_.resize(B + 1);
    for (int i = 0; i <= B; ++i) pos_[i] = int(int64_t(i) * m / B);
    // Prefix i of layer j is feasible in [j, B - k + j]: every cluster of an
    // optimal partition with at least k values is non-empty.
    const int slack = B - k;
    arg_stride_ = B + 1;
    arg_.assign(size_t(k + 1) * arg_stride_, 0);
    prev_.assign(B + 1, 0.0);
    cur_.assign(B + 1, 0.0);
    for (int i = 1; i <= 1 + slack; ++i) prev_[i] = cost(0, pos_[i]);
    for (int j = 2; j <= k; ++j) {
        // Cut positions are pos_[0..B]; the cell is the cluster between two of them.
        monotone_layer(prev_.data(), cur_.data(), arg_.data() + size_t(j) * arg_stride_, j, j + slack, j - 1,
                       j - 1 + slack, [&](int t, int i) { return cost(pos_[t], pos_[i]); });
        std::swap(prev_, cur_);
    }
    int i = B;
    bounds_[k] = m;
    for (int j = k; j >= 2; --j) {
        i = arg_[size_t(j) * arg_stride_ + i];
        bounds_[j - 1] = pos_[i];
    }
    bounds_[0] = 0;
}

// Weighted Lloyd on sorted values, from the current bounds_: clusters stay
// contiguous, so one step is k means from prefix sums plus k binary searches.
// Every step lowers (or keeps) the cost.
void RowClusterer::lloyd_refine(int k) {
    std::vector<double>& mu = cur_;
    mu.assign(k, 0.0);
    for (int iter = 0; iter < 1000; ++iter) {
        for (int c = 0; c < k; ++c) {
            const int a = bounds_[c], b = bounds_[c + 1];
            if (b > a) mu[c] = mean(a, b);
            else mu[c] = c > 0 ? mu[c - 1] : u_[0];  // empty: keeps the centroids ordered
        }
        next_bounds_ = bounds_;
        for (int c = 1; c < k; ++c) {
            const double mid = 0.5 * (mu[c - 1] + mu[c]);
            const int b = int(std::upper_bound(u_.begin(), u_.end(), mid) - u_.begin());
            next_bounds_[c] = std::max(b, next_bounds_[c - 1]);
        }
        if (next_bounds_ == bounds_) break;
        std::swap(bounds_, next_bounds_);
    }
}

void RowClusterer::fill_width(RowQuant& out, int bits, const std::vector<float>* inherit) {
    const int K = 1 << bits;
    std::vector<float>& tab = out.table[bits];
    std::vector<double>& ms = out.mass[bits];
    tab.assign(K, 0.f);
    ms.assign(K, 0.0);
    std::vector<char> empty(K, 0);
    for (int c = 0; c < K; ++c) {
        const int a = bounds_[c], b = bounds_[c + 1];
        if (b > a) {
            tab[c] = float(mean(a, b) + shift_);
            ms[c] = p0_[b] - p0_[a];
        } else if (inherit) {
            tab[c] = (*inherit)[c >> 1];
        } else {
            empty[c] = 1;
        }
    }
    if (inherit) return;
    // Seed-level empty clusters (fewer distinct values than clusters) are never
    // used; they copy a neighbour so the table range stays the row's range.
    for (int c = 0; c < K; ++c) {
        if (!empty[c]) continue;
        int d = c - 1;
        while (d >= 0 && empty[d]) --d;
        if (d < 0) { d = c + 1; while (d < K && empty[d]) ++d; }
        tab[c] = d < K ? tab[d] : float(shift_);
        empty[c] = d >= K;
    }
}

void RowClusterer::assign_index(RowQuant& out, int n) {
    const int K = int(bounds_.size()) - 1;
    std::vector<uint8_t> of_value(m_);
    for (int c = 0; c < K; ++c)
        for (int j = bounds_[c]; j < bounds_[c + 1]; ++j) of_value[j] = uint8_t(c);
    out.index.resize(n);
    for (int i = 0; i < n; ++i) out.index[i] = of_value[uid_[i]];
}

void RowClusterer::anyprec(const float* w, const float* s, int n, int seed_bits, int parent_bits, RowQuant& out,
                           int anchor_bits) {
    prepare(w, s, n);
    out.lo_bits = seed_bits;
    out.hi_bits = parent_bits;
    for (auto& t : out.table) t.clear();
    for (auto& t : out.mass) t.clear();
    const int anchor = anchor_bits <= 0 ? seed_bits : std::clamp(anchor_bits, seed_bits, parent_bits);

    optimal_partition(1 << anchor, 0);
    fill_width(out, anchor, nullptr);
    if (anchor > seed_bits) {
        // Below the anchor, cluster c is the union of its children 2c and 2c+1.
        const std::vector<int> anchor_bounds = bounds_;
        for (int b = anchor - 1; b >= seed_bits; --b) {
            std::vector<int> merged((1 << b) + 1);
            for (size_t c = 0; c < merged.size(); ++c) merged[c] = bounds_[2 * c];
            bounds_ = std::move(merged);
            fill_width(out, b, nullptr);
        }
        bounds_ = anchor_bounds;
    }
    split_up(out, anchor, parent_bits);
    assign_index(out, n);
}

int RowClusterer::best_split(int a, int e) const {
    int split = e;  // empty or one value: the upper child stays empty
    if (e - a < 2) return split;
    double best = std::numeric_limits<double>::infinity();
    for (int t = a + 1; t < e; ++t) {
        const double v = cost(a, t) + cost(t, e);
        if (v < best) { best = v; split = t; }
    }
    return split;
}

void RowClusterer::split_all(const std::vector<int>& cur, std::vector<int>& next) const {
    next.assign(2 * cur.size() - 1, 0);
    for (size_t c = 0; c + 1 < cur.size(); ++c) {
        next[2 * c] = cur[c];
        next[2 * c + 1] = best_split(cur[c], cur[c + 1]);
        next[2 * c + 2] = cur[c + 1];
    }
}

void RowClusterer::split_up(RowQuant& out, int from, int to) {
    for (int b = from; b < to; ++b) {
        split_all(bounds_, next_bounds_);
        std::swap(bounds_, next_bounds_);
        fill_width(out, b + 1, &out.table[b]);
    }
}

std::array<double, kern::kMaxBits + 1> RowClusterer::greedy_errors(int from, int to) const {
    std::array<double, kern::kMaxBits + 1> e{};
    std::vector<int> cur = bounds_, next;
    for (int b = from;; ++b) {
        for (size_t c = 0; c + 1 < cur.size(); ++c) e[b] += cost(cur[c], cur[c + 1]);
        if (b == to) return e;
        split_all(cur, next);
        std::swap(cur, next);
    }
}

// Cut positions of the joint tables: every value boundary, or, when there are
// more than max_points values, the boundaries left after merging neighbouring
// ranges in order of the least added squared error (Ward). Merging spends the
// resolution where values crowd and keeps sparse tails (outliers) cut finely,
// where evenly spaced quantiles would blur the small clusters. The optimal
// seed's cuts are never merged, so the optimal seed stays reachable.
std::vector<int> RowClusterer::joint_cuts(int max_points, const std::vector<int>& seed) const {
    std::vector<int> cuts;
    for (int i = 0; i <= m_; ++i) cuts.push_back(i);
    int ranges = m_;
    if (ranges <= max_points) return cuts;
    std::vector<char> fixed(m_ + 1, 0);
    for (int c : seed) fixed[c] = 1;
    fixed[0] = fixed[m_] = 1;
    std::vector<int> prev(m_ + 1), next(m_ + 1), stamp(m_ + 1, 0);
    for (int i = 0; i <= m_; ++i) prev[i] = i - 1, next[i] = i + 1;
    using Item = std::tuple<double, int, int>;  // added error, cut, stamp
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
    auto push = [&](int b) {
        if (fixed[b]) return;
        const int a = prev[b], c = next[b];
        heap.emplace(cost(a, c) - cost(a, b) - cost(b, c), b, ++stamp[b]);
    };
    for (int b = 1; b < m_; ++b) push(b);
    while (ranges > max_points && !heap.empty()) {
        const auto [delta, b, st] = heap.top();
        heap.pop();
        if (st != stamp[b]) continue;  // stale: a neighbour merged since
        stamp[b] = -1;
        const int a = prev[b], c = next[b];
        next[a] = c, prev[c] = a;
        --ranges;
        push(a), push(c);
    }
    cuts.clear();
    for (int i = 0; i <= m_; i = next[i]) cuts.push_back(i);
    return cuts;
}

// The seed weight lambda_seed = mult / E_opt: the smallest mult in
// [2^kLo, 2^kHi] (geometric bisection) whose seed error is within the slack;
// a smaller weight leaves more room for the other widths. When even 2^kHi
// breaks the slack (or slack is 0) the optimal seed `exact` is kept.
std::vector<int> RowClusterer::joint_seed(const std::vector<int>& exact, double e_opt, double slack, int seed_bits) {
    constexpr double kLo = -2, kHi = 12;
    constexpr int kSteps = 5;  // mult within a factor 2^(14/32) of the smallest feasible
    joint_lambda_[seed_bits] = 0;
    if (!(slack > 0) || !(e_opt > 0)) return exact;
    const double target = e_opt * (1 + slack);
    std::vector<int> seed;
    auto feasible = [&](double lg) { return joint_.seed_partition(std::exp2(lg) / e_opt, seed) <= target; };
    double lo = kLo, hi = kHi;
    if (feasible(lo)) hi = lo;
    else if (!feasible(hi)) return exact;
    std::vector<int> best = seed;
    for (int it = 0; it < kSteps && hi > lo; ++it) {
        const double mid = 0.5 * (lo + hi);
        if (feasible(mid)) { hi = mid; best = seed; }
        else lo = mid;
    }
    joint_lambda_[seed_bits] = std::exp2(hi) / e_opt;
    return best;
}

void RowClusterer::anyprec_joint(const float* w, const float* s, int n, int seed_bits, int parent_bits, RowQuant& out,
                                 const JointOptions& opt) {
    prepare(w, s, n);
    out.lo_bits = seed_bits;
    out.hi_bits = parent_bits;
    for (auto& t : out.table) t.clear();
    for (auto& t : out.mass) t.clear();
    joint_lambda_.fill(0.0);
    const int k = 1 << seed_bits;
    const int top = opt.top_bits > 0 ? std::clamp(opt.top_bits, seed_bits, parent_bits) : parent_bits;
    optimal_partition(k, 0);
    if (m_ <= k || top == seed_bits) {  // nothing to trade: the greedy tree
        fill_width(out, seed_bits, nullptr);
        split_up(out, seed_bits, parent_bits);
        assign_index(out, n);
        return;
    }
    const std::vector<int> exact = bounds_;
    const std::array<double, kern::kMaxBits + 1> e = greedy_errors(seed_bits, top);
    // A width the greedy tree already serves exactly still gets a finite weight.
    const double floor = 1e-9 * e[seed_bits];
    for (int b = seed_bits + 1; b <= top; ++b) joint_lambda_[b] = opt.width_weight[b] / std::max(e[b], floor);
    const std::vector<int> cuts = joint_cuts(opt.max_points, exact);
    joint_.build(p0_.data(), p1_.data(), p2_.data(), cuts, seed_bits, top, joint_lambda_);
    std::vector<int> exact_idx(exact.size());
    for (size_t c = 0; c < exact.size(); ++c)
        exact_idx[c] = int(std::lower_bound(cuts.begin(), cuts.end(), exact[c]) - cuts.begin());
    const std::vector<int> seed = joint_seed(exact_idx, e[seed_bits], opt.seed_slack, seed_bits);
    std::array<std::vector<int>, 9> tree;
    joint_.expand(seed, tree);
    for (int b = seed_bits; b <= top; ++b) {
        bounds_ = tree[b];
        fill_width(out, b, b == seed_bits ? nullptr : &out.table[b - 1]);
    }
    split_up(out, top, parent_bits);
    assign_index(out, n);
}

void RowClusterer::kmeans(const float* w, const float* s, int n, int bits, RowQuant& out) {
    prepare(w, s, n);
    out.lo_bits = out.hi_bits = bits;
    for (auto& t : out.table) t.clear();
    for (auto& t : out.mass) t.clear();
    const int k = 1 << bits;
    // Work of the exact programme over B cut positions: about k (B - k) log2(B - k).
    auto work = [k](int B) {
        const double span = std::max(1, B - k + 1);
        return double(k) * span * (std::log2(span) + 1);
    };
    used_lloyd_ = m_ > k && work(m_) > kMaxExactKmeansWork;
    if (!used_lloyd_) {
        optimal_partition(k, 0);
    } else {
        int lo = k + 1, hi = m_;  // the most cut positions the budget allows
        while (lo < hi) {
            const int mid = lo + (hi - lo + 1) / 2;
            if (work(mid) <= kMaxExactKmeansWork) lo = mid;
            else hi = mid - 1;
        }
        const int B = lo;
        optimal_partition(k, B);
        lloyd_refine(k);
    }
    fill_width(out, bits, nullptr);
    assign_index(out, n);
}

void RowClusterer::lloyd(const float* w, const float* s, int n, int bits, RowQuant& out, uint64_t seed) {
    prepare(w, s, n);
    out.lo_bits = out.hi_bits = bits;
    for (auto& t : out.table) t.clear();
    for (auto& t : out.mass) t.clear();
    const int k = 1 << bits;
    if (m_ <= k) {
        optimal_partition(k, 0);  // every distinct value its own cluster: nothing to choose
    } else {
        // k-means++ over the distinct values (weight = summed sensitivity).
        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        std::vector<double> d2(size_t(m_), std::numeric_limits<double>::infinity());
        std::vector<double> centres;
        auto draw = [&](auto weight) {
            double total = 0;
            for (int j = 0; j < m_; ++j) total += weight(j);
            double r = unit(rng) * total;
            for (int j = 0; j < m_; ++j)
                if ((r -= weight(j)) < 0) return j;
            return m_ - 1;
        };
        centres.push_back(u_[size_t(draw([&](int j) { return mass_[size_t(j)]; }))]);
        while (int(centres.size()) < k) {
            for (int j = 0; j < m_; ++j) {
                const double d = u_[size_t(j)] - centres.back();
                d2[size_t(j)] = std::min(d2[size_t(j)], d * d);
            }
            centres.push_back(u_[size_t(draw([&](int j) { return mass_[size_t(j)] * d2[size_t(j)]; }))]);
        }
        std::sort(centres.begin(), centres.end());
        // Contiguous clusters between the midpoints of neighbouring centres, then Lloyd.
        bounds_.assign(size_t(k) + 1, 0);
        bounds_[size_t(k)] = m_;
        for (int c = 1; c < k; ++c) {
            const double mid = 0.5 * (centres[size_t(c) - 1] + centres[size_t(c)]);
            bounds_[size_t(c)] = std::max(int(std::upper_bound(u_.begin(), u_.end(), mid) - u_.begin()), bounds_[size_t(c) - 1]);
        }
        lloyd_refine(k);
    }
    fill_width(out, bits, nullptr);
    assign_index(out, n);
}

void RowClusterer::rtn(const float* w, int n, int bits, RowQuant& out) {
    out.lo_bits = out.hi_bits = bits;
    for (auto& t : out.table) t.clear();
    for (auto& t : out.mass) t.clear();
    const int K = 1 << bits;
    float lo = n ? w[0] : 0.f, hi = lo;
    for (int i = 1; i < n; ++i) { lo = std::min(lo, w[i]); hi = std::max(hi, w[i]); }
    const double step = (double(hi) - double(lo)) / (K - 1);
    auto& tab = out.table[bits];
    auto& ms = out.mass[bits];
    tab.resize(K);
    ms.assign(K, 0.0);
    for (int c = 0; c < K; ++c) tab[c] = float(double(lo) + step * c);
    tab[K - 1] = hi;
    out.index.resize(n);
    for (int i = 0; i < n; ++i) {
        const int c = step > 0 ? int(std::lround((double(w[i]) - lo) / step)) : 0;
        out.index[i] = uint8_t(std::clamp(c, 0, K - 1));
        ms[out.index[i]] += 1.0;
    }
}

}  // namespace ap::quant
