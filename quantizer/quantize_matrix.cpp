// Rows are independent: each thread clusters and packs its own rows with its
// own clusterer; statistics are summed per chunk and merged under a lock.
#include "quantize_matrix.h"

#include "cluster.h"
#include "error.h"
#include "pack.h"

#include <cmath>
#include <mutex>

namespace ap {

std::shared_ptr<ApWeight> quantize_matrix(const MatrixJob& job, ThreadPool& pool, MatrixStats* stats,
                                          const std::function<bool(int)>& on_rows) {
    const size_t n = size_t(job.rows) * job.cols;
    for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(job.w[i]))
            throw Error("tensor " + job.name + ": non-finite weight at row " + std::to_string(i / job.cols) +
                        ", column " + std::to_string(i % job.cols));
    if (job.method != "anyprec" && job.method != "rtn" && job.method != "kmeans" && job.method != "lloyd")
        throw Error("unknown quantization method '" + job.method + "'");
    if (job.method != "anyprec" && job.lo_bits != job.hi_bits)
        throw Error("method " + job.method + " quantizes to one width");

    auto out = std::make_shared<ApWeight>(quant::make_ap_weight(job.rows, job.cols, job.lo_bits, job.hi_bits));
    MatrixStats total;
    std::mutex mu;
    // Batches keep cancellation and progress responsive on big matrices.
    const int batch = std::max(64, 32 * pool.size());
    for (int r0 = 0; r0 < job.rows; r0 += batch) {
        if (on_rows && !on_rows(r0)) return nullptr;
        const int r1 = std::min(job.rows, r0 + batch);
        pool.parallel_for(r1 - r0, 1, [&](int b, int e) {
            quant::RowClusterer rc;
            quant::RowQuant q;
            quant::JointOptions jopt;
            jopt.seed_slack = job.seed_slack;
            quant::TableError added;
            MatrixStats local;
            for (int r = r0 + b; r < r0 + e; ++r) {
                const float* w = job.w + size_t(r) * job.cols;
                if (job.method == "anyprec" && job.joint) rc.anyprec_joint(w, job.col_sens, job.cols, job.lo_bits, job.hi_bits, q, jopt);
                else if (job.method == "anyprec") rc.anyprec(w, job.col_sens, job.cols, job.lo_bits, job.hi_bits, q, job.anchor_bits);
                else if (job.method == "kmeans") rc.kmeans(w, job.col_sens, job.cols, job.lo_bits, q);
                else if (job.method == "lloyd") rc.lloyd(w, job.col_sens, job.cols, job.lo_bits, q, uint64_t(r) * 0x9E3779B97F4A7C15ull + 1);
                else rc.rtn(w, job.cols, job.lo_bits, q);
                if (job.method == "kmeans" && rc.last_used_lloyd()) ++local.lloyd_rows;
                quant::pack_row(*out, r, q, &added);
                for (int bits = job.lo_bits; bits <= job.hi_bits; ++bits) {
                    local.err[bits] += quant::weighted_sq_error(q, w, job.col_sens, job.cols, bits);
                    local.int8_err[bits] += added[bits];
                }
            }
            std::lock_guard<std::mutex> lk(mu);
            for (int bits = 0; bits <= kern::kMaxBits; ++bits) {
                total.err[bits] += local.err[bits];
                total.int8_err[bits] += local.int8_err[bits];
            }
            total.lloyd_rows += local.lloyd_rows;
        });
    }
    if (on_rows && !on_rows(job.rows)) return nullptr;
    if (stats) *stats = total;
    return out;
}

}  // namespace ap
