// The quantization job end to end on tiny random Llama models written as
// GGUF: bad inputs rejected before any work, cancellation leaves nothing,
// and the checkpoint reloads and serves every width close to the source.
#include "test_util.h"
#include "tiny_model.h"

#include "anyprec_checkpoint.h"
#include "error.h"
#include "kernels.h"
#include "model.h"
#include "quantize.h"
#include "session.h"

#include <QCryptographicHash>
#include <QFile>

#include <cmath>
#include <set>

namespace fs = std::filesystem;

namespace {

// Expects fn to throw ap::Error whose message contains every one of `parts`.
template <class Fn>
void expect_error(Fn fn, std::initializer_list<std::string> parts) {
    try {
        fn();
        QFAIL("no ap::Error thrown");
    } catch (const ap::Error& e) {
        for (const std::string& p : parts) QVERIFY2(std::string(e.what()).find(p) != std::string::npos, e.what());
    }
}

std::set<std::string> listing(const std::string& dir) {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir)) s.insert(e.path().filename().string());
    return s;
}

std::string sha256_qt(const std::string& path) {
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly)) return "";
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return h.result().toHex().toStdString();
}

double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / den);
}

}  // namespace

class TestQuantize : public QObject {
    Q_OBJECT
    std::string dir_, gguf_, tied_, calib_;
    aptest::TinyModel tiny_;
    std::vector<int32_t> toks_ = {5, 72, 101, 108, 256, 108, 111, 32, 259, 119, 111, 114, 108, 100, 33, 10, 1, 200};

    ap::QuantizeOptions opts(const std::string& out_name) const {
        ap::QuantizeOptions o;
        o.source = gguf_;
        o.output = dir_ + "/" + out_name;
        o.calib_path = calib_;
        o.calib_tokens = 1024;
        o.threads = 2;
        return o;
    }
    std::vector<float> logits(const ap::Model& m, int bits) {
        ap::SessionOptions so;
        so.threads = 1;
        so.n_ctx = 64;
        ap::Session s(m, so);
        std::vector<float> lg;
        s.eval(toks_.data(), int(toks_.size()), bits, &lg, true);
        return lg;
    }

private slots:
    void initTestCase();
    void cleanupTestCase() { fs::remove_all(dir_); }
    void rejectsBadOptions();
    void rejectsShortOrMissingCalibration();
    void rejectsUnwritableOutput();
    void rejectsUnsupportedArchitecture();
    void cancellationLeavesNothing_data();
    void cancellationLeavesNothing();
    void endToEndServesEveryWidth();
    void tiedEmbeddingQuantizedOnce();
    void keepEmbeddingsDense();
    void baselines();
    void greedyNestingRecorded();
    void defaultPaths();
};

void TestQuantize::initTestCase() {
    dir_ = aptest::temp_dir() + "/quantize";
    fs::create_directories(dir_);
    tiny_ = aptest::make_tiny_model(5, false);
    gguf_ = dir_ + "/tiny.gguf";
    aptest::write_tiny_gguf(tiny_, gguf_);
    tied_ = dir_ + "/tied.gguf";
    aptest::write_tiny_gguf(aptest::make_tiny_model(6, true), tied_);
    // Byte-level vocabulary with few merges: about one token per byte.
    std::string text;
    while (text.size() < 6000)
        text += "It was the best of times, it was the worst of times; the age of wisdom, the age of foolishness. ";
    calib_ = dir_ + "/calib.txt";
    aptest::write_text(calib_, text);
}

void TestQuantize::rejectsBadOptions() {
    auto o = opts("bad.safetensors");
    o.seed_bits = 5;
    o.parent_bits = 4;
    expect_error([&] { ap::quantize_model(o); }, {"seed width 5", "parent width 4"});
    o = opts("bad.safetensors");
    o.parent_bits = 9;
    expect_error([&] { ap::validate_quantize_options(o); }, {"parent width 9"});
    o = opts("bad.safetensors");
    o.seed_bits = 1;
    expect_error([&] { ap::validate_quantize_options(o); }, {"seed width 1"});
    o = opts("bad.safetensors");
    o.method = "gptq";
    expect_error([&] { ap::validate_quantize_options(o); }, {"gptq"});
    o = opts("bad.safetensors");
    o.method = "rtn";
    o.bits = 9;
    expect_error([&] { ap::validate_quantize_options(o); }, {"width 9"});
    o = opts("bad.safetensors");
    o.sensitivity = "fisher-ish";
    expect_error([&] { ap::validate_quantize_options(o); }, {"fisher-ish"});
    o = opts("bad.safetensors");
    o.source = dir_ + "/nope.gguf";
    expect_error([&] { ap::quantize_model(o); }, {dir_ + "/nope.gguf"});
    o = opts("bad.safetensors");
    o.output = gguf_;
    expect_error([&] { ap::validate_quantize_options(o); }, {gguf_});
    o = opts("bad.safetensors");
    o.nesting = "optimal";
    expect_error([&] { ap::validate_quantize_options(o); }, {"nesting 'optimal'"});
    o = opts("bad.safetensors");
    o.seed_slack = -0.01;
    expect_error([&] { ap::validate_quantize_options(o); }, {"seed slack"});
    o = opts("bad.safetensors");
    o.nesting = "joint";
    o.anchor_bits = 4;
    expect_error([&] { ap::validate_quantize_options(o); }, {"--anchor-bits", "greedy"});
    QVERIFY(!fs::exists(dir_ + "/bad.safetensors"));
    ap::validate_quantize_options(opts("fine.safetensors"));  // the good case passes
}

