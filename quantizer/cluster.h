// Per-row clustering of weights into nested centroid tables (ANYPREC.md §2):
// optimal weighted 1-D k-means seed, split-in-two upscaling to the parent
// width (greedy), or seed and splits chosen together (joint, joint_nesting.h),
// plus the round-to-nearest and independent k-means baselines.
#pragma once
#include "ap_matrix.h"
#include "joint_nesting.h"

#include <array>
#include <cstdint>
#include <vector>

namespace ap::quant {

// The quantization of one row: an index per weight at hi_bits and, for every
// width b in lo_bits..hi_bits, table[b][c] = value of the b-bit index c and
// mass[b][c] = total sensitivity of the weights it serves (0 for an empty
// cluster). The b-bit index of weight i is index[i] >> (hi_bits - b).
struct RowQuant {
    int lo_bits = 0, hi_bits = 0;
    std::vector<uint8_t> index;
    std::array<std::vector<float>, kern::kMaxBits + 1> table;
    std::array<std::vector<double>, kern::kMaxBits + 1> mass;
};

// Sensitivity-weighted squared error of a row served at `bits` with its
// float tables (sum_i s_i (w_i - table[b][idx_b(i)])^2; s == nullptr: all ones).
double weighted_sq_error(const RowQuant& q, const float* w, const float* s, int n, int bits);

// Independent k-means rows whose exact programme would cost more than this many
// cluster evaluations use weighted Lloyd iterations instead (see kmeans()).
constexpr double kMaxExactKmeansWork = double(1 << 26);  // about 0.2 s of one core

// How anyprec_joint() trades seed error for the widths above it.
struct JointOptions {
    // The seed width's error may exceed the optimal seed's by this fraction
    // (0 = the optimal seed, with the joint tree below it).
    double seed_slack = 0.01;
    // Rows with more distinct values are cut only at this many positions,
    // chosen by merging neighbours (joint_cuts), plus the optimal seed's cuts:
    // the tables cost O(points^2). On 576-wide Gaussian rows 192 points lose
    // nothing measurable against all 576 and run 6x faster.
    int max_points = 192;
    // Deepest width in the joint objective (0 = parent); widths above it
    // split greedily. Widths 3..5 are where greedy nesting loses perplexity
    // (6..8 are within 2% of the source either way), and each extra width
    // costs one more O(points^2) table.
    int top_bits = 5;
    // w_b: lambda_b = w_b / E_b, with E_b the greedy tree's error (a cheap
    // stand-in for the independent optimum, within 1.0-1.25x of it).
    std::array<double, kern::kMaxBits + 1> width_weight{1, 1, 1, 1, 1, 1, 1, 1, 1};
};

// Clusters rows; keeps its buffers between calls, so give each thread its own.
// Weights must be finite. Sensitivities: s == nullptr means all ones; a row
// whose s sums to zero (or is not finite) is clustered unweighted; a single
// zero s_i inside a positive row is raised to 1e-6 of the row's mean s, so
// every weight keeps a (tiny) say and no cluster mean is 0/0.
class RowClusterer {
public:
    // Any-precision row: optimal 2^anchor-means (anchor_bits 0 = the seed),
    // then every cluster split at its best point once per extra bit up to
    // parent_bits (children 2c, 2c+1); widths below the anchor merge sibling
    // pairs. Nesting costs the widths above the anchor some error; moving the
    // anchor up to the width that matters most makes that width optimal.
    void anyprec(const float* w, const float* s, int n, int seed_bits, int parent_bits, RowQuant& out,
                 int anchor_bits = 0);
    // Any-precision row with joint nesting (joint_nesting.h): seed partition
    // and split tree chosen together to minimise sum_b lambda_b E_b, with
    // lambda_seed the smallest (bisection) that keeps the seed error within
    // opt.seed_slack of the optimal seed's. Rows with at most 2^seed_bits
    // distinct values are exact at every width and take the greedy path.
    void anyprec_joint(const float* w, const float* s, int n, int seed_bits, int parent_bits, RowQuant& out,
                       const JointOptions& opt);
    // Weights of the last anyprec_joint() objective: lambda[b] for the jointly
    // optimised widths, lambda[seed] = 0 when the optimal seed was kept; all
    // zero when the row took the greedy path.
    const std::array<double, kern::kMaxBits + 1>& last_joint_lambda() const { return joint_lambda_; }

