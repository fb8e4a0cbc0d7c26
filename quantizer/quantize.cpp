// The quantization job: validate, load the source, calibrate, quantize every
// matrix row-parallel, write the checkpoint. Nothing touches `output` before
// the final write, so failure or cancellation leaves nothing behind.
#include "quantize.h"

#include "anyprec_checkpoint.h"
#include "calibration.h"
#include "error.h"
#include "model_assembly.h"
#include "quantize_matrix.h"
#include "sha256.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace ap {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMinCalibBytes = 1024;
constexpr int kMinCalibTokens = 64;
constexpr int kMaxCalibTokens = 1 << 24;

bool needs_calibration(const QuantizeOptions& o) { return o.method != "rtn" && o.sensitivity == "act"; }

std::string calib_path_of(const QuantizeOptions& o) { return o.calib_path.empty() ? default_calib_text() : o.calib_path; }

// Can a file be created next to `output`? Probed with a unique name, removed at once.
void check_output_writable(const std::string& output) {
    if (output.empty()) throw Error("no output path given");
    std::error_code ec;
    if (fs::is_directory(output, ec)) throw file_error(output, "output path is a directory");
    fs::path dir = fs::path(output).parent_path();
    if (dir.empty()) dir = ".";
    if (!fs::is_directory(dir, ec)) throw file_error(output, "output directory " + dir.string() + " does not exist");
    std::string probe = (dir / ".anyprec-write-test-XXXXXX").string();
    const int fd = mkstemp(probe.data());
    if (fd < 0) throw file_error(output, "output directory " + dir.string() + " is not writable");
    close(fd);
    fs::remove(probe, ec);
}

// Throttled progress reports; callers supply the ETA (negative = unknown).
class Reporter {
public:
    explicit Reporter(const std::function<void(const QuantizeProgress&)>& fn) : fn_(fn), t0_(Clock::now()) {}
    void set_steps(int n) { p_.n_steps = n; }
    double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
    void operator()(const std::string& stage, int step, const std::string& tensor, double fraction, double eta_s,
                    bool force = false) {
        if (!fn_) return;
        const auto now = Clock::now();
        const bool changed = stage != p_.stage || step != p_.step || tensor != p_.tensor;
        if (!changed && !force && now - last_ < std::chrono::milliseconds(250)) return;
        last_ = now;
        p_.stage = stage;
        p_.step = step;
        p_.tensor = tensor;
        p_.fraction = std::clamp(fraction, p_.fraction, 1.0);  // never moves backwards
        p_.elapsed_s = elapsed();
        p_.eta_s = eta_s;
        fn_(p_);
    }

private:
    const std::function<void(const QuantizeProgress&)>& fn_;
    QuantizeProgress p_;
    Clock::time_point t0_, last_{};
};

// Rough cost model for the progress bar and the ETA before a stage has been
// timed: clustering + packing costs about this much per weight and thread
// (SmolLM2 rows, 3..8 bits), and calibration costs as much as clustering the
// whole model once per this many tokens (AVX2 kernels, SmolLM2; scalar
// kernels manage about 300). Only the bar's pace depends on these.
constexpr double kClusterSecondsPerWeight = 2.5e-7;
constexpr double kCalibTokensPerModelClustering = 2000;
// Writing the checkpoint (planes, tables, hashing) runs at about this many bytes a second.
constexpr double kWriteBytesPerSecond = 150e6;

// Clustering work of a matrix: a row of m distinct values costs about m log m
// (sorting, the seed's divide-and-conquer programme, the splits), so wide
// rows (down_proj, the embedding) cost more per weight than narrow ones; an
// ETA from weights alone ran ahead of the clock.
double cluster_work(const Linear& l) { return double(l.rows) * l.cols * std::log2(std::max(2, l.cols)); }

struct Tensor {
    Linear* lin;
    std::string sens_from;  // layer whose input statistics weight this matrix ("" = unweighted)
};

}  // namespace

