#include "bench.h"

#include "sampler.h"
#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <unistd.h>

namespace ap {

using Clock = std::chrono::steady_clock;

static std::vector<int32_t> fixed_tokens(const Model& m, int n) {
    // A fixed English passage, repeated: the same prompt for every width and run.
    static const char* passage =
        "The history of computing is a story of trading precision for speed. Early machines stored numbers in "
        "whatever width their designers could afford, and programmers learned to fit their problems into those "
        "narrow words. Today the same trade returns in language models, where each weight can be stored in a few "
        "bits and the whole network still speaks fluently. ";
    std::vector<int32_t> out;
    const auto& td = m.tok->data();
    if (td.add_bos && td.bos_id >= 0) out.push_back(td.bos_id);
    const auto piece = m.tok->encode(passage, false, false);
    while (int(out.size()) < n) out.insert(out.end(), piece.begin(), piece.end());
    out.resize(n);
    return out;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t h = v.size() / 2;
    return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

int bench_context(const BenchOptions& o) {
    return std::max({o.prompt_tokens, o.decode_after, o.long_after}) + o.decode_tokens + 64;
}

ForwardProfile profile_decode(Session& s, int bits, int tokens, int after, double* sample_s) {
    const Model& m = s.model();
    s.reset();
    std::vector<int32_t> prompt = fixed_tokens(m, after);
    std::vector<float> logits;
    s.eval(prompt.data(), int(prompt.size()), bits, &logits, false);
    s.clear_profile();
    double samp = 0;
    SamplingParams greedy;
    greedy.temperature = 0;
    greedy.repeat_penalty = 1;
    Sampler sampler(greedy);  // the generation path's own greedy pick
    const std::vector<int32_t> no_history;
    for (int i = 0; i < tokens; ++i) {
        auto t0 = Clock::now();
        int32_t id = sampler.sample(logits.data(), int(logits.size()), no_history);
        samp += std::chrono::duration<double>(Clock::now() - t0).count();
        s.eval(&id, 1, bits, &logits, false);
    }
    if (sample_s) *sample_s = samp;
    ForwardProfile p = s.profile();
    s.reset();
    return p;
}

namespace {
// One token's products: every weight matrix once at n = 1, on a fixed random input.
class GemvPass {
public:
    explicit GemvPass(Session& s) : s_(s) {
        const Model& m = s.model();
        for (const auto& L : m.layers)
            for (const Linear* l : L.projections()) mats_.push_back(l);
        mats_.push_back(&m.output());
        int max_dim = 0;
        for (auto* l : mats_) max_dim = std::max({max_dim, l->rows, l->cols});
        x_.resize(size_t(max_dim));
        y_.resize(size_t(max_dim));
        std::mt19937 rng(1);
        std::normal_distribution<float> nd(0.f, 1.f);
        for (auto& v : x_) v = nd(rng);
    }
    double seconds(int bits) {
        const auto t0 = Clock::now();
        for (auto* l : mats_) s_.matmul(*l, x_.data(), 1, y_.data(), bits);
        return std::chrono::duration<double>(Clock::now() - t0).count();
    }

private:
    Session& s_;
    std::vector<const Linear*> mats_;
    std::vector<float> x_, y_;
};
}  // namespace

double time_gemv_pass(Session& s, int bits, int reps) {
    GemvPass pass(s);
    pass.seconds(bits);  // warm-up: page in, settle the thread pool, (re)build code copies
    double best = 1e30;
    for (int r = 0; r < reps; ++r) best = std::min(best, pass.seconds(bits));
    return best;
}

// GEMV passes and streaming-read passes alternate, one of each per round,
// and each keeps its best: the two figures of a width's fraction then come
// from the same seconds of this VM, whose read bandwidth swung 23-40 GB/s
// from minute to minute. With the read passes all after the GEMV passes,
// the 1B model's fractions came out at 102-110% in some rounds and 82% in
// others. A read pass evicts the cache before the next GEMV pass, so a
// model whose weights fit in the cache (SmolLM2) is timed from memory here,
// as the fraction means, and not partly from the cache as in decode.
static void time_gemv_beside_reads(Session& s, int bits, const BenchOptions& o, WidthBench& w) {
    if (o.stream_bytes == 0) {
        w.gemv_s = time_gemv_pass(s, bits, o.gemv_reps);
        return;
    }
    GemvPass pass(s);
    pass.seconds(bits);  // warm-up: (re)builds this width's copies, settles the pool
    ReadProbe probe(s.kernels(), s.threads(), o.stream_bytes);  // freed before the resident set is read
    w.gemv_s = 1e30;
    for (int r = 0; r < std::max(1, o.gemv_reps); ++r) {
        w.gemv_s = std::min(w.gemv_s, pass.seconds(bits));
        w.stream_gbs = std::max(w.stream_gbs, probe.pass_gbs());
    }
}

// Widths are timed in rounds, every width once per round and the order
// reversed from one round to the next, so a busy minute of the machine
// falls on all of them alike: widths that read the same bytes (6..8 with a
// code copy) ran 3-5% apart one after another on this VM, in whatever
// order they came.
std::vector<WidthBench> bench_widths(Session& s, const std::vector<int>& widths, const BenchOptions& o) {
    const Model& m = s.model();
    std::vector<WidthBench> out(widths.size());
    std::vector<std::vector<double>> prompt_runs(widths.size()), decode_runs(widths.size()), long_runs(widths.size()),
        long_ratios(widths.size());
    GenerateRequest req;
    req.sampling.temperature = 0;
    req.sampling.repeat_penalty = 1;
    req.ignore_eos = true;
    size_t last = widths.size();  // the width the previous run used (none yet)
    for (int r = 0; r < std::max(1, o.reps); ++r)
        for (size_t n = 0; n < widths.size(); ++n) {
            const size_t i = r % 2 == 0 ? n : widths.size() - 1 - n;
            req.bits = widths[i];
            // The first products at another width (re)build its code copies (and
            // on Auto, the first time, time them against the planes): not part of a run.
            if (i != last) time_gemv_pass(s, widths[i], 0);
            last = i;
            // Prompt throughput: one prompt_tokens-long prompt from an empty cache.
            s.reset();
            req.prompt = fixed_tokens(m, o.prompt_tokens);
            req.max_tokens = 1;
            prompt_runs[i].push_back(s.generate(req).prompt_tok_s());
            // Decode throughput after a fixed prompt (short by default), and after the long one.
            req.max_tokens = o.decode_tokens + 1;
            auto decode_after = [&](int after) {
                s.reset();
                req.prompt = fixed_tokens(m, after);
                return s.generate(req).decode_tok_s();
            };
            if (o.long_after <= 0) {
                decode_runs[i].push_back(decode_after(o.decode_after));
                continue;
            }
            double short_tps, long_tps;
            if (r % 2 == 0) {
                short_tps = decode_after(o.decode_after);
                long_tps = decode_after(o.long_after);
            } else {
                long_tps = decode_after(o.long_after);
                short_tps = decode_after(o.decode_after);
            }
            decode_runs[i].push_back(short_tps);
            long_runs[i].push_back(long_tps);
            long_ratios[i].push_back(short_tps > 0 ? long_tps / short_tps : 0);
        }
    s.reset();
    for (size_t i = 0; i < widths.size(); ++i) {
        WidthBench& w = out[i];
        w.bits = m.resolve_bits(widths[i]);
        w.prompt_tok_s = median(prompt_runs[i]);
        w.decode_tok_s = median(decode_runs[i]);
        if (!long_runs[i].empty()) {
            w.long_decode_tok_s = median(long_runs[i]);
            w.long_ratio = median(long_ratios[i]);
        }
        time_gemv_beside_reads(s, widths[i], o, w);  // its warm-up pass rebuilds this width's copies
        w.bytes_per_token = s.bytes_per_token(widths[i]);  // after the runs: whether copies serve this width is timed on the first
        w.gemv_gbs = w.gemv_s > 0 ? w.bytes_per_token / w.gemv_s / 1e9 : 0;
        w.resident_bytes = resident_set_bytes();
    }
    return out;
}

WidthBench bench_width(Session& s, int bits, const BenchOptions& o) { return bench_widths(s, {bits}, o)[0]; }

struct ReadProbe::Impl {
    const kern::KernelSet& k;
    std::vector<float> buf;
    ThreadPool pool;
    std::vector<double> sink;
    Impl(const kern::KernelSet& ks, int threads, size_t bytes)
        : k(ks), buf(std::max<size_t>(bytes / sizeof(float), 4096), 1.0f), pool(threads), sink(size_t(pool.size()) * 8) {}
};

ReadProbe::ReadProbe(const kern::KernelSet& k, int threads, size_t bytes) : d_(std::make_unique<Impl>(k, threads, bytes)) {}
ReadProbe::~ReadProbe() = default;

double ReadProbe::pass_gbs() {
    const int blocks = int(d_->buf.size() / 4096);
    const auto t0 = Clock::now();
    d_->pool.parallel_for(blocks, 1, [&](int b, int e) {
        d_->sink[size_t(b % d_->pool.size()) * 8] += d_->k.sum_f32(d_->buf.data() + size_t(b) * 4096, size_t(e - b) * 4096);
    });
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    return double(blocks) * 4096 * sizeof(float) / sec / 1e9;
}

uint64_t resident_set_bytes() {
    std::ifstream in("/proc/self/statm");
    uint64_t size = 0, rss = 0;
    in >> size >> rss;
    return rss * uint64_t(sysconf(_SC_PAGESIZE));
}

}  // namespace ap
