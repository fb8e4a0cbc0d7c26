// GGUF block types decoded on load: bit-exact against the `gguf` Python
// package (reference files in tests/data/gguf_types, made once by
// make_refs.py there), block geometry, row-length and type errors, a tiny
// model stored in each type giving the reference forward's logits, one
// quantized into an any-precision checkpoint, and the README's type list.
#include "error.h"
#include "ggml_blocks.h"
#include "ggml_quants.h"
#include "gguf.h"
#include "model.h"
#include "quantize.h"
#include "session.h"
#include "test_util.h"
#include "tiny_model.h"

#include <QtTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#ifndef ANYPREC_GGUF_TYPES_DIR
#error "tests/CMakeLists.txt defines ANYPREC_GGUF_TYPES_DIR for this test"
#endif

using namespace ap;

namespace {

std::vector<uint8_t> read_bytes(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}
void write_bytes(const std::string& p, const std::vector<uint8_t>& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
// Overwrites the type id of the tensor named `name` in a GGUF file written
// by GgufWriter (directory entry: name, n_dims, dims, type, offset).
void poke_tensor_type(const std::string& path, const std::string& name, int n_dims, uint32_t type) {
    auto b = read_bytes(path);
    const auto it = std::search(b.begin(), b.end(), name.begin(), name.end());
    QVERIFY(it != b.end());
    const size_t at = size_t(it - b.begin()) + name.size() + 4 + 8 * size_t(n_dims);
    std::memcpy(&b[at], &type, 4);
    write_bytes(path, b);
}

}  // namespace

class TestGgmlQuants : public QObject {
    Q_OBJECT
    std::string dir_;

private slots:
    void initTestCase() {
        dir_ = aptest::temp_dir() + "/ggml-quants";
        std::filesystem::create_directories(dir_);
    }
    void cleanupTestCase() { std::filesystem::remove_all(dir_); }

    // Every reference file decodes to exactly the gguf package's floats (memcmp,
    // so signed zeros count). Files cover the new types and the inline ones.
    void matches_gguf_package_bit_exact_data() {
        QTest::addColumn<QString>("type");
        for (const char* t : {"Q4_0", "Q4_1", "Q8_0", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL",
                              "IQ4_XS"})
            QTest::newRow(t) << QString(t);
    }
    void matches_gguf_package_bit_exact() {
        QFETCH(QString, type);
        const std::string path = std::string(ANYPREC_GGUF_TYPES_DIR) + "/" + type.toStdString() + ".gguf";
        QVERIFY2(std::filesystem::exists(path), path.c_str());  // committed data: never skipped
        GgufFile f(path);
        const GgufTensor* raw = f.find_tensor("raw");
        const GgufTensor* want = f.find_tensor("expected");
        QVERIFY(raw && want);
        QCOMPARE(std::string(ggml_type_name(raw->type)), type.toStdString());
        QCOMPARE(want->type, GgmlType::F32);
        QCOMPARE(raw->shape, want->shape);
        QCOMPARE(raw->nbytes, ggml_type_size(raw->type, raw->n_elements()));
        std::vector<float> got(size_t(raw->n_elements()), std::nanf(""));
        // Row by row, as a loader may; then the whole tensor at once.
        const int64_t row = raw->shape[0];
        const size_t row_bytes = ggml_type_size(raw->type, row);
        for (int64_t r = 0; r < raw->n_elements() / row; ++r)
            dequantize_row(raw->type, raw->data + size_t(r) * row_bytes, got.data() + r * row, row);
        std::vector<float> whole(got.size(), std::nanf(""));
        dequantize_row(raw->type, raw->data, whole.data(), raw->n_elements());
        QCOMPARE(want->nbytes, got.size() * sizeof(float));
        const auto* exp = reinterpret_cast<const uint8_t*>(want->data);
        for (size_t k = 0; k < got.size(); ++k) {
            float e;
            std::memcpy(&e, exp + 4 * k, 4);
            if (std::memcmp(&got[k], &e, 4) != 0 || std::memcmp(&whole[k], &e, 4) != 0)
                QFAIL(qPrintable(QString("%1: weight %2 decodes to %3 (whole tensor %4), gguf package says %5")
                                     .arg(type)
                                     .arg(k)
                                     .arg(double(got[k]), 0, 'g', 9)
                                     .arg(double(whole[k]), 0, 'g', 9)
                                     .arg(double(e), 0, 'g', 9)));
        }
        // The edge-case blocks are there: zero scales and negative weights.
        size_t zeros = 0, negative = 0;
        for (float v : got) zeros += v == 0.f, negative += v < 0.f;
        QVERIFY(zeros >= size_t(ggml_block_size(raw->type)) && negative > 0);
    }

