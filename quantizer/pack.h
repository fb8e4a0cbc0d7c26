// Turns clustered rows into the kernels' storage (ApWeight): parent-width
// bitplanes, MSB first, and per-row affine-int8 tables for every width.
#pragma once
#include "ap_weight.h"
#include "cluster.h"

#include <array>

namespace ap::quant {

// Per-width error the int8 tables add: sum over clusters of mass * (stored - exact)^2,
// which is exactly the increase of the row's weighted squared error because every
// exact table value is its cluster's weighted mean.
using TableError = std::array<double, kern::kMaxBits + 1>;

// An ApWeight with zeroed planes and tables for widths lo_bits..hi_bits.
ApWeight make_ap_weight(int rows, int cols, int lo_bits, int hi_bits);

// Stores one table of n values as int8 codes with value = offset + scale * code
// (codes in -127..127). The codes start from mapping the table's range onto
// -127..127, then {scale, offset} are refit by mass-weighted least squares and
// the codes re-rounded while that lowers the weighted error (so the result is
// never worse than the plain range map). Returns the weighted error.
double fit_int8_table(const float* table, const double* mass, int n, int8_t* codes, float* scale, float* offset);

// Writes row r of w from q (q.lo_bits/hi_bits and the row length must match w).
// Rows are independent, so threads may pack different rows at once.
// If `added` is set, it receives the int8 error of every width.
void pack_row(ApWeight& w, int r, const RowQuant& q, TableError* added = nullptr);

}  // namespace ap::quant
