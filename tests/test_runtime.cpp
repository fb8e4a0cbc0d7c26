// Any-precision runtime on a tiny quantized model: every width served from
// one load, fast kernels against the scalar reference and against a dense
// model dequantized at that width, and thread counts that agree exactly.
#include "bench.h"
#include "error.h"
#include "kernels.h"
#include "model.h"
#include "quantize.h"
#include "session.h"
#include "test_util.h"
#include "tiny_model.h"

#include <QtTest>
#include <cmath>

using namespace ap;

class TestRuntime : public QObject {
    Q_OBJECT
    std::string dir_, ckpt_;
    std::vector<int32_t> toks_;

    std::vector<float> logits(const Model& m, int bits, kern::KernelChoice k, int threads, int code_copy_from = 0) {
        SessionOptions o;
        o.n_ctx = 64;
        o.threads = threads;
        o.batch = 8;  // several chunks: exercises the batched (tile) path and n = 1 leftovers
        o.kernels = k;
        o.code_copy_from = code_copy_from;
        Session s(m, o);
        std::vector<float> lg;
        s.eval(toks_.data(), int(toks_.size()), bits, &lg, true);
        return lg;
    }
    std::vector<int32_t> greedy(const Model& m, int bits, kern::KernelChoice k, int threads) {
        SessionOptions o;
        o.n_ctx = 64;
        o.threads = threads;
        o.kernels = k;
        Session s(m, o);
        GenerateRequest r;
        r.prompt = {toks_.begin(), toks_.begin() + 4};
        r.max_tokens = 32;
        r.bits = bits;
        r.sampling.temperature = 0;
        r.ignore_eos = true;
        return s.generate(r).tokens;
    }
    static double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
        double d = 0, mx = 0;
        for (size_t i = 0; i < a.size(); ++i) {
            d = std::max(d, double(std::fabs(a[i] - b[i])));
            mx = std::max(mx, double(std::fabs(b[i])));
        }
        return d / mx;
    }