    void block_geometry() {
        struct G { GgmlType t; int block; size_t bytes; uint32_t id; };
        const G geo[] = {{GgmlType::Q5_0, 32, 22, 6},     {GgmlType::Q5_1, 32, 24, 7},
                         {GgmlType::Q2_K, 256, 84, 10},   {GgmlType::Q3_K, 256, 110, 11},
                         {GgmlType::Q4_K, 256, 144, 12},  {GgmlType::Q5_K, 256, 176, 13},
                         {GgmlType::Q6_K, 256, 210, 14},  {GgmlType::IQ4_NL, 32, 18, 20},
                         {GgmlType::IQ4_XS, 256, 136, 23}};
        for (const G& g : geo) {
            QCOMPARE(static_cast<uint32_t>(g.t), g.id);
            QCOMPARE(ggml_block_size(g.t), g.block);
            QCOMPARE(ggml_type_size(g.t, 4 * g.block), 4 * g.bytes);
            QVERIFY(ggml_quants_has(g.t));
            QVERIFY_THROWS_EXCEPTION(Error, ggml_type_size(g.t, g.block + 16));
            std::vector<float> y(size_t(g.block));
            std::vector<uint8_t> b(g.bytes);
            QVERIFY_THROWS_EXCEPTION(Error, dequantize_row(g.t, b.data(), y.data(), g.block / 2));
            std::vector<float> x(size_t(g.block));
            QVERIFY_THROWS_EXCEPTION(Error, quantize_to(g.t, x.data(), g.block));  // read-only types
        }
        QVERIFY(!ggml_quants_has(GgmlType::Q4_0));
        // Every block is smaller than its weight count, so even the largest
        // element count has an exact byte size (no wrap-around).
        const int64_t most = std::numeric_limits<int64_t>::max() / 256 * 256;
        QCOMPARE(ggml_type_size(GgmlType::Q6_K, most), size_t(most / 256 * 210));
        const std::string names = ggml_supported_type_names();
        QCOMPARE(names, std::string("F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, "
                                    "IQ4_XS, BF16"));
    }

    // Hand-made blocks whose values follow from the format's definition.
    void known_blocks() {
        std::vector<float> y(256);
        auto f16 = [](uint8_t* p, float v) {
            const uint16_t h = kern::float_to_half(v);
            std::memcpy(p, &h, 2);
        };
        {  // Q5_0: 5th bit set for weight 0 only, low nibbles 0xF / 0x0.
            std::vector<uint8_t> b(22, 0);
            f16(b.data(), 0.5f);
            b[2] = 0x01;   // qh bit 0 -> weight 0
            b[6] = 0x0F;   // weight 0 low nibble 15, weight 16 low nibble 0
            dequantize_row(GgmlType::Q5_0, b.data(), y.data(), 32);
            QCOMPARE(y[0], 0.5f * (31 - 16));
            QCOMPARE(y[16], 0.5f * (0 - 16));
            QCOMPARE(y[1], 0.5f * -16);
        }
        {  // Q4_K: sub-block 0 scale 2 min 3; sub-block 1 (high nibbles) scale 1 min 0.
            std::vector<uint8_t> b(144, 0);
            f16(b.data(), 0.25f);
            f16(b.data() + 2, 0.5f);
            b[4] = 2;      // sc[0]
            b[5] = 1;      // sc[1]
            b[8] = 3;      // m[0]
            b[16] = 0x75;  // weight 0 = 5, weight 32 = 7
            dequantize_row(GgmlType::Q4_K, b.data(), y.data(), 256);
            QCOMPARE(y[0], 0.25f * 2 * 5 - 0.5f * 3);
            QCOMPARE(y[32], 0.25f * 1 * 7);
            QCOMPARE(y[1], -1.5f);
        }
        {  // Q6_K: weight 0 = (0xF | 3 << 4) - 32 = 31 with scale -2.
            std::vector<uint8_t> b(210, 0);
            b[0] = 0x0F;
            b[128] = 0x03;
            b[192] = uint8_t(int8_t(-2));
            f16(b.data() + 208, 0.125f);
            dequantize_row(GgmlType::Q6_K, b.data(), y.data(), 256);
            QCOMPARE(y[0], 0.125f * -2 * 31);
            QCOMPARE(y[1], 0.125f * -2 * -32);
        }
        {  // IQ4_XS: sub-block 1 scale (ls = 0x3F) - 32 = 31, nibble 15 -> 113.
            std::vector<uint8_t> b(136, 0);
            f16(b.data(), 1.0f);
            const uint16_t sh = 0x3 << 2;
            std::memcpy(b.data() + 2, &sh, 2);
            b[4] = 0xF0;          // scales_l: sub-block 1 in the high nibble
            b[8 + 16] = 0x0F;     // sub-block 1, weight 0
            dequantize_row(GgmlType::IQ4_XS, b.data(), y.data(), 256);
            QCOMPARE(y[32], 31.f * 113);
            QCOMPARE(y[48], 31.f * -127);
            QCOMPARE(y[0], -32.f * -127);
        }
    }

