// Per-row clustering of weights into nested centroid tables (ANYPREC.md §2):
// optimal weighted 1-D k-means seed, split-in-two upscaling to the parent
// width, plus the round-to-nearest and independent k-means baselines.
#pragma once
#include "ap_matrix.h"

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
    void dc_layer(int j, int ilo, int ihi, int tlo, int thi);
    void lloyd_refine(int k);
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
};

}  // namespace ap::quant