    // Baseline: uniform round-to-nearest, 2^bits levels spanning [min, max].
    void rtn(const float* w, int n, int bits, RowQuant& out);
    // Baseline: optimal weighted 2^bits-means at one width. Rows with too many
    // distinct values for the exact programme (kMaxExactKmeansWork) get the
    // exact optimum over evenly spaced cut positions (as many as the budget
    // allows), refined by weighted Lloyd iterations on all values: a local
    // optimum close to the global one.
    void kmeans(const float* w, const float* s, int n, int bits, RowQuant& out);

    // Baseline as in the any-precision paper and SqueezeLLM: weighted Lloyd
    // k-means at one width from a k-means++ start (centres drawn in
    // proportion to sensitivity times squared distance, from a generator
    // seeded with `seed`, so a row's result is reproducible), iterated to a
    // fixed point. A local optimum: the exact optimum is kmeans().
    void lloyd(const float* w, const float* s, int n, int bits, RowQuant& out, uint64_t seed);

    // Whether the last kmeans() call used the Lloyd fallback.
    bool last_used_lloyd() const { return used_lloyd_; }

private:
    void prepare(const float* w, const float* s, int n);
    double cost(int a, int b) const;
    double mean(int a, int b) const;
    // Optimal partition of the m distinct values into k contiguous ranges
    // (n_cuts > 0: cutting only at n_cuts evenly spaced positions): fills
    // bounds_ (k + 1 edges) by a dynamic programme with divide and conquer.
    void optimal_partition(int k, int n_cuts);
    void lloyd_refine(int k);
    // Best split point of values [a, e) into two ranges (e when e - a < 2).
    int best_split(int a, int e) const;
    // Every range [cur[c], cur[c+1]) split at its best point: next has 2x the ranges.
    void split_all(const std::vector<int>& cur, std::vector<int>& next) const;
    // Splits every cluster of bounds_ (2^from ranges) at its best point up to `to` bits.
    void split_up(RowQuant& out, int from, int to);
    // Errors E_b of the greedy tree grown from bounds_, for b = from..to.
    std::array<double, kern::kMaxBits + 1> greedy_errors(int from, int to) const;
    std::vector<int> joint_cuts(int max_points, const std::vector<int>& seed) const;
    std::vector<int> joint_seed(const std::vector<int>& exact, double e_opt, double slack, int seed_bits);
    // Writes tables/masses for width `bits` from bounds_ (2^bits ranges), with
    // empty ranges taking `inherit[c]` (or their lower neighbour's value).
    void fill_width(RowQuant& out, int bits, const std::vector<float>* inherit);
    void assign_index(RowQuant& out, int n);

    // Distinct values (shifted by shift_), their summed sensitivity, and the
    // distinct-value id of every weight.
    std::vector<double> u_, mass_;
    std::vector<int> uid_;
    std::vector<std::pair<float, int>> sorted_;
    std::vector<double> p0_, p1_, p2_;  // prefix sums of s, s*v, s*v^2
    double shift_ = 0;
    int m_ = 0;
    // DP state: previous/current layer costs and argmins of every layer.
    std::vector<double> prev_, cur_;
    std::vector<int> arg_, pos_;
    int arg_stride_ = 0;
    std::vector<int> bounds_, next_bounds_;
    bool used_lloyd_ = false;
    JointNesting joint_;
    std::array<double, kern::kMaxBits + 1> joint_lambda_{};
};

}  // namespace ap::quant