    // A row that is not a whole number of blocks is refused when the file is
    // opened, with the file, the tensor and the block size in the message.
    void row_not_multiple_of_block_is_refused() {
        const std::string p = dir_ + "/short-row.gguf";
        GgufWriter w;
        std::vector<uint8_t> q40(size_t(ggml_type_size(GgmlType::Q4_0, 128 * 2)), 0);
        w.add_tensor_raw("blk.0.attn_q.weight", GgmlType::Q4_0, {128, 2}, q40);
        w.write(p);
        poke_tensor_type(p, "blk.0.attn_q.weight", 2, static_cast<uint32_t>(GgmlType::Q4_K));
        try {
            GgufFile f(p);
            QFAIL("a Q4_K row of 128 weights was accepted");
        } catch (const Error& e) {
            const std::string m = e.what();
            QVERIFY2(m.find(p) != std::string::npos && m.find("blk.0.attn_q.weight") != std::string::npos &&
                         m.find("Q4_K block size 256") != std::string::npos,
                     e.what());
        }
        // The writer refuses the same, and byte counts that do not match the shape.
        GgufWriter w2;
        std::vector<uint8_t> q4k(144 * 2, 0);
        QVERIFY_THROWS_EXCEPTION(Error, w2.add_tensor_raw("a", GgmlType::Q4_K, {128, 2}, q4k));
        QVERIFY_THROWS_EXCEPTION(Error, w2.add_tensor_raw("a", GgmlType::Q4_K, {256, 3}, q4k));
        w2.add_tensor_raw("a", GgmlType::Q4_K, {256, 2}, q4k);
    }

    void unsupported_type_names_the_supported_ones() {
        const std::string p = dir_ + "/q8_1.gguf";
        GgufWriter w;
        std::vector<uint8_t> q80(size_t(ggml_type_size(GgmlType::Q8_0, 64)), 0);
        w.add_tensor_raw("t", GgmlType::Q8_0, {64}, q80);
        w.write(p);
        poke_tensor_type(p, "t", 1, 9);  // Q8_1: an activation type, never stored in model files
        try {
            GgufFile f(p);
            QFAIL("Q8_1 was accepted");
        } catch (const Error& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("(Q8_1), which is not supported (supported: F32, F16, Q4_0") != std::string::npos &&
                         m.find("Q6_K, IQ4_NL, IQ4_XS, BF16)") != std::string::npos,
                     e.what());
        }
    }

