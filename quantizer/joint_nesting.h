// Joint nesting (issue 14): choose a row's seed partition and its whole split
// tree together, minimising sum over widths b of lambda_b * E_b instead of
// fixing the optimal seed and splitting greedily. Greedy keeps the seed width
// optimal but costs the next widths 5-25% of squared error on short rows
// (ANYPREC.md §7); trading a little seed error buys most of that back.
//
// Clusters stay contiguous ranges of the sorted distinct values, so a tree is
// a set of nested cut positions. With G_top = 0 and, for seed <= b < top,
//   G_b(i, j) = min over t of H_{b+1}(i, t) + H_{b+1}(t, j),
//   H_b(i, j) = lambda_b * c(i, j) + G_b(i, j),
// G_b(i, j) is the least weighted error of widths b+1..top inside a b-bit
// cluster [i, j). The 1-D k-means range cost c obeys the quadrangle
// inequality, sums and (min,+) products of such matrices keep it, so the best
// split point is monotone (Knuth): opt(i, j-1) <= opt(i, j) <= opt(i+1, j),
// and every table costs O(P^2) for P cut points. The seed partition is then a
// k-way partition with cell cost lambda_seed * c + G_seed, solved by the same
// divide-and-conquer programme as the greedy seed.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ap::quant {

class JointNesting {
public:
    // p0/p1/p2: prefix sums of s, s*v, s*v^2 over the row's distinct values
    // (m + 1 entries). cuts: allowed cut positions, increasing, 0 .. m. Widths
    // seed_bits..top_bits are optimised jointly with weights lambda[b] for
    // b > seed_bits (lambda[seed_bits] is chosen per call of seed_partition).
    void build(const double* p0, const double* p1, const double* p2, const std::vector<int>& cuts, int seed_bits,
               int top_bits, const std::array<double, 9>& lambda);

    // Seed partition (cut indices, 2^seed + 1 of them) minimising
    // lambda_seed * E_seed + G_seed summed over the seed clusters; returns E_seed.
    double seed_partition(double lambda_seed, std::vector<int>& seed);
    // E_seed and sum of G_seed of a seed partition given as cut indices.
    double seed_error(const std::vector<int>& seed) const;
    double subtree_error(const std::vector<int>& seed) const;
    // Least weighted error of widths b+1..top inside the b-bit cluster
    // [cuts[i], cuts[j]) (b = seed..top; 0 at top).
    double subtree(int b, int i, int j) const;

    // The optimal tree below `seed`: bounds[b] holds 2^b + 1 value positions
    // (not cut indices) for b = seed..top; children of cluster c are 2c, 2c+1.
    void expand(const std::vector<int>& seed, std::array<std::vector<int>, 9>& bounds) const;


private:
    double range_cost(int a, int b) const;  // on value positions
    double cell(int i, int j) const { return lam_seed_ * C_[idx(i, j)] + G_seed_[idx(i, j)]; }
    std::size_t idx(int i, int j) const { return std::size_t(i) * P_ + j; }
    // G_b and its split points from H_{b+1}; writes H_b (b > seed) or G_seed.
    void split_table(int b);

    const double *p0_ = nullptr, *p1_ = nullptr, *p2_ = nullptr;
    std::vector<int> cuts_;
    int P_ = 0, seed_ = 0, top_ = 0;
    double lam_seed_ = 0;
    std::array<double, 9> lambda_{};
    // P x P, row i = interval start, only j > i written: the range costs,
    // H_b = lambda_b c + G_b for b > seed, and G_seed.
    std::vector<double> C_, G_seed_;
    std::array<std::vector<double>, 9> H_;
    std::array<std::vector<uint16_t>, 9> opt_;  // best split of a b-bit cluster
    std::vector<double> prev_, cur_;
    std::vector<int> arg_;
};

}  // namespace ap::quant