void validate_quantize_options(const QuantizeOptions& o) {
    std::error_code ec;
    if (o.source.empty()) throw Error("no source model given");
    if (!fs::exists(o.source, ec)) throw file_error(o.source, "source model not found");
    if (o.method != "anyprec" && o.method != "rtn" && o.method != "kmeans" && o.method != "lloyd")
        throw Error("method '" + o.method + "' is unknown (use anyprec, rtn, kmeans or lloyd)");
    if (o.method == "anyprec") {
        if (o.seed_bits < kern::kMinBits) throw Error("seed width " + std::to_string(o.seed_bits) + " is below 2 bits");
        if (o.parent_bits > kern::kMaxBits)
            throw Error("parent width " + std::to_string(o.parent_bits) + " is above 8 bits");
        if (o.anchor_bits != 0 && (o.anchor_bits < o.seed_bits || o.anchor_bits > o.parent_bits))
            throw Error("anchor width " + std::to_string(o.anchor_bits) + " is outside the seed..parent widths " +
                        std::to_string(o.seed_bits) + ".." + std::to_string(o.parent_bits));
        if (o.seed_bits > o.parent_bits)
            throw Error("seed width " + std::to_string(o.seed_bits) + " is larger than the parent width " +
                        std::to_string(o.parent_bits));
        if (o.nesting != "greedy" && o.nesting != "joint")
            throw Error("nesting '" + o.nesting + "' is unknown (use greedy or joint)");
        if (!(o.seed_slack >= 0 && o.seed_slack <= 10))
            throw Error("seed slack " + std::to_string(o.seed_slack) + " is outside 0..10");
        if (o.nesting == "joint" && o.anchor_bits != 0 && o.anchor_bits != o.seed_bits)
            throw Error("--anchor-bits works with greedy nesting only (joint nesting trades the seed's error itself)");
        if (o.head_min_bits != 0 && (o.head_min_bits < o.seed_bits || o.head_min_bits > o.parent_bits))
            throw Error("head floor " + std::to_string(o.head_min_bits) + " is outside the seed..parent widths " +
                        std::to_string(o.seed_bits) + ".." + std::to_string(o.parent_bits));
    } else if (o.bits < kern::kMinBits || o.bits > kern::kMaxBits) {
        throw Error("width " + std::to_string(o.bits) + " for " + o.method + " is outside 2..8 bits");
    }
    if (o.sensitivity != "act" && o.sensitivity != "none")
        throw Error("sensitivity '" + o.sensitivity + "' is unknown (use act or none)");
    if (o.threads < 0) throw Error("thread count " + std::to_string(o.threads) + " is negative");
    if (needs_calibration(o)) {
        const std::string calib = calib_path_of(o);
        if (!fs::is_regular_file(calib, ec))
            throw file_error(calib, o.calib_path.empty() ? "default calibration text not found (run packaging/setup.sh)"
                                                         : "calibration text not found");
        const uint64_t size = fs::file_size(calib, ec);
        if (ec || size < kMinCalibBytes)
            throw file_error(calib, "calibration text too short (" + std::to_string(ec ? 0 : size) +
                                        " bytes; need at least " + std::to_string(kMinCalibBytes) + ")");
        if (o.calib_tokens < kMinCalibTokens || o.calib_tokens > kMaxCalibTokens)
            throw Error("calibration token count " + std::to_string(o.calib_tokens) + " is outside " +
                        std::to_string(kMinCalibTokens) + ".." + std::to_string(kMaxCalibTokens));
    }
    check_output_writable(o.output);
    if (fs::exists(o.output, ec) && fs::equivalent(o.output, o.source, ec))
        throw file_error(o.output, "output would overwrite the source model");
}