void TestQuantize::rejectsShortOrMissingCalibration() {
    auto o = opts("bad.safetensors");
    o.calib_path = dir_ + "/missing.txt";
    expect_error([&] { ap::quantize_model(o); }, {dir_ + "/missing.txt", "not found"});
    aptest::write_text(dir_ + "/short.txt", "Too short to calibrate anything.");
    o.calib_path = dir_ + "/short.txt";
    expect_error([&] { ap::quantize_model(o); }, {dir_ + "/short.txt", "too short"});
    // Long enough in bytes, too few tokens: "the" is one token in this vocabulary.
    std::string thes;
    for (int i = 0; i < 400; ++i) thes += "the";
    aptest::write_text(dir_ + "/thes.txt", thes);
    o.calib_path = dir_ + "/thes.txt";
    expect_error([&] { ap::quantize_model(o); }, {dir_ + "/thes.txt", "too short"});
    // Methods that do not calibrate do not need the text.
    o.sensitivity = "none";
    o.calib_path = dir_ + "/missing.txt";
    ap::validate_quantize_options(o);
    QVERIFY(!fs::exists(dir_ + "/bad.safetensors"));
}

void TestQuantize::rejectsUnwritableOutput() {
    auto o = opts("x");
    o.output = dir_ + "/no-such-dir/out.safetensors";
    expect_error([&] { ap::quantize_model(o); }, {o.output, "does not exist"});
    o.output = dir_;
    expect_error([&] { ap::validate_quantize_options(o); }, {dir_, "directory"});
    o.output = calib_ + "/out.safetensors";  // parent is a regular file
    expect_error([&] { ap::validate_quantize_options(o); }, {o.output});
}

void TestQuantize::rejectsUnsupportedArchitecture() {
    const std::string path = dir_ + "/gpt2.gguf";
    aptest::write_tiny_gguf(tiny_, path, ap::GgmlType::F32, "gpt2");
    auto o = opts("gpt2.safetensors");
    o.source = path;
    expect_error([&] { ap::quantize_model(o); }, {path, "architecture"});
    QVERIFY(!fs::exists(o.output));
    QVERIFY(!fs::exists(o.output + ".tmp"));
}

void TestQuantize::cancellationLeavesNothing_data() {
    QTest::addColumn<QString>("stage");
    QTest::addColumn<int>("step");
    QTest::newRow("loading") << "loading" << 0;
    QTest::newRow("calibrating") << "calibrating" << 0;
    QTest::newRow("mid-quantizing") << "quantizing" << 5;
}

void TestQuantize::cancellationLeavesNothing() {
    QFETCH(QString, stage);
    QFETCH(int, step);
    const auto before = listing(dir_);
    std::atomic<bool> cancel{false};
    auto o = opts("cancelled.safetensors");
    bool seen_done = false;
    const auto r = ap::quantize_model(o, [&](const ap::QuantizeProgress& p) {
        if (p.stage == stage.toStdString() && p.step >= step) cancel = true;
        seen_done |= p.stage == "done";
    }, &cancel);
    QVERIFY(r.cancelled);
    QVERIFY(!seen_done);
    QCOMPARE(listing(dir_), before);  // no output, temporary or probe file
}

