// Forward pass, generation and perplexity on a tiny random model written as
// GGUF and as a Hugging Face folder, against a plain scalar reference.
#include "error.h"
#include "model.h"
#include "session.h"
#include "test_util.h"
#include "tiny_model.h"

#include <QtTest>
#include <tuple>
#include <cmath>

using namespace ap;

class TestForward : public QObject {
    Q_OBJECT
    std::string dir_;
    aptest::TinyModel tiny_;
    std::vector<int32_t> toks_ = {5, 72, 101, 108, 256, 108, 111, 32, 259, 119, 111, 114, 108, 100, 33, 10, 1, 200};

    static float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
        float d = 0;
        for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
        return d;
    }
    std::vector<float> logits_of(const Model& m, int threads, int batch, KvCache kv = KvCache::F16) {
        SessionOptions o;
        o.threads = threads;
        o.batch = batch;
        o.n_ctx = 64;
        o.kv_cache = kv;
        Session s(m, o);
        std::vector<float> lg;
        s.eval(toks_.data(), int(toks_.size()), 0, &lg, true);
        return lg;
    }

private slots:
    void initTestCase() {
        dir_ = aptest::temp_dir() + "/forward";
        std::filesystem::create_directories(dir_);
        tiny_ = aptest::make_tiny_model(7, false);
        aptest::write_tiny_gguf(tiny_, dir_ + "/tiny.gguf");
        aptest::write_tiny_hf(tiny_, dir_ + "/tiny-hf");
    }
    void cleanupTestCase() { std::filesystem::remove_all(dir_); }

    void gguf_matches_reference() {
        auto m = load_model(dir_ + "/tiny.gguf");
        QCOMPARE(m->cfg.n_layer, 2);
        QCOMPARE(m->cfg.n_vocab, tiny_.n_vocab());
        const auto ref = aptest::reference_logits(tiny_, toks_);
        const auto got = logits_of(*m, 1, 64);
        QCOMPARE(got.size(), ref.size());
        // fp32 accumulation in a different order than the double reference.
        QVERIFY2(max_abs_diff(got, ref) < 2e-3f, qPrintable(QString::number(max_abs_diff(got, ref))));
    }

    void hf_matches_gguf() {
        // Same weights, rotate-half (HF) vs permuted interleaved (GGUF) storage.
        auto g = load_model(dir_ + "/tiny.gguf");
        auto h = load_model(dir_ + "/tiny-hf");
        QCOMPARE(h->format, std::string("hf"));
        const auto a = logits_of(*g, 1, 64), b = logits_of(*h, 1, 64);
        QVERIFY2(max_abs_diff(a, b) < 1e-4f, qPrintable(QString::number(max_abs_diff(a, b))));
        QCOMPARE(g->tok->encode("the then", false, false), h->tok->encode("the then", false, false));
    }

    void chunking_and_threads_agree() {
        auto m = load_model(dir_ + "/tiny.gguf");
        const auto base = logits_of(*m, 1, 64);
        for (int threads : {2, 3}) {
            for (int batch : {1, 3, 7}) {
                const auto got = logits_of(*m, threads, batch);
                QVERIFY2(max_abs_diff(got, base) < 1e-4f, qPrintable(QString("threads %1 batch %2").arg(threads).arg(batch)));
            }
        }
    }

    void tied_embeddings() {
        auto t = aptest::make_tiny_model(11, true);
        aptest::write_tiny_gguf(t, dir_ + "/tied.gguf");
        auto m = load_model(dir_ + "/tied.gguf");
        QVERIFY(m->cfg.tied_embeddings);
        const auto ref = aptest::reference_logits(t, toks_);
        const auto got = logits_of(*m, 2, 5);
        QVERIFY(max_abs_diff(got, ref) < 2e-3f);
    }

    // fp16/bf16 sources stay 16-bit in memory (half of fp32) and compute the
    // same model: logits against the reference on the 16-bit-rounded weights.
    void sixteen_bit_weights_stay_sixteen_bit() {
        for (auto [gtype, stype, dtype] : {std::tuple{GgmlType::F16, StDType::F16, DenseType::F16},
                                           std::tuple{GgmlType::BF16, StDType::BF16, DenseType::BF16}}) {
            aptest::TinyModel rounded = tiny_;
            for (auto& [name, w] : rounded.w)
                if (rounded.shape.at(name).size() == 2)
                    for (float& x : w) x = dtype == DenseType::F16 ? f16_to_f32(f32_to_f16(x)) : bf16_to_f32(f32_to_bf16(x));
            const auto ref = aptest::reference_logits(rounded, toks_);
            const std::string g = dir_ + "/h16-" + ggml_type_name(gtype) + ".gguf", h = dir_ + "/h16-hf-" + ggml_type_name(gtype);
            aptest::write_tiny_gguf(tiny_, g, gtype);
            aptest::write_tiny_hf(tiny_, h, stype);
            for (const std::string& p : {g, h}) {
                auto m = load_model(p);
                for (const Linear* l : m->layers[1].projections()) {
                    QVERIFY2(l->dtype == dtype && l->dense.empty() && l->dense16.size() == size_t(l->rows) * l->cols, qPrintable(QString::fromStdString(p)));
                }
                QCOMPARE(m->embed.dtype, dtype);
                const auto got = logits_of(*m, 2, 5);
                QVERIFY2(max_abs_diff(got, ref) < 2e-3f, qPrintable(QString("%1: %2").arg(QString::fromStdString(p)).arg(max_abs_diff(got, ref))));
                // Memory: matrices at 2 bytes a weight.
                uint64_t matrix_bytes = m->embed.dense_bytes() + m->head.dense_bytes();
                for (const auto& L : m->layers)
                    for (const Linear* l : L.projections()) matrix_bytes += l->dense_bytes();
                QCOMPARE(matrix_bytes, uint64_t(m->n_params() - int64_t(m->final_norm.size()) - 4 * tiny_.n_embd) * 2);
            }
        }
    }

    void quantized_gguf_types_load() {
        for (auto type : {GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1}) {
            const std::string p = dir_ + "/tiny-" + ggml_type_name(type) + ".gguf";
            aptest::write_tiny_gguf(tiny_, p, type);
            auto m = load_model(p);
            const auto ref = aptest::reference_logits(tiny_, toks_);
            const auto got = logits_of(*m, 1, 64);
            // 4-bit weights move logits visibly but not wildly.
            const float tol = (type == GgmlType::Q4_0 || type == GgmlType::Q4_1) ? 3.0f : 0.3f;
            QVERIFY2(max_abs_diff(got, ref) < tol, ggml_type_name(type));
            QCOMPARE(m->layers[0].wq.dtype, type == GgmlType::BF16 ? DenseType::BF16 : type == GgmlType::F16 ? DenseType::F16 : DenseType::F32);
            // Block types in fp16 (what large models get): the same model within fp16 rounding.
            qputenv("ANYPREC_DENSE16", "1");
            auto h = load_model(p);
            qunsetenv("ANYPREC_DENSE16");
            QVERIFY(h->layers[0].wq.dtype != DenseType::F32 && h->layers[0].wq.dense.empty());
            const auto got16 = logits_of(*h, 1, 64);
            QVERIFY2(max_abs_diff(got16, got) < 5e-3f, qPrintable(QString("%1 in fp16: %2").arg(ggml_type_name(type)).arg(max_abs_diff(got16, got))));
        }
    }

    // The int8 KV cache: close to the reference (one rounding per cached
    // value, a scale per head row), the same whatever the batching, and half
    // the fp16 cache's bytes (plus a scale per row).
    void int8_kv_cache_stays_close() {
        auto m = load_model(dir_ + "/tiny.gguf");
        const auto ref = aptest::reference_logits(tiny_, toks_);
        const auto f16 = logits_of(*m, 1, 64);
        const auto q8 = logits_of(*m, 2, 64, KvCache::Q8);
        const auto q8_steps = logits_of(*m, 1, 1, KvCache::Q8);
        const float err = max_abs_diff(q8, ref), err16 = max_abs_diff(f16, ref);
        float range = 0;
        for (float v : ref) range = std::max(range, std::fabs(v));
        qInfo("logits up to %.3f; max error: f16 cache %.2e, int8 cache %.2e", range, err16, err);
        QVERIFY2(err < 0.02f * range, qPrintable(QString::number(err)));
        QVERIFY2(err > err16, "the int8 cache rounds more than the fp16 one: it must have been used");
        QVERIFY2(max_abs_diff(q8_steps, q8) < 1e-3f, qPrintable(QString::number(max_abs_diff(q8_steps, q8))));
        SessionOptions o;
        o.n_ctx = 64;
        const uint64_t b16 = Session(*m, o).kv_bytes();
        o.kv_cache = KvCache::Q8;
        const uint64_t b8 = Session(*m, o).kv_bytes();
        const uint64_t rows = uint64_t(m->cfg.n_layer) * m->cfg.n_head_kv * 64 * 2;
        QCOMPARE(b8, b16 / 2 + rows * sizeof(float));
        QCOMPARE(QString(kv_cache_name(KvCache::Q8)), QString("q8"));
    }

    void greedy_generation_is_deterministic() {
        auto m = load_model(dir_ + "/tiny.gguf");
        Session s(*m, SessionOptions{64, 2, 8});
        GenerateRequest req;
        req.prompt = {72, 101, 108};
        req.max_tokens = 12;
        req.sampling.temperature = 0;
        req.ignore_eos = true;
        auto a = s.generate(req);
        auto b = s.generate(req);  // reuses the cached prefix
        QCOMPARE(a.tokens, b.tokens);
        QCOMPARE(a.n_generated, 12);
        // Greedy token 1 equals argmax of the reference logits.
        const auto ref = aptest::reference_logits(tiny_, req.prompt);
        const float* last = &ref[size_t(2) * tiny_.n_vocab()];
        int best = int(std::max_element(last, last + tiny_.n_vocab()) - last);
        QCOMPARE(a.tokens[0], best);
        // Same seed, same text; another seed, (almost surely) another text.
        req.sampling.temperature = 1.0f;
        req.sampling.top_k = 0;
        req.sampling.top_p = 1.0f;
        req.sampling.min_p = 0;
        req.sampling.seed = 5;
        auto c = s.generate(req), d = s.generate(req);
        QCOMPARE(c.tokens, d.tokens);
        req.sampling.seed = 6;
        auto e = s.generate(req);
        QVERIFY(c.tokens != e.tokens);
    }

    void cancel_and_stop_strings() {
        auto m = load_model(dir_ + "/tiny.gguf");
        Session s(*m, SessionOptions{64, 1, 8});
        GenerateRequest req;
        req.prompt = {72, 101};
        req.max_tokens = 30;
        req.sampling.temperature = 0;
        req.ignore_eos = true;
        std::atomic<bool> cancel{false};
        req.cancel = &cancel;
        int seen = 0;
        auto r = s.generate(req, [&](const TokenEvent&) {
            if (++seen == 3) cancel = true;
        });
        QCOMPARE(r.reason, StopReason::Cancelled);
        QCOMPARE(r.n_generated, 3);
        // A stop string cut from the full greedy text is honoured and not emitted.
        cancel = false;
        req.cancel = nullptr;
        auto full = s.generate(req);
        QVERIFY(full.text.size() > 4);
        // Two ASCII bytes from the middle of the text (random weights also emit broken UTF-8).
        size_t at = 1;
        while (at + 1 < full.text.size() && (uint8_t(full.text[at]) >= 0x80 || uint8_t(full.text[at + 1]) >= 0x80)) ++at;
        QVERIFY(at + 1 < full.text.size());
        req.stop = {full.text.substr(at, 2)};
        std::string streamed;
        auto st = s.generate(req, [&](const TokenEvent& ev) { streamed += ev.text; });
        QCOMPARE(st.reason, StopReason::StopString);
        QCOMPARE(st.text, full.text.substr(0, full.text.find(req.stop[0])));
        QCOMPARE(streamed, st.text);
    }

    void bad_requests() {
        auto m = load_model(dir_ + "/tiny.gguf");
        Session s(*m, SessionOptions{32, 1, 8});
        GenerateRequest req;
        QVERIFY_THROWS_EXCEPTION(Error, s.generate(req));  // empty prompt
        req.prompt.assign(40, 65);
        try {
            s.generate(req);
            QFAIL("a prompt longer than the context must be refused");
        } catch (const Error& e) {
            QVERIFY(std::string(e.what()).find("context") != std::string::npos);
        }
    }

    void perplexity_matches_reference() {
        auto m = load_model(dir_ + "/tiny.gguf");
        Session s(*m, SessionOptions{16, 2, 4});
        std::vector<int32_t> text;
        for (int i = 0; i < 27; ++i) text.push_back(int32_t((i * 37 + 11) % 256));
        const int ctx = 8;  // 3 windows, 3 tokens dropped
        auto r = perplexity(s, text, ctx, 0);
        QCOMPARE(r.n_windows, 3);
        QCOMPARE(r.n_scored, int64_t(3 * 7));
        double nll = 0;
        for (int w = 0; w < 3; ++w) {
            std::vector<int32_t> win(text.begin() + w * ctx, text.begin() + (w + 1) * ctx);
            auto lg = aptest::reference_logits(tiny_, win);
            const int V = tiny_.n_vocab();
            for (int i = 1; i < ctx; ++i) {
                const float* l = &lg[size_t(i - 1) * V];
                double mx = *std::max_element(l, l + V), sum = 0;
                for (int j = 0; j < V; ++j) sum += std::exp(l[j] - mx);
                nll += std::log(sum) + mx - l[win[i]];
            }
        }
        const double want = std::exp(nll / 21);
        QVERIFY2(std::fabs(r.ppl - want) / want < 1e-3, qPrintable(QString("%1 vs %2").arg(r.ppl).arg(want)));
    }
};

QTEST_GUILESS_MAIN(TestForward)
#include "test_forward.moc"