    // A tiny Llama whose weight matrices (embedding and head included) are
    // random blocks of each type loads and gives the reference forward's
    // logits over the same dequantized weights.
    void tiny_model_in_each_type_matches_reference_data() {
        QTest::addColumn<int>("type");
        for (GgmlType t : aptest::block_types()) QTest::newRow(ggml_type_name(t)) << int(t);
    }
    void tiny_model_in_each_type_matches_reference() {
        QFETCH(int, type);
        const auto t = static_cast<GgmlType>(type);
        // Every row length 256 so the K-quant super-blocks fit.
        aptest::TinyModel tiny = aptest::make_tiny_model(3, false, 256, 4, 2, 256);
        const std::string p = dir_ + "/tiny-" + ggml_type_name(t) + ".gguf";
        aptest::write_tiny_gguf_blocks(tiny, p, t, 100 + unsigned(type));
        GgufFile f(p);
        QCOMPARE(f.find_tensor("blk.1.ffn_down.weight")->type, t);
        QCOMPARE(f.find_tensor("token_embd.weight")->type, t);

        auto m = load_model(p);
        QVERIFY2(m->source_note.find(ggml_type_name(t)) != std::string::npos, m->source_note.c_str());
        const std::vector<int32_t> toks = {5, 72, 101, 108, 256, 108, 111, 32, 259, 119, 111, 114, 10, 200};
        SessionOptions o;
        o.threads = 1;
        o.n_ctx = 32;
        Session s(*m, o);
        std::vector<float> got;
        s.eval(toks.data(), int(toks.size()), 0, &got, true);
        const auto ref = aptest::reference_logits(tiny, toks);
        QCOMPARE(got.size(), ref.size());
        float diff = 0, scale = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            diff = std::max(diff, std::fabs(got[i] - ref[i]));
            scale = std::max(scale, std::fabs(ref[i]));
        }
        QVERIFY2(scale > 0.1f, "degenerate logits");
        // fp32 accumulation in another order than the double reference.
        QVERIFY2(diff < 5e-4f * std::max(1.f, scale), qPrintable(QString("max |diff| %1, max |logit| %2").arg(diff).arg(scale)));
    }

    // A K-quant source quantizes into a checkpoint that serves every width
    // close to the source's logits, as from any other source.
    void quantize_from_k_quant_source() {
        aptest::TinyModel tiny = aptest::make_tiny_model(4, false, 256, 4, 2, 256);
        const std::string src_path = dir_ + "/tiny-q4k.gguf";
        aptest::write_tiny_gguf_blocks(tiny, src_path, GgmlType::Q4_K, 11);
        std::string text;
        while (text.size() < 6000) text += "It was the best of times, it was the worst of times; the age of wisdom. ";
        aptest::write_text(dir_ + "/calib.txt", text);
        QuantizeOptions o;
        o.source = src_path;
        o.output = dir_ + "/tiny-q4k-ap.safetensors";
        o.calib_path = dir_ + "/calib.txt";
        o.calib_tokens = 1024;
        o.threads = 2;
        const QuantizeResult r = quantize_model(o);
        QVERIFY(!r.cancelled && std::filesystem::exists(o.output));

        auto src = load_model(src_path);
        auto q = load_model(o.output);
        QVERIFY(q->any_precision());
        QCOMPARE(q->quant.source_file, std::string("tiny-q4k.gguf"));
        const std::vector<int32_t> toks = {5, 72, 101, 108, 256, 108, 111, 32, 259, 119, 111, 114, 10, 200};
        auto logits = [&](const Model& m, int bits) {
            SessionOptions so;
            so.threads = 1;
            so.n_ctx = 32;
            Session s(m, so);
            std::vector<float> lg;
            s.eval(toks.data(), int(toks.size()), bits, &lg, true);
            return lg;
        };
        auto rel = [](const std::vector<float>& a, const std::vector<float>& b) {
            double num = 0, den = 0;
            for (size_t i = 0; i < a.size(); ++i) num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), den += double(b[i]) * b[i];
            return std::sqrt(num / den);
        };
        const auto ref = logits(*src, 0);
        const double e3 = rel(logits(*q, 3), ref), e8 = rel(logits(*q, 8), ref);
        qInfo("Q4_K source: relative logit error 3-bit %.4f, 8-bit %.4f", e3, e8);
        // The random blocks' per-sub-block offsets dominate these logits, so
        // even 3 bits is close; the error still falls with width.
        QVERIFY2(e8 < e3 && e8 < 0.01, qPrintable(QString("3-bit %1, 8-bit %2").arg(e3).arg(e8)));
        for (int b = 4; b <= 8; ++b) QVERIFY(r.weighted_error[b] < r.weighted_error[b - 1]);
    }

    // README's "Models and formats" names every type that loads.
    void readme_lists_the_loadable_types() {
        const auto readme = std::filesystem::path(ANYPREC_GGUF_TYPES_DIR) / "../../../README.md";
        std::ifstream f(readme);
        QVERIFY2(f, readme.c_str());
        const std::string text{std::istreambuf_iterator<char>(f), {}};
        const size_t at = text.find("- **GGUF**");
        QVERIFY(at != std::string::npos);
        const std::string bullet = text.substr(at, text.find("\n- **", at + 1) - at);
        std::string names = ggml_supported_type_names() + ",";
        for (size_t p = 0, q; (q = names.find(',', p)) != std::string::npos; p = q + 2) {
            const std::string name = names.substr(p, q - p);
            QVERIFY2(bullet.find(name + ",") != std::string::npos || bullet.find(name + " ") != std::string::npos ||
                         bullet.find(name + ":") != std::string::npos,
                     qPrintable(QString::fromStdString("README's GGUF bullet does not list " + name)));
        }
    }
};

QTEST_GUILESS_MAIN(TestGgmlQuants)
#include "test_ggml_quants.moc"