void TestQuantize::endToEndServesEveryWidth() {
    auto o = opts("tiny-ap.safetensors");
    std::vector<ap::QuantizeProgress> seen;
    const auto r = ap::quantize_model(o, [&](const ap::QuantizeProgress& p) { seen.push_back(p); });
    QVERIFY(!r.cancelled);
    QCOMPARE(r.output, o.output);
    QCOMPARE(r.bytes, uint64_t(fs::file_size(o.output)));
    QVERIFY(!fs::exists(o.output + ".tmp"));
    QVERIFY(ap::is_anyprec_checkpoint(o.output));

    // Progress: monotone, through every stage, every tensor named, ends done.
    QVERIFY(!seen.empty());
    std::set<std::string> stages, tensors;
    for (size_t i = 0; i < seen.size(); ++i) {
        if (i) QVERIFY(seen[i].fraction >= seen[i - 1].fraction);
        stages.insert(seen[i].stage);
        if (seen[i].stage == "quantizing") tensors.insert(seen[i].tensor);
    }
    for (const char* s : {"calibrating", "quantizing", "writing", "done"}) QVERIFY2(stages.count(s), s);
    const int n_tensors = 7 * tiny_.n_layer + 2;  // layers, embedding and (untied) head
    QCOMPARE(int(tensors.size()), n_tensors);
    QCOMPARE(seen.back().stage, std::string("done"));
    QCOMPARE(seen.back().fraction, 1.0);
    QCOMPARE(seen.back().n_steps, n_tensors);
    for (int b = 3; b <= 8; ++b) {
        QVERIFY(r.weighted_error[b] > 0);
        if (b > 3) QVERIFY(r.weighted_error[b] < r.weighted_error[b - 1]);
    }

    auto src = ap::load_model(gguf_);
    auto q = ap::load_model(o.output);
    QCOMPARE(q->format, std::string("anyprec"));
    QVERIFY(q->any_precision());
    QCOMPARE(q->widths(), (std::vector<int>{3, 4, 5, 6, 7, 8}));
    QCOMPARE(q->quant.method, std::string("anyprec"));
    QCOMPARE(q->quant.nesting, o.nesting);
    QCOMPARE(q->quant.seed_slack, o.nesting == "joint" ? o.seed_slack : 0.0);
    QCOMPARE(q->quant.sensitivity, std::string("act"));
    QCOMPARE(q->quant.source_file, std::string("tiny.gguf"));
    QCOMPARE(q->quant.source_sha256, sha256_qt(gguf_));
    QCOMPARE(q->quant.calib_file, std::string("calib.txt"));
    QCOMPARE(q->quant.calib_sha256, sha256_qt(calib_));
    QCOMPARE(q->quant.calib_tokens, 1024);
    QCOMPARE(q->quant.tool_version, std::string(ANYPREC_VERSION));
    QCOMPARE(q->cfg.n_layer, src->cfg.n_layer);
    QCOMPARE(q->tok->encode("the then", false, false), src->tok->encode("the then", false, false));
    QVERIFY(q->embed.quantized() && q->head.quantized());

    // Every quantized matrix dequantizes close to its source, closer with width.
    for (int l = 0; l < tiny_.n_layer; ++l) {
        const ap::Linear& a = src->layers[l].w_up;
        const ap::Linear& b = q->layers[l].w_up;
        QVERIFY(b.quantized());
        std::vector<float> deq(size_t(b.rows) * b.cols);
        double prev = 1e30;
        double e3 = 0;
        for (int bits = 3; bits <= 8; ++bits) {
            ap::kern::dequant_ap_scalar(b.ap->view(), bits, 0, b.rows, deq.data());
            const double e = rel_diff(deq, a.dense);
            // 64-wide rows have at most 64 distinct values: from 6 bits on the
            // float tables are exact and only the int8 rounding is left.
            QVERIFY2(e <= prev * (1 + 1e-6), qPrintable(QString("width %1: %2 after %3").arg(bits).arg(e).arg(prev)));
            if (bits == 3) e3 = e;
            prev = e;
        }
        QVERIFY2(prev < 0.02 && prev < e3 / 10, qPrintable(QString("3-bit %1, 8-bit %2").arg(e3).arg(prev)));
    }
    // The forward pass at every width approaches the source's logits.
    const auto ref = logits(*src, 0);
    double e3 = 0, e8 = 0;
    for (int bits = 3; bits <= 8; ++bits) {
        const auto lg = logits(*q, bits);
        for (float v : lg) QVERIFY(std::isfinite(v));
        const double e = rel_diff(lg, ref);
        qInfo("width %d: relative logit error %.4f", bits, e);
        if (bits == 3) e3 = e;
        if (bits == 8) e8 = e;
    }
    QVERIFY2(e8 < e3 / 4 && e8 < 0.05, qPrintable(QString("logit error 3-bit %1, 8-bit %2").arg(e3).arg(e8)));
}

void TestQuantize::tiedEmbeddingQuantizedOnce() {
    auto o = opts("tied-ap.safetensors");
    o.source = tied_;
    o.seed_bits = 2;
    o.parent_bits = 5;
    ap::quantize_model(o);
    const auto c = ap::read_checkpoint(o.output);
    QVERIFY(c.cfg.tied_embeddings);
    QVERIFY(c.quantized.count("model.embed_tokens.weight"));
    QVERIFY(!c.quantized.count("lm_head.weight") && !c.dense.count("lm_head.weight"));
    QCOMPARE(int(c.quantized.size()), 7 * tiny_.n_layer + 1);
    auto q = ap::load_model(o.output);
    QCOMPARE(q->widths(), (std::vector<int>{2, 3, 4, 5}));
    for (int bits : {2, 5})
        for (float v : logits(*q, bits)) QVERIFY(std::isfinite(v));
}

