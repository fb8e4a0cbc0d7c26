// Pieces of the contiguous-partition programmes shared by the optimal seed
// (cluster.cpp) and the joint seed (joint_nesting.cpp).
#pragma once
#include <algorithm>
#include <limits>

namespace ap::quant {

// Weighted squared error of values [a, b) about their weighted mean, from
// prefix sums of s, s*v and s*v^2: O(1) whatever the range holds.
inline double range_sq_error(const double* p0, const double* p1, const double* p2, int a, int b) {
    const double s0 = p0[b] - p0[a];
    if (b - a < 2 || s0 <= 0) return 0.0;
    const double s1 = p1[b] - p1[a];
    const double c = (p2[b] - p2[a]) - s1 * s1 / s0;
    return c > 0 ? c : 0.0;
}

// cur[i] = min over t in [tlo, min(thi, i - 1)] of prev[t] + cell(t, i) for i
// in [ilo, ihi], and arg[i] = the best t. The best t never decreases with i
// when the cell cost obeys the quadrangle inequality (1-D k-means costs do),
// so the middle i's argmin bounds both halves: O(n log n) cells a layer.
template <class Cell>
void monotone_layer(const double* prev, double* cur, int* arg, int ilo, int ihi, int tlo, int thi, const Cell& cell) {
    while (ilo <= ihi) {
        const int mid = ilo + (ihi - ilo) / 2;
        double best = std::numeric_limits<double>::infinity();
        int bt = tlo;
        const int tend = std::min(thi, mid - 1);
        for (int t = tlo; t <= tend; ++t) {
            const double v = prev[t] + cell(t, mid);
            if (v < best) { best = v; bt = t; }
        }
        cur[mid] = best;
        arg[mid] = bt;
        // Recurse into the smaller half, loop on the other to bound the stack.
        if (mid - ilo < ihi - mid) {
            monotone_layer(prev, cur, arg, ilo, mid - 1, tlo, bt, cell);
            ilo = mid + 1;
            tlo = bt;
        } else {
            monotone_layer(prev, cur, arg, mid + 1, ihi, bt, thi, cell);
            ihi = mid - 1;
            thi = bt;
        }
    }
}

}  // namespace ap::quant
