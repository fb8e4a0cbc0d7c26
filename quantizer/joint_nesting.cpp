// Joint nesting tables (see joint_nesting.h). Everything is indexed by cut
// points 0..P-1; interval [i, j) holds the distinct values cuts[i]..cuts[j]-1.
#include "joint_nesting.h"
#include "monotone_layer.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace ap::quant {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

// Same formula as RowClusterer::cost (weighted squared error around the mean).
double JointNesting::range_cost(int a, int b) const {
    return range_sq_error(p0_, p1_, p2_, a, b);
}

void JointNesting::build(const double* p0, const double* p1, const double* p2, const std::vector<int>& cuts,
                         int seed_bits, int top_bits, const std::array<double, 9>& lambda) {
    assert(cuts.size() >= 2 && cuts.size() <= 65535 && seed_bits <= top_bits);
    p0_ = p0, p1_ = p1, p2_ = p2;
    cuts_ = cuts;
    P_ = int(cuts.size());
    seed_ = seed_bits, top_ = top_bits;
    lambda_ = lambda;
    // Tables are resized, not cleared: every entry read (j > i) is written first.
    const size_t cells = size_t(P_) * P_;
    C_.resize(cells);
    G_seed_.resize(cells);
    // Costs once per row: every table and every seed programme reads them.
    for (int i = 0; i < P_; ++i)
        for (int j = i + 1; j < P_; ++j) C_[idx(i, j)] = range_cost(cuts_[i], cuts_[j]);
    if (top_ == seed_) {
        std::fill(G_seed_.begin(), G_seed_.end(), 0.0);
        return;
    }
    // Deepest width: no subtree below, H_top = lambda_top c.
    H_[top_].resize(cells);
    for (int i = 0; i < P_; ++i)
        for (int j = i + 1; j < P_; ++j) H_[top_][idx(i, j)] = lambda_[top_] * C_[idx(i, j)];
    for (int b = top_ - 1; b >= seed_; --b) split_table(b);
}

// G_b(i, j) = min over i < t < j of H(i, t) + H(t, j), with t searched only
// between the split points of [i, j-1) and [i+1, j) (Knuth): O(P^2) in all.
// Rows i go downwards and j upwards, so both bounds are known; H(t, j) is read
// along row t while the split point stays, which keeps the reads sequential.
void JointNesting::split_table(int b) {
    const std::vector<double>& H = H_[b + 1];
    std::vector<double>& out = b > seed_ ? H_[b] : G_seed_;
    const double lam = b > seed_ ? lambda_[b] : 0.0;  // out = lambda_b c + G_b, or G_seed
    std::vector<uint16_t>& opt = opt_[b];
    out.resize(H.size());
    opt.resize(H.size());
    for (int i = 0; i + 1 < P_; ++i) {
        opt[idx(i, i + 1)] = uint16_t(i + 1);  // one cut interval: no split, upper child empty
        out[idx(i, i + 1)] = lam * C_[idx(i, i + 1)];
    }
    for (int i = P_ - 3; i >= 0; --i) {
        const double* row = &H[idx(i, 0)];
        for (int j = i + 2; j < P_; ++j) {
            const int lo = std::max(i + 1, int(opt[idx(i, j - 1)]));
            const int hi = std::min(j - 1, int(opt[idx(i + 1, j)]));
            double best = kInf;
            int bt = lo;
            for (int t = lo; t <= hi; ++t) {
                const double v = row[t] + H[idx(t, j)];
                if (v < best) { best = v; bt = t; }
            }
            out[idx(i, j)] = lam * C_[idx(i, j)] + best;
            opt[idx(i, j)] = uint16_t(bt);
        }
    }
}

double JointNesting::subtree(int b, int i, int j) const {
    if (b >= top_ || j - i < 2) return 0.0;
    if (b == seed_) return G_seed_[idx(i, j)];
    return H_[b][idx(i, j)] - lambda_[b] * C_[idx(i, j)];
}

double JointNesting::seed_partition(double lambda_seed, std::vector<int>& seed) {
    const int k = 1 << seed_, B = P_ - 1;
    assert(B >= k);
    lam_seed_ = lambda_seed;
    // With at least k intervals every cluster of an optimal partition is
    // non-empty (splitting a cluster never raises c or G), as in the greedy seed.
    const int slack = B - k;
    arg_.assign(size_t(k + 1) * P_, 0);
    prev_.assign(P_, kInf);
    cur_.assign(P_, kInf);
    for (int i = 1; i <= 1 + slack; ++i) prev_[i] = cell(0, i);
    for (int j = 2; j <= k; ++j) {
        monotone_layer(prev_.data(), cur_.data(), arg_.data() + size_t(j) * P_, j, j + slack, j - 1, j - 1 + slack,
                       [&](int t, int i) { return cell(t, i); });  // Monge: lambda * c + G
        std::swap(prev_, cur_);
    }
    seed.assign(k + 1, 0);
    seed[k] = B;
    int i = B;
    for (int j = k; j >= 2; --j) seed[j - 1] = i = arg_[size_t(j) * P_ + i];
    return seed_error(seed);
}

double JointNesting::seed_error(const std::vector<int>& seed) const {
    double e = 0;
    for (size_t c = 0; c + 1 < seed.size(); ++c) e += C_[idx(seed[c], seed[c + 1])];
    return e;
}

double JointNesting::subtree_error(const std::vector<int>& seed) const {
    double e = 0;
    for (size_t c = 0; c + 1 < seed.size(); ++c) e += subtree(seed_, seed[c], seed[c + 1]);
    return e;
}

void JointNesting::expand(const std::vector<int>& seed, std::array<std::vector<int>, 9>& bounds) const {
    std::vector<int> cur = seed, next;
    for (int b = seed_;; ++b) {
        bounds[b].resize(cur.size());
        for (size_t c = 0; c < cur.size(); ++c) bounds[b][c] = cuts_[cur[c]];
        if (b == top_) break;
        const size_t K = cur.size() - 1;
        next.assign(2 * K + 1, 0);
        for (size_t c = 0; c < K; ++c) {
            const int i = cur[c], j = cur[c + 1];
            next[2 * c] = i;
            next[2 * c + 1] = j - i >= 2 ? int(opt_[b][idx(i, j)]) : j;  // short: upper child empty
            next[2 * c + 2] = j;
        }
        std::swap(cur, next);
    }
}

}  // namespace ap::quant