private slots:
    void initTestCase() {
        dir_ = aptest::temp_dir() + "/runtime";
        std::filesystem::create_directories(dir_);
        // 72-wide rows and a 100-wide MLP: neither is a multiple of 32 or of a SIMD width.
        auto tiny = aptest::make_tiny_model(5, true, 72, 4, 2, 100);
        aptest::write_tiny_gguf(tiny, dir_ + "/tiny.gguf");
        std::string text;
        for (int i = 0; text.size() < 6000; ++i) text += "the theory of the thing " + std::to_string(i) + ". ";
        aptest::write_text(dir_ + "/calib.txt", text);
        QuantizeOptions q;
        q.source = dir_ + "/tiny.gguf";
        q.output = ckpt_ = dir_ + "/tiny.anyprec.safetensors";
        q.calib_path = dir_ + "/calib.txt";
        q.calib_tokens = 512;
        quantize_model(q);
        for (int i = 0; i < 20; ++i) toks_.push_back(int32_t((i * 53 + 7) % 256));
    }
    void cleanupTestCase() { std::filesystem::remove_all(dir_); }

    // Bench figures are true medians: an even count averages the middle two.
    void bench_median_is_the_middle() {
        QCOMPARE(ap::median({}), 0.0);
        QCOMPARE(ap::median({5.0}), 5.0);
        QCOMPARE(ap::median({3.0, 1.0}), 2.0);
        QCOMPARE(ap::median({9.0, 1.0, 4.0}), 4.0);
        QCOMPARE(ap::median({8.0, 1.0, 4.0, 2.0}), 3.0);
    }

    void serves_every_width_from_one_load() {
        auto m = load_model(ckpt_);
        QVERIFY(m->any_precision());
        QCOMPARE(m->widths(), (std::vector<int>{3, 4, 5, 6, 7, 8}));
        const void* planes = m->layers[0].wq.ap->planes.data();
        const auto mem = weight_memory(*m);
        std::vector<std::vector<float>> per_width;
        for (int b = 3; b <= 8; ++b) per_width.push_back(logits(*m, b, kern::KernelChoice::Auto, 2));
        // Same storage afterwards: switching width copied or reloaded nothing.
        QCOMPARE(static_cast<const void*>(m->layers[0].wq.ap->planes.data()), planes);
        QCOMPARE(weight_memory(*m).weight_total(), mem.weight_total());
        // Widths differ from each other, and error against 8 bits shrinks as width grows.
        double prev = 1e30;
        for (int b = 3; b < 8; ++b) {
            const double d = rel_diff(per_width[b - 3], per_width[5]);
            QVERIFY2(d > 0, qPrintable(QString("width %1 equals width 8").arg(b)));
            QVERIFY2(d < prev * 1.5, qPrintable(QString("width %1: %2 after %3").arg(b).arg(d).arg(prev)));
            prev = d;
        }
        // Bits per weight (tables included) grow with width; bytes read per token too.
        for (int b = 3; b < 8; ++b) {
            QVERIFY(bits_per_weight(*m, b) < bits_per_weight(*m, b + 1));
            QVERIFY(bytes_per_token(*m, b) < bytes_per_token(*m, b + 1));
        }
    }

    // Code copies (SessionOptions::code_copy_from) change speed, not results:
    // identical logits at the widths they cover, one copy per matrix, and a
    // width change rebuilds them (a session stepping 6 -> 8 -> 6 -> 5).
    void code_copies_give_identical_results() {
        if (!kern::cpu_has_avx2_fma()) QSKIP("no AVX2 on this CPU: no code copies");
        auto m = load_model(ckpt_);
        for (auto kc : {kern::KernelChoice::Avx2, kern::KernelChoice::Auto})  // Auto: AVX-512's copies where the CPU has it
            for (int b = 4; b <= 8; ++b) QCOMPARE(logits(*m, b, kc, 2, kCodeCopyAlways), logits(*m, b, kc, 2));
        SessionOptions o;
        o.n_ctx = 64;
        o.threads = 2;
        o.kernels = kern::KernelChoice::Avx2;
        o.code_copy_from = 6;
        Session s(*m, o);
        QCOMPARE(s.code_copy_bytes(), uint64_t(0));
        std::vector<float> lg;
        for (int b : {6, 8, 6, 5}) {
            s.reset();
            s.eval(toks_.data(), int(toks_.size()), b, &lg, true);
            QCOMPARE(lg, logits(*m, b, kern::KernelChoice::Avx2, 2));
        }
        uint64_t want = 0;
        for (const auto& L : m->layers)
            for (const Linear* p : L.projections()) want += s.kernels().expand_bytes(p->rows, p->cols, 6, s.kernels().expand_layout);  // copies stay at the last copied width
        if (m->output().quantized()) want += s.kernels().expand_bytes(m->output().rows, m->output().cols, 6, s.kernels().expand_layout);
        QCOMPARE(s.code_copy_bytes(), want);
        // Bytes per token count the copies where they serve: fewer at 8 bits (no tables), unchanged at 5.
        QVERIFY(s.bytes_per_token(8) < bytes_per_token(*m, 8));
        QCOMPARE(s.bytes_per_token(5), bytes_per_token(*m, 5));
        // Auto, the default: from the set's copy_pays_from where the kernel
        // set keeps copies and all of them fit in the budget (a tiny model's always do).
        SessionOptions a;
        QCOMPARE(a.code_copy_from, kCodeCopyAuto);
        a.n_ctx = 64;
        a.kernels = kern::KernelChoice::Avx2;
        QVERIFY(code_copy_budget() > want);
        Session sa(*m, a);
        QCOMPARE(sa.code_copy_from(), sa.kernels().copy_pays_from);
        QVERIFY(sa.code_copy_from() >= kern::kMinBits);
        QVERIFY(sa.code_copy_max_bytes() >= want);
        // Auto times each width on its first use, planes against copies (at
        // 6 bits in both of plain AVX2's forms, indices and codes):
        // whichever wins, the logits are those without copies, and a width
        // where the planes won counts no copy in its bytes per token.
        for (int b : {8, 6, 4, 6}) {
            const bool again = sa.code_copy_timing(b).timed;
            QVERIFY(again == (b == 6 && sa.code_copy_timing(4).timed));
            sa.reset();
            sa.eval(toks_.data(), int(toks_.size()), b, &lg, true);
            QCOMPARE(lg, logits(*m, b, kern::KernelChoice::Avx2, 2));
            const CopyTiming t = sa.code_copy_timing(b);
            QVERIFY(t.timed && t.planes_s > 0 && t.copies_s > 0);
            QCOMPARE(t.alt_s > 0, b == 6);
            if (!t.copies_win()) QCOMPARE(sa.bytes_per_token(b), bytes_per_token(*m, b));
            else QVERIFY(sa.code_copy_bytes() > 0);
        }
        QVERIFY(!sa.code_copy_timing(7).timed);
        QCOMPARE(sa.code_copy_share(), 1.0);
        // A budget below what all copies take: the largest matrices that fit
        // keep copies, the others read the planes; results are unchanged.
        const uint64_t all = sa.code_copy_max_bytes();
        a.code_copy_budget = all / 2;
        Session sp(*m, a);
        QCOMPARE(sp.code_copy_from(), sp.kernels().copy_pays_from);
        QVERIFY(sp.code_copy_max_bytes() > 0 && sp.code_copy_max_bytes() <= all / 2);
        QVERIFY(sp.code_copy_share() > 0 && sp.code_copy_share() < 1);
        for (int b : {8, 6}) {
            sp.reset();
            sp.eval(toks_.data(), int(toks_.size()), b, &lg, true);
            QCOMPARE(lg, logits(*m, b, kern::KernelChoice::Avx2, 2));
            if (sp.code_copy_timing(b).copies_win()) {  // copies serve the chosen matrices only: between none and all
                QVERIFY(sp.bytes_per_token(b) != bytes_per_token(*m, b));
                QVERIFY(sp.code_copy_bytes() > 0 && sp.code_copy_bytes() <= sp.code_copy_max_bytes());
            }
        }
        // A budget below every matrix's copy: none.
        a.code_copy_budget = 1;
        Session s0(*m, a);
        QCOMPARE(s0.code_copy_from(), 0);
        QCOMPARE(s0.code_copy_max_bytes(), uint64_t(0));
        QCOMPARE(s0.code_copy_share(), 0.0);
        a.code_copy_budget = 0;
        a.kernels = kern::KernelChoice::Scalar;  // no copy route
        Session sn(*m, a);
        QCOMPARE(sn.code_copy_from(), 0);
        QCOMPARE(sn.code_copy_max_bytes(), uint64_t(0));
    }

    void fast_kernels_match_scalar_reference() {
        if (!kern::cpu_has_avx2_fma()) QSKIP("no AVX2 on this CPU: only the scalar kernels exist");
        auto m = load_model(ckpt_);
        for (int b = 3; b <= 8; ++b) {
            const auto fast = logits(*m, b, kern::KernelChoice::Avx2, 2);
            const auto ref = logits(*m, b, kern::KernelChoice::Scalar, 1);
            // The AVX2 kernels may quantize activations to int8 per 32-block
            // (error ~ 1/254 of the block's largest value per product, mostly
            // averaging out); through two layers that stays well under 2%.
            const double d = rel_diff(fast, ref);
            QVERIFY2(d < 2e-2, qPrintable(QString("width %1: relative logit error %2").arg(b).arg(d)));
            QCOMPARE(greedy(*m, b, kern::KernelChoice::Avx2, 2), greedy(*m, b, kern::KernelChoice::Scalar, 1));
        }
    }

    void fast_path_matches_dequantized_dense_model() {
        auto m = load_model(ckpt_);
        for (int b : {3, 5, 8}) {
            // The reference: the same checkpoint with every matrix dequantized
            // at width b into ordinary dense weights.
            auto dense = load_model(ckpt_);
            const kern::KernelSet ks = kern::select_kernels(kern::KernelChoice::Scalar);
            auto densify = [&](Linear& l) {
                if (!l.quantized()) return;
                l.dense.resize(size_t(l.rows) * l.cols);
                ks.dequant_ap(l.ap->view(), b, 0, l.rows, l.dense.data());
                l.ap.reset();
            };
            densify(dense->embed);
            for (auto& L : dense->layers)
                for (Linear* l : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) densify(*l);
            dense->quant = QuantInfo{};
            const auto ref = logits(*dense, 0, kern::KernelChoice::Scalar, 1);
            const auto got = logits(*m, b, kern::KernelChoice::Auto, 2);
            const double d = rel_diff(got, ref);
            QVERIFY2(d < 2e-2, qPrintable(QString("width %1: relative logit error %2").arg(b).arg(d)));
            QCOMPARE(greedy(*m, b, kern::KernelChoice::Auto, 2), greedy(*dense, 0, kern::KernelChoice::Scalar, 1));
        }
    }

    // The embedding/head floor: layers at the served width, head at the floor;
    // widths at or above it unchanged; bytes counted at the head's width; the
    // quantizer's default travels in the checkpoint.
    void head_floor_serves_the_head_wider() {
        auto m = load_model(ckpt_);
        QCOMPARE(m->quant.head_min_bits, 0);
        const auto l3 = logits(*m, 3, kern::KernelChoice::Auto, 2), l6 = logits(*m, 6, kern::KernelChoice::Auto, 2);
        const double bpw3 = bits_per_weight(*m, 3), bpw6 = bits_per_weight(*m, 6);
        const uint64_t bpt3 = bytes_per_token(*m, 3);
        m->quant.head_min_bits = 6;
        QCOMPARE(m->head_bits(3), 6);
        QCOMPARE(m->head_bits(7), 7);
        QCOMPARE(m->head_bits(0), 0);
        QVERIFY(logits(*m, 3, kern::KernelChoice::Auto, 2) != l3);
        QVERIFY(logits(*m, 6, kern::KernelChoice::Auto, 2) == l6);
        QVERIFY(bits_per_weight(*m, 3) > bpw3);
        QCOMPARE(bits_per_weight(*m, 6), bpw6);
        QVERIFY(bytes_per_token(*m, 3) > bpt3);
        // From the quantizer, through the file.
        QuantizeOptions q;
        q.source = dir_ + "/tiny.gguf";
        q.output = dir_ + "/floor.anyprec.safetensors";
        q.calib_path = dir_ + "/calib.txt";
        q.calib_tokens = 256;
        q.head_min_bits = 5;
        quantize_model(q);
        QCOMPARE(load_model(q.output)->quant.head_min_bits, 5);
        q.head_min_bits = 9;
        QVERIFY_THROWS_EXCEPTION(ap::Error, quantize_model(q));
    }

    void thread_counts_agree_exactly() {
        auto m = load_model(ckpt_);
        for (int b : {3, 4, 8}) {
            const auto one = logits(*m, b, kern::KernelChoice::Auto, 1);
            for (int t : {2, 3, 5}) QVERIFY2(logits(*m, b, kern::KernelChoice::Auto, t) == one, qPrintable(QString("%1 threads, width %2").arg(t).arg(b)));
            QCOMPARE(greedy(*m, b, kern::KernelChoice::Auto, 3), greedy(*m, b, kern::KernelChoice::Auto, 1));
        }
    }

    void width_changes_mid_generation() {
        auto m = load_model(ckpt_);
        Session s(*m, SessionOptions{64, 2, 8});
        std::atomic<int> live{8};
        GenerateRequest r;
        r.prompt = {toks_.begin(), toks_.begin() + 4};
        r.max_tokens = 10;
        r.sampling.temperature = 0;
        r.ignore_eos = true;
        r.live_bits = &live;
        std::vector<int> used;
        s.generate(r, [&](const TokenEvent& ev) {
            used.push_back(ev.bits);
            if (ev.index == 3) live = 3;
        });
        QCOMPARE(used.size(), size_t(10));
        QCOMPARE(used[3], 8);
        QCOMPARE(used[4], 3);  // the very next token uses the new width
        QCOMPARE(used[9], 3);
    }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "test_runtime.moc"