QuantizeResult quantize_model(const QuantizeOptions& o, const std::function<void(const QuantizeProgress&)>& progress,
                              const std::atomic<bool>* cancel) {
    validate_quantize_options(o);
    QuantizeResult res;
    res.output = o.output;
    auto cancelled = [&] { return cancel && cancel->load(); };
    Reporter rep(progress);
    auto stop = [&] {
        res.cancelled = true;
        res.seconds = rep.elapsed();
        return res;
    };
    const bool calibrate = needs_calibration(o);
    const int lo = o.method == "anyprec" ? o.seed_bits : o.bits;
    const int hi = o.method == "anyprec" ? o.parent_bits : o.bits;

    rep("loading", 0, o.source, 0.0, -1, true);
    std::unique_ptr<Model> m;
    try {
        m = load_model(o.source, [&](double, const std::string&) { return !cancelled(); });
    } catch (const Error&) {
        if (cancelled()) return stop();
        throw;
    }
    if (m->any_precision() || m->embed.quantized())
        throw file_error(o.source, "is already an any-precision checkpoint; quantize its unquantized source instead");
    const std::string source_sha = sha256_path(o.source);
    if (cancelled()) return stop();

    // What gets quantized, and whose input statistics weight it. The embedding
    // is a lookup with no input of its own: tied, it is also the head and uses
    // the head's statistics (same name); untied, it is clustered unweighted.
    std::vector<Tensor> tensors;
    for (LayerWeights& L : m->layers)
        for (Linear* l : L.projections()) tensors.push_back({l, l->name});
    if (o.quantize_embeddings) {
        tensors.push_back({&m->embed, m->cfg.tied_embeddings ? m->embed.name : ""});
        if (!m->cfg.tied_embeddings) tensors.push_back({&m->head, m->head.name});
    }
    if (!calibrate)
        for (Tensor& t : tensors) t.sens_from.clear();

    rep.set_steps(int(tensors.size()));
    double total_elems = 0, total_work = 0, done_work = 0;
    for (const Tensor& t : tensors) {
        total_elems += double(t.lin->rows) * t.lin->cols;
        total_work += cluster_work(*t.lin);
    }
    ThreadPool pool(o.threads);
    const double quant_est_s = total_elems * kClusterSecondsPerWeight / pool.size();
    // Planes at the parent width plus a table per width and row, written and hashed after the last tensor.
    const double write_est_s = total_elems * (hi / 8.0 + 0.15) / kWriteBytesPerSecond;
    const double calib_weight = calibrate ? std::min(o.calib_tokens, kMaxCalibTokens) / kCalibTokensPerModelClustering : 0;
    const double write_share = 0.03;
    const double calib_share = (1 - write_share) * calib_weight / (calib_weight + 1);
    const double quant_share = 1.0 - calib_share - write_share;

    std::string calib_file, calib_sha;
    int calib_used = 0;
    ActivationStats stats;
    if (calibrate) {
        const std::string path = calib_path_of(o);
        rep("calibrating", 0, "", 0.0, -1, true);
        const std::vector<int32_t> tokens = calibration_tokens(*m->tok, path, o.calib_tokens);
        const double t0 = rep.elapsed();
        const bool done = collect_activation_stats(*m, tokens, o.threads, stats, [&](double f) {
            const double el = rep.elapsed() - t0;
            rep("calibrating", 0, "", calib_share * f, f > 0.02 ? el / f * (1 - f) + quant_est_s + write_est_s : -1);
            return !cancelled();
        });
        if (!done) return stop();
        calib_file = fs::path(path).filename().string();
        calib_sha = sha256_path(path);
        calib_used = int(tokens.size());
    }

    CheckpointContents c;
    const double quant_t0 = rep.elapsed();
    for (size_t i = 0; i < tensors.size(); ++i) {
        Linear& l = *tensors[i].lin;
        if (cancelled()) return stop();
        std::vector<float> sens;
        if (!tensors[i].sens_from.empty()) {
            sens = stats.mean_sq(tensors[i].sens_from);
            if (sens.empty() || int(sens.size()) != l.cols)
                throw Error("calibration recorded no input statistics for " + tensors[i].sens_from);
        }
        if (!l.has_dense()) throw file_error(o.source, "tensor " + l.name + " has no weights");
        const std::vector<float> w32 = l.dense_f32();  // one matrix at a time in fp32 (16-bit sources)
        MatrixJob job;
        job.name = l.name;
        job.w = w32.data();
        job.rows = l.rows;
        job.cols = l.cols;
        job.col_sens = sens.empty() ? nullptr : sens.data();
        job.method = o.method;
        job.lo_bits = lo;
        job.hi_bits = hi;
        job.anchor_bits = o.method == "anyprec" ? o.anchor_bits : 0;
        job.joint = o.method == "anyprec" && o.nesting == "joint";
        job.seed_slack = o.seed_slack;
        const int step = int(i) + 1;
        MatrixStats ms;
        auto w = quantize_matrix(job, pool, &ms, [&](int rows_done) {
            const double f = (done_work + cluster_work(l) * rows_done / std::max(1, l.rows)) / total_work;
            const double el = rep.elapsed() - quant_t0;
            // Measured rate once a few percent is done, the cost model before; then the write.
            const double eta = (f > 0.03 ? el / f * (1 - f) : quant_est_s * (1 - f)) + write_est_s;
            rep("quantizing", step, l.name, calib_share + quant_share * f, eta);
            return !cancelled();
        });
        if (!w) return stop();
        for (int b = lo; b <= hi; ++b) {
            res.weighted_error[b] += ms.err[b];
            res.int8_table_error[b] += ms.int8_err[b];
        }
        c.quantized[l.name] = std::move(w);
        done_work += cluster_work(l);
        l.release_dense();
    }

    // Everything not quantized is stored dense under its Hugging Face name.
    const int E = m->cfg.n_embd;
    auto add_dense = [&](const std::string& name, std::vector<float> v, std::vector<int64_t> shape) {
        c.dense_shapes[name] = std::move(shape);
        c.dense[name] = std::move(v);
    };
    add_dense("model.norm.weight", m->final_norm, {E});
    // Norms and the architecture's other vectors (biases, q/k norms), kept in fp32.
    for (int i = 0; i < int(m->layers.size()); ++i)
        for (const LayerVectorField& f : kLayerVectors) {
            const std::vector<float>& v = m->layers[i].*f.field;
            if (!v.empty()) add_dense("model.layers." + std::to_string(i) + "." + f.suffix, v, {int64_t(v.size())});
        }
    if (!o.quantize_embeddings) {
        add_dense(m->embed.name, m->embed.dense_f32(), {m->embed.rows, m->embed.cols});
        if (!m->cfg.tied_embeddings) add_dense(m->head.name, m->head.dense_f32(), {m->head.rows, m->head.cols});
    }
    c.cfg = m->cfg;
    c.tokenizer = m->tok->data();
    c.chat_template = m->chat_template_text;
    c.quant.any_precision = true;
    c.quant.seed_bits = lo;
    c.quant.anchor_bits = o.method == "anyprec" ? (o.anchor_bits ? o.anchor_bits : o.seed_bits) : lo;
    c.quant.head_min_bits = o.method == "anyprec" ? o.head_min_bits : 0;
    c.quant.nesting = o.method == "anyprec" ? o.nesting : "";
    c.quant.seed_slack = o.method == "anyprec" && o.nesting == "joint" ? o.seed_slack : 0.0;
    c.quant.parent_bits = hi;
    c.quant.method = o.method;
    c.quant.sensitivity = calibrate ? "act" : "none";
    c.quant.source_file = fs::path(o.source).filename().string();
    if (c.quant.source_file.empty()) c.quant.source_file = fs::path(o.source).parent_path().filename().string();
    c.quant.source_sha256 = source_sha;
    c.quant.calib_file = calib_file;
    c.quant.calib_sha256 = calib_sha;
    c.quant.calib_tokens = calib_used;
    c.quant.tool_version = ANYPREC_VERSION;

    if (cancelled()) return stop();
    rep("writing", int(tensors.size()), o.output, 1.0 - write_share, write_est_s, true);
    try {
        write_checkpoint(o.output, c, cancel);  // Ctrl+C while writing still cancels
    } catch (const Cancelled&) {
        return stop();
    }
    std::error_code ec;
    res.bytes = fs::file_size(o.output, ec);
    res.seconds = rep.elapsed();
    rep("done", int(tensors.size()), o.output, 1.0, 0, true);
    return res;
}

}  // namespace ap
