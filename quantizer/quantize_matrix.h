// One weight matrix -> ApWeight: rows clustered in parallel (anyprec, rtn or
// kmeans), packed into bitplanes and int8 tables, with error statistics.
#pragma once
#include "ap_weight.h"
#include "thread_pool.h"

#include <array>
#include <functional>
#include <memory>
#include <string>

namespace ap {

struct MatrixJob {
    std::string name;              // for error messages
    const float* w = nullptr;      // [rows][cols] row-major fp32
    int rows = 0, cols = 0;
    const float* col_sens = nullptr;  // per input column sensitivity (null: unweighted)
    std::string method = "anyprec";   // "anyprec", "rtn", "kmeans"
    int lo_bits = 3, hi_bits = 8;     // seed..parent, or bits..bits for the baselines
    int anchor_bits = 0;              // anyprec: the width clustered optimally (0 = seed)
    bool joint = false;               // anyprec: joint nesting (cluster.h JointOptions)
    double seed_slack = 0.01;         // anyprec joint: allowed seed-width error above the optimal seed's
};

// Sensitivity-weighted squared error summed over rows, per width: with the
// exact (float) tables and the extra part the int8 tables add.
struct MatrixStats {
    std::array<double, kern::kMaxBits + 1> err{}, int8_err{};
    int lloyd_rows = 0;  // kmeans rows that used the Lloyd fallback
};

// Calls on_rows(rows_done) between batches of rows; returning false cancels,
// and then nullptr is returned. Throws ap::Error naming the tensor if it holds
// non-finite weights.
std::shared_ptr<ApWeight> quantize_matrix(const MatrixJob& job, ThreadPool& pool, MatrixStats* stats,
                                          const std::function<bool(int rows_done)>& on_rows);

}  // namespace ap
