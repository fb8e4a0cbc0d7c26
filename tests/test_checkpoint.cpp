// Any-precision checkpoint: exact round trip of every tensor and metadata
// field, and clear errors (naming the file) for damaged or incomplete files.
#include "test_util.h"

#include "anyprec_checkpoint.h"
#include "random_ap.h"
#include "error.h"
#include "safetensors.h"

#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;

namespace {

ap::CheckpointContents make_contents(int seed, int parent) {
    std::mt19937 rng(seed * 10 + parent);
    ap::CheckpointContents c;
    c.cfg.name = "tiny-test";
    c.cfg.n_layer = 1;
    c.cfg.n_embd = 64;
    c.cfg.n_head = 4;
    c.cfg.n_head_kv = 2;
    c.cfg.head_dim = 16;
    c.cfg.n_ff = 96;
    c.cfg.n_vocab = 40;
    c.cfg.n_ctx_train = 256;
    c.cfg.rms_eps = 1e-6f;
    c.cfg.rope_theta = 50000.f;
    c.cfg.tied_embeddings = false;

    auto& t = c.tokenizer;
    t.kind = ap::TokenizerData::Kind::ByteBPE;
    t.pretokenizer = "smollm";
    for (int i = 0; i < 40; ++i) t.tokens.push_back(i < 26 ? std::string(1, char('a' + i)) : "tok" + std::to_string(i));
    t.token_types.assign(40, 1);
    t.token_types[0] = 3;
    t.merges = {"a b", "c d", "ab cd"};
    t.bos_id = 0;
    t.eos_id = 1;
    t.eog_ids = {1, 2};
    t.add_bos = true;
    c.chat_template = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{% endfor %}";

    c.quant.any_precision = true;
    c.quant.seed_bits = seed;
    c.quant.parent_bits = parent;
    c.quant.method = "anyprec";
    c.quant.nesting = "joint";
    c.quant.seed_slack = 0.005;
    c.quant.sensitivity = "act";
    c.quant.source_file = "tiny.gguf";
    c.quant.source_sha256 = std::string(64, 'a');
    c.quant.calib_file = "calib.txt";
    c.quant.calib_sha256 = std::string(64, 'b');
    c.quant.calib_tokens = 2048;
    c.quant.tool_version = "9.9.9";
    c.created = "2024-05-01T10:00:00Z";

    c.quantized["model.layers.0.self_attn.q_proj.weight"] = std::make_shared<ap::ApWeight>(aptest::random_ap_weight(rng, 64, 64, seed, parent));
    c.quantized["model.layers.0.mlp.down_proj.weight"] = std::make_shared<ap::ApWeight>(aptest::random_ap_weight(rng, 64, 96, seed, parent));
    c.quantized["odd.weight"] = std::make_shared<ap::ApWeight>(aptest::random_ap_weight(rng, 3, 33, seed, parent));

    // Dense values exactly representable in fp16, so F16 storage is lossless.
    std::uniform_int_distribution<int> q(-2000, 2000);
    auto dense = [&](const std::string& name, std::vector<int64_t> shape) {
        int64_t n = 1;
        for (auto d : shape) n *= d;
        std::vector<float> v(n);
        for (auto& x : v) x = float(q(rng)) / 1024.f;
        c.dense[name] = v;
        c.dense_shapes[name] = shape;
    };
    dense("model.norm.weight", {64});
    dense("model.embed_tokens.weight", {40, 64});
    dense("lm_head.weight", {40, 64});
    dense("model.layers.0.input_layernorm.weight", {64});
    return c;
}

std::string read_all(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

// Rewrites a checkpoint without one tensor or metadata key (or with one key changed).
void rewrite(const std::string& src, const std::string& dst, const std::string& drop_tensor,
             const std::string& drop_key, const std::pair<std::string, std::string>& set_key = {}) {
    ap::SafetensorsFile f(src);
    ap::SafetensorsWriter w;
    for (const auto& [k, v] : f.metadata())
        if (k != drop_key) w.set_metadata(k, v);
    if (!set_key.first.empty()) w.set_metadata(set_key.first, set_key.second);
    for (const auto& t : f.tensors())
        if (t.name != drop_tensor) w.add(t.name, t.dtype, t.shape, t.data, t.nbytes);
    w.write(dst);
}

// Expects read_checkpoint(path) to throw ap::Error mentioning the path and `what`.
void expect_error(const std::string& path, const std::string& what) {
    try {
        ap::read_checkpoint(path);
        QFAIL(qPrintable(QString::fromStdString("no error for " + path + " (" + what + ")")));
    } catch (const ap::Error& e) {
        const std::string msg = e.what();
        QVERIFY2(msg.find(path) != std::string::npos, e.what());
        QVERIFY2(msg.find(what) != std::string::npos, e.what());
    }
}

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT
    std::string dir_;
private slots:
    void initTestCase() {
        dir_ = aptest::temp_dir() + "/checkpoint";
        fs::create_directories(dir_);
    }
    void cleanupTestCase() { fs::remove_all(dir_); }
    void roundTrip_data();
    void roundTrip();
    void recognisesOnlyOurs();
    void truncatedFile();
    void missingPieces();
    void unwritablePathLeavesNothing();
    void inconsistentContentsRejected();
};

void TestCheckpoint::roundTrip_data() {
    QTest::addColumn<int>("seed");
    QTest::addColumn<int>("parent");
    QTest::newRow("3..8") << 3 << 8;
    QTest::newRow("5..6") << 5 << 6;
}

void TestCheckpoint::roundTrip() {
    QFETCH(int, seed);
    QFETCH(int, parent);
    const std::string path = dir_ + "/rt" + std::to_string(seed) + std::to_string(parent) + ".safetensors";
    const ap::CheckpointContents a = make_contents(seed, parent);
    ap::write_checkpoint(path, a);
    QVERIFY(!fs::exists(path + ".tmp"));
    QVERIFY(ap::is_anyprec_checkpoint(path));
    const ap::CheckpointContents b = ap::read_checkpoint(path);

    QCOMPARE(ap::config_to_json(b.cfg), ap::config_to_json(a.cfg));
    QCOMPARE(ap::tokenizer_data_to_json(b.tokenizer), ap::tokenizer_data_to_json(a.tokenizer));
    QCOMPARE(b.tokenizer.tokens, a.tokenizer.tokens);
    QCOMPARE(b.tokenizer.merges, a.tokenizer.merges);
    QCOMPARE(b.tokenizer.eog_ids, a.tokenizer.eog_ids);
    QCOMPARE(b.tokenizer.add_bos, a.tokenizer.add_bos);
    QCOMPARE(b.chat_template, a.chat_template);
    QCOMPARE(b.created, a.created);
    QVERIFY(b.quant.any_precision);
    QCOMPARE(b.quant.seed_bits, seed);
    QCOMPARE(b.quant.parent_bits, parent);
    QCOMPARE(b.quant.method, a.quant.method);
    QCOMPARE(b.quant.nesting, a.quant.nesting);
    QCOMPARE(b.quant.seed_slack, a.quant.seed_slack);
    QCOMPARE(b.quant.sensitivity, a.quant.sensitivity);
    QCOMPARE(b.quant.source_file, a.quant.source_file);
    QCOMPARE(b.quant.source_sha256, a.quant.source_sha256);
    QCOMPARE(b.quant.calib_file, a.quant.calib_file);
    QCOMPARE(b.quant.calib_sha256, a.quant.calib_sha256);
    QCOMPARE(b.quant.calib_tokens, a.quant.calib_tokens);
    QCOMPARE(b.quant.tool_version, a.quant.tool_version);

    QCOMPARE(b.quantized.size(), a.quantized.size());
    for (const auto& [name, wa] : a.quantized) {
        QVERIFY2(b.quantized.count(name), name.c_str());
        const ap::ApWeight& wb = *b.quantized.at(name);
        QCOMPARE(wb.rows, wa->rows);
        QCOMPARE(wb.cols, wa->cols);
        QCOMPARE(wb.seed_bits, seed);
        QCOMPARE(wb.parent_bits, parent);
        QCOMPARE(wb.planes, wa->planes);
        for (int w = 0; w <= ap::kern::kMaxBits; ++w) {
            QCOMPARE(wb.lut[w], wa->lut[w]);
            QCOMPARE(wb.affine[w], wa->affine[w]);
        }
    }
    QCOMPARE(b.dense, a.dense);
    QCOMPARE(b.dense_shapes, a.dense_shapes);

    // Storage types as documented: matrices F16, vectors F32, planes U32, tables I8/F32.
    ap::SafetensorsFile f(path);
    QCOMPARE(int(f.find("model.embed_tokens.weight")->dtype), int(ap::StDType::F16));
    QCOMPARE(int(f.find("model.norm.weight")->dtype), int(ap::StDType::F32));
    QCOMPARE(int(f.find("odd.weight.planes")->dtype), int(ap::StDType::U32));
    QCOMPARE(f.find("odd.weight.planes")->shape, (std::vector<int64_t>{parent, 3, 2}));
    QCOMPARE(int(f.find("odd.weight.lut" + std::to_string(seed))->dtype), int(ap::StDType::I8));
    QCOMPARE(f.metadata().at("format"), std::string("anyprec"));
    QCOMPARE(f.metadata().at("format_version"), std::string("1"));
}

void TestCheckpoint::recognisesOnlyOurs() {
    const std::string& dir = dir_;
    QVERIFY(!ap::is_anyprec_checkpoint(dir + "/does-not-exist.safetensors"));
    QVERIFY(!ap::is_anyprec_checkpoint(dir));
    write_bytes(dir + "/junk.bin", "this is not a safetensors file at all");
    QVERIFY(!ap::is_anyprec_checkpoint(dir + "/junk.bin"));
    ap::SafetensorsWriter w;
    const float v[2] = {1.f, 2.f};
    w.add_f32("x", {2}, v);
    w.write(dir + "/plain.safetensors");
    QVERIFY(!ap::is_anyprec_checkpoint(dir + "/plain.safetensors"));
    expect_error(dir + "/plain.safetensors", "format");
}

void TestCheckpoint::truncatedFile() {
    const std::string& dir = dir_;
    const std::string good = dir + "/good.safetensors";
    ap::write_checkpoint(good, make_contents(3, 8));
    const std::string bytes = read_all(good);
    for (size_t keep : {size_t(4), size_t(100), bytes.size() / 2, bytes.size() - 1}) {
        const std::string bad = dir + "/trunc" + std::to_string(keep) + ".safetensors";
        write_bytes(bad, bytes.substr(0, keep));
        try {
            ap::read_checkpoint(bad);
            QFAIL(qPrintable(QString("no error for a file cut to %1 bytes").arg(keep)));
        } catch (const ap::Error& e) {
            QVERIFY2(std::string(e.what()).find(bad) != std::string::npos, e.what());
        }
    }
}

void TestCheckpoint::missingPieces() {
    const std::string& dir = dir_;
    const std::string good = dir + "/src.safetensors";
    ap::write_checkpoint(good, make_contents(3, 8));
    const std::string bad = dir + "/bad.safetensors";
    for (const char* key : {"quant", "config", "tokenizer", "chat_template", "shapes", "format_version"}) {
        rewrite(good, bad, "", key);
        expect_error(bad, key);
    }
    rewrite(good, bad, "odd.weight.lut5", "");
    expect_error(bad, "odd.weight.lut5");
    rewrite(good, bad, "odd.weight.lut8.affine", "");
    expect_error(bad, "odd.weight.lut8.affine");
    rewrite(good, bad, "odd.weight.planes", "");
    expect_error(bad, "odd.weight.planes");
    rewrite(good, bad, "", "", {"format_version", "2"});
    expect_error(bad, "format_version");
    rewrite(good, bad, "", "", {"shapes", R"({"odd.weight": [4, 33]})"});
    expect_error(bad, "odd.weight.planes");
    // A quant record without one of its fields.
    ap::SafetensorsFile f(good);
    std::string q = f.metadata().at("quant");
    const size_t at = q.find("\"calib_sha256\"");
    QVERIFY(at != std::string::npos);
    q.replace(at, std::string("\"calib_sha256\"").size(), "\"renamed\"");
    rewrite(good, bad, "", "", {"quant", q});
    expect_error(bad, "calib_sha256");
}

void TestCheckpoint::unwritablePathLeavesNothing() {
    const std::string& dir = dir_;
    const auto c = make_contents(5, 6);
    // Parent directory missing.
    const std::string missing = dir + "/no-such-dir/x.safetensors";
    QVERIFY_THROWS_EXCEPTION(ap::Error, ap::write_checkpoint(missing, c));
    QVERIFY(!fs::exists(dir + "/no-such-dir"));
    // Target is a directory: the temporary is written, the rename fails, nothing may stay.
    const std::string target = dir + "/a-directory";
    fs::create_directories(target);
    try {
        ap::write_checkpoint(target, c);
        QFAIL("writing over a directory succeeded");
    } catch (const ap::Error& e) {
        QVERIFY2(std::string(e.what()).find(target) != std::string::npos, e.what());
    }
    QVERIFY(!fs::exists(target + ".tmp"));
    QVERIFY(fs::is_directory(target) && fs::is_empty(target));
    // Parent is a regular file.
    write_bytes(dir + "/plainfile", "x");
    QVERIFY_THROWS_EXCEPTION(ap::Error, ap::write_checkpoint(dir + "/plainfile/x.safetensors", c));
}

void TestCheckpoint::inconsistentContentsRejected() {
    const std::string path = dir_ + "/inconsistent.safetensors";
    auto c = make_contents(3, 8);
    c.quantized["odd.weight"]->parent_bits = 7;  // differs from the checkpoint's widths
    QVERIFY_THROWS_EXCEPTION(ap::Error, ap::write_checkpoint(path, c));
    c = make_contents(3, 8);
    c.dense["model.norm.weight"].pop_back();  // data no longer matches its shape
    QVERIFY_THROWS_EXCEPTION(ap::Error, ap::write_checkpoint(path, c));
    QVERIFY(!fs::exists(path));
    QVERIFY(!fs::exists(path + ".tmp"));
}

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "test_checkpoint.moc"