void TestQuantize::keepEmbeddingsDense() {
    auto o = opts("keep-ap.safetensors");
    o.quantize_embeddings = false;
    o.sensitivity = "none";
    ap::quantize_model(o);
    const auto c = ap::read_checkpoint(o.output);
    QVERIFY(!c.quantized.count("model.embed_tokens.weight"));
    QVERIFY(c.dense.count("model.embed_tokens.weight") && c.dense.count("lm_head.weight"));
    QCOMPARE(c.quant.sensitivity, std::string("none"));
    QCOMPARE(c.quant.calib_file, std::string(""));
    QCOMPARE(c.quant.calib_tokens, 0);
    auto q = ap::load_model(o.output);
    QVERIFY(!q->embed.quantized());
    QVERIFY(q->layers[0].wq.quantized());
    // The dense embedding/head counts in bits per weight at its served size, not as free.
    uint64_t bytes = 0, weights = 0;
    auto add = [&](const ap::Linear& l) {
        bytes += l.quantized() ? ap::kern::ap_bytes_read(l.ap->view(), q->width_of(l, 3)) : l.dense_bytes();
        weights += uint64_t(l.rows) * l.cols;
    };
    add(q->embed);
    if (!q->cfg.tied_embeddings) add(q->head);
    for (const auto& L : q->layers)
        for (const ap::Linear* l : L.projections()) add(*l);
    QVERIFY(q->embed.dense_bytes() > 0);
    QCOMPARE(ap::bits_per_weight(*q, 3), 8.0 * double(bytes) / double(weights));
    QVERIFY(ap::bits_per_weight(*q, 3) > 3.5);  // the fp32 embedding/head is not free
}

void TestQuantize::baselines() {
    auto src = ap::load_model(gguf_);
    const auto ref = logits(*src, 0);
    for (const char* method : {"rtn", "kmeans"}) {
        auto o = opts(std::string(method) + ".safetensors");
        o.method = method;
        o.bits = 4;
        const auto r = ap::quantize_model(o);
        QVERIFY(r.weighted_error[4] > 0);
        auto q = ap::load_model(o.output);
        QCOMPARE(q->quant.method, std::string(method));
        QCOMPARE(q->widths(), std::vector<int>{4});
        const double e = rel_diff(logits(*q, 4), ref);
        qInfo("%s 4-bit: relative logit error %.4f", method, e);
        QVERIFY2(e < 0.5, qPrintable(QString("%1: %2").arg(method).arg(e)));
    }
}

// The nesting choice is provenance: recorded, and the two choices differ.
void TestQuantize::greedyNestingRecorded() {
    auto o = opts("tiny-greedy.safetensors");
    o.nesting = "greedy";
    const auto rg = ap::quantize_model(o);
    auto q = ap::load_model(o.output);
    QCOMPARE(q->quant.nesting, std::string("greedy"));
    QCOMPARE(q->quant.seed_slack, 0.0);
    auto oj = opts("tiny-joint.safetensors");
    oj.nesting = "joint";
    oj.seed_slack = 0.05;
    const auto rj = ap::quantize_model(oj);
    q = ap::load_model(oj.output);
    QCOMPARE(q->quant.nesting, std::string("joint"));
    QCOMPARE(q->quant.seed_slack, 0.05);
    // Joint trades at most the slack of seed error (summed over rows) for less at 4 bits.
    QVERIFY(rj.weighted_error[3] <= rg.weighted_error[3] * 1.05 * (1 + 1e-6));
    QVERIFY(rj.weighted_error[4] < rg.weighted_error[4]);
}

void TestQuantize::defaultPaths() {
    const QByteArray old = qgetenv("ANYPREC_CACHE");
    qputenv("ANYPREC_CACHE", "/some/cache");
    QCOMPARE(ap::anyprec_cache_dir(), std::string("/some/cache"));
    QCOMPARE(ap::default_calib_text(), std::string("/some/cache/text/sherlock.txt"));
    QCOMPARE(ap::default_eval_text(), std::string("/some/cache/text/mobydick.txt"));
    QCOMPARE(ap::default_model_path(), std::string("/some/cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    qunsetenv("ANYPREC_CACHE");
    const char* home = std::getenv("HOME");
    QCOMPARE(ap::anyprec_cache_dir(), std::string(home ? home : ".") + "/.cache/anyprec");
    if (!old.isNull()) qputenv("ANYPREC_CACHE", old);
}

QTEST_GUILESS_MAIN(TestQuantize)
#include "test_quantize.moc"
