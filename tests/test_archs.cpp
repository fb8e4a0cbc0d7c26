// Architectures beyond Llama 2 (qwen2, qwen3, mistral with a sliding window,
// llama 3 rope scaling with a tied head, phi3, gemma2, gemma3) against Hugging Face transformers: tiny random-weight
// models made by tests/data/archs/make_tiny.py, loaded here from their HF
// folders and from their GGUF conversions, must reproduce transformers' fp32
// logits at every position, through the prompt path and token by token. Also:
// each feature changes the logits (so the comparison can fail), quantizing
// keeps the per-architecture tensors, chat formats and unsupported-arch errors.
#include "anyprec_checkpoint.h"
#include "chat_template.h"
#include "error.h"
#include "gguf.h"
#include "model.h"
#include "quantize.h"
#include "session.h"
#include "test_util.h"

#include <QtTest>
#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <fstream>
#include <sstream>

using namespace ap;

namespace {

const std::string kDir = ARCHS_DATA_DIR;
const char* const kArchs[] = {"qwen2",         "qwen3",  "mistral", "llama3",   "phi3",
                               "phi3_longrope", "gemma2", "gemma3",  "gemma3_mm"};

// Our arch name for a reference model's folder name.
std::string arch_of(const std::string& name) {
    if (name == "mistral" || name == "llama3") return "llama";
    if (name == "phi3_longrope") return "phi3";
    if (name == "gemma3_mm") return "gemma3";
    return name;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Reference {
    std::vector<int32_t> tokens;
    std::vector<float> logits;      // [n][V], transformers in fp32
    std::vector<float> logits_f16;  // the same with K/V rounded to fp16 as our cache stores them
    int n_vocab = 0;
    float scale = 0;  // largest |logit|
};

Reference load_reference(const std::string& arch) {
    const auto j = nlohmann::json::parse(read_text(kDir + "/" + arch + "/reference.json"));
    Reference r;
    r.tokens = j.at("tokens").get<std::vector<int32_t>>();
    r.n_vocab = j.at("n_vocab").get<int>();
    for (const auto& row : j.at("logits"))
        for (const auto& v : row) {
            r.logits.push_back(v.get<float>());
            r.scale = std::max(r.scale, std::fabs(r.logits.back()));
        }
    for (const auto& row : j.at("logits_kv_f16"))
        for (const auto& v : row) r.logits_f16.push_back(v.get<float>());
    return r;
}

// All logits, the whole sequence in one prompt chunk (batch >= n) or one token at a time.
std::vector<float> run(const Model& m, const std::vector<int32_t>& toks, bool one_by_one, int bits = 0) {
    SessionOptions o;
    o.threads = 2;
    o.n_ctx = 64;
    o.batch = one_by_one ? 1 : 64;
    Session s(m, o);
    std::vector<float> all, lg;
    if (!one_by_one) {
        s.eval(toks.data(), int(toks.size()), bits, &all, true);
        return all;
    }
    for (size_t i = 0; i < toks.size(); ++i) {
        s.eval(&toks[i], 1, bits, &lg, false);
        all.insert(all.end(), lg.begin(), lg.end());
    }
    return all;
}

// ||a - b|| / ||b||
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) num += double(a[i] - b[i]) * (a[i] - b[i]), den += double(b[i]) * b[i];
    return std::sqrt(num / den);
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return INFINITY;
    float d = 0;
    for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
    return d;
}

// Against transformers with the same fp16 K/V rounding only fp32 arithmetic
// order differs: 1e-4 of the logits' scale. Against plain fp32 transformers,
// the fp16 cache itself costs up to about 2e-3 (LongRoPE's cos/sin factor
// amplifies it): allow 3e-3.
constexpr float kRelTol = 1e-4f;
constexpr float kRelTolPlain = 3e-3f;

std::string source_path(const std::string& arch, const std::string& format) {
    return format == "hf" ? kDir + "/" + arch : kDir + "/" + arch + ".gguf";
}

}  // namespace

class TestArchs : public QObject {
    Q_OBJECT

private slots:
    void logits_match_transformers_data() {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<QString>("format");
        for (const char* a : kArchs)
            for (const char* f : {"hf", "gguf"})
                QTest::newRow((std::string(a) + "/" + f).c_str()) << QString(a) << QString(f);
    }
    void logits_match_transformers() {
        QFETCH(QString, arch);
        QFETCH(QString, format);
        const Reference ref = load_reference(arch.toStdString());
        auto m = load_model(source_path(arch.toStdString(), format.toStdString()));
        QCOMPARE(m->cfg.arch, arch_of(arch.toStdString()));
        QCOMPARE(m->cfg.n_vocab, ref.n_vocab);
        for (bool one_by_one : {false, true}) {
            const std::vector<float> got = run(*m, ref.tokens, one_by_one);
            const float d = max_abs_diff(got, ref.logits_f16), d_plain = max_abs_diff(got, ref.logits);
            qInfo("%s %s %s: max |logit diff| %.3g (fp16 K/V reference), %.3g (plain fp32); logit scale %.3g",
                  qPrintable(arch), qPrintable(format), one_by_one ? "token by token" : "prompt", d, d_plain, ref.scale);
            QVERIFY2(d < kRelTol * ref.scale, qPrintable(QString("diff %1").arg(d)));
            QVERIFY2(d_plain < kRelTolPlain * ref.scale, qPrintable(QString("diff %1").arg(d_plain)));
        }
    }

    // Turning each architecture feature off moves the logits far past the
    // tolerance: the comparison above really checks these features.
    void features_matter_data() {
        QTest::addColumn<QString>("arch");
        for (const char* a : kArchs) QTest::newRow(a) << QString(a);
    }
    void features_matter() {
        QFETCH(QString, arch);
        const Reference ref = load_reference(arch.toStdString());
        std::vector<std::function<void(Model&)>> ablations;
        const std::string name = arch.toStdString(), a = arch_of(name);  // folder, our arch
        if (a == "qwen2")
            ablations.push_back([](Model& x) {
                for (auto& L : x.layers) {
                    std::fill(L.q_bias.begin(), L.q_bias.end(), 0.f);
                    std::fill(L.k_bias.begin(), L.k_bias.end(), 0.f);
                }
            });
        if (a == "qwen3" || a == "gemma3")
            ablations.push_back([](Model& x) {
                for (auto& L : x.layers) std::fill(L.q_norm.begin(), L.q_norm.end(), 1.f);
            });
        if (name == "mistral" || a == "gemma2" || a == "gemma3") ablations.push_back([](Model& x) { x.cfg.sliding_window = 0; });
        if (name == "llama3")  // without Llama 3's rope scaling (HF: config; GGUF: rope_freqs tensor)
            ablations.push_back([](Model& x) {
                ModelConfig c = x.cfg;
                c.rope_factor = 0;
                x.rope_inv_freq = rope_inv_freq(c);
            });
        if (name == "phi3_longrope") {
            ablations.push_back([](Model& x) { x.cfg.rope_attn_factor = 0; });
            ablations.push_back([](Model& x) { x.rope_inv_freq = rope_inv_freq(x.cfg); });
        }
        if (name == "phi3")  // the fused qkv rows split in the wrong order (k before q) must show
            ablations.push_back([](Model& x) {
                for (auto& L : x.layers) std::swap(L.wk.dense, L.wv.dense);
            });
        if (a == "gemma2") {
            ablations.push_back([](Model& x) { x.cfg.attn_softcap = 0; });
            ablations.push_back([](Model& x) { x.cfg.final_softcap = 0; });
        }
        if (a == "gemma2" || a == "gemma3") {
            ablations.push_back([](Model& x) { x.cfg.embed_scale = false; });
            ablations.push_back([](Model& x) {
                for (auto& L : x.layers) L.post_mlp_norm.clear();
            });
        }
        if (a == "gemma3") ablations.push_back([](Model& x) { x.rope_inv_freq_local = x.rope_inv_freq; });
        QVERIFY(!ablations.empty());
        for (size_t i = 0; i < ablations.size(); ++i) {
            auto c = load_model(source_path(name, "hf"));
            ablations[i](*c);
            const float d = max_abs_diff(run(*c, ref.tokens, false), ref.logits_f16);
            QVERIFY2(d > 10 * kRelTolPlain * ref.scale, qPrintable(QString("ablation %1 changes logits by only %2").arg(i).arg(d)));
        }
    }

    // The folders were saved by transformers 5 ("rope_parameters"); the Hub's
    // configs mostly predate it (rope_theta, rope_scaling, rope_local_base_freq,
    // sliding_window_pattern). The same config in that older form loads the same model.
    void older_config_format_data() {
        QTest::addColumn<QString>("arch");
        for (const char* a : kArchs)
            if (std::string(a) != "gemma3_mm") QTest::newRow(a) << QString(a);  // that one is in the Hub's form already
    }
    void older_config_format() {
        QFETCH(QString, arch);
        const std::string a = arch.toStdString();
        auto cfg = nlohmann::json::parse(read_text(kDir + "/" + a + "/config.json"));
        QVERIFY(cfg.contains("rope_parameters") && !cfg.contains("rope_theta"));
        nlohmann::json rp = cfg["rope_parameters"];
        cfg.erase("rope_parameters");
        cfg.erase("layer_types");
        if (rp.contains("full_attention")) {  // Gemma 3
            cfg["rope_local_base_freq"] = rp["sliding_attention"]["rope_theta"];
            cfg["sliding_window_pattern"] = 2;
            rp = nlohmann::json(rp["full_attention"]);
        }
        cfg["rope_theta"] = rp["rope_theta"];
        rp.erase("rope_theta");
        rp.erase("partial_rotary_factor");
        const std::string type = rp.value("rope_type", std::string("default"));
        if (type == "default") cfg["rope_scaling"] = nullptr;
        else {
            rp.erase("rope_type");
            rp["type"] = type;  // the oldest spelling
            cfg["rope_scaling"] = rp;
        }
        const std::string dir = aptest::temp_dir() + "/archs-old-" + a;
        std::filesystem::create_directories(dir);
        for (const char* f : {"tokenizer.json", "tokenizer_config.json", "model.safetensors"})
            std::filesystem::copy_file(kDir + "/" + a + "/" + f, dir + "/" + f, std::filesystem::copy_options::overwrite_existing);
        std::ofstream(dir + "/config.json") << cfg.dump(1);
        auto old_style = load_model(dir);
        auto new_style = load_model(kDir + "/" + a);
        std::filesystem::remove_all(dir);
        QCOMPARE(config_to_json(old_style->cfg), config_to_json(new_style->cfg));
        const Reference ref = load_reference(a);
        QCOMPARE(run(*old_style, ref.tokens, false), run(*new_style, ref.tokens, false));
    }

    // `anyprec quantize` of each architecture: the checkpoint carries the
    // config features and the unquantized per-arch tensors; at 8 bits the
    // logits stay close to the source's.
    void quantize_keeps_architecture_data() {
        QTest::addColumn<QString>("arch");
        for (const char* a : kArchs) QTest::newRow(a) << QString(a);
    }
    void quantize_keeps_architecture() {
        QFETCH(QString, arch);
        const std::string a = arch.toStdString();
        const Reference ref = load_reference(a);
        const std::string out = aptest::temp_dir() + "/archs-" + a + ".safetensors";
        QuantizeOptions o;
        o.source = source_path(a, "hf");
        o.output = out;
        o.method = "anyprec";
        o.seed_bits = 3;
        o.parent_bits = 8;
        o.sensitivity = "none";
        o.threads = 2;
        quantize_model(o, {}, nullptr);
        auto src = load_model(o.source);
        auto q = load_model(out);
        std::filesystem::remove(out);
        QCOMPARE(q->cfg.arch, src->cfg.arch);
        QCOMPARE(config_to_json(q->cfg), config_to_json(src->cfg));
        QVERIFY(q->layers[0].wq.quantized());
        for (size_t l = 0; l < src->layers.size(); ++l)
            for (const LayerVectorField& f : kLayerVectors)
                QCOMPARE(q->layers[l].*f.field, src->layers[l].*f.field);  // fp32, bit-exact
        // As tests/test_quantize.cpp asks of Llama: 8 bits near the source, far nearer than 3
        // (these random networks amplify weight error more than that test's: 0.1, not 0.05).
        const std::vector<float> base = run(*src, ref.tokens, false);
        const double e3 = rel_diff(run(*q, ref.tokens, false, 3), base), e8 = rel_diff(run(*q, ref.tokens, false, 8), base);
        qInfo("%s: relative logit error 3-bit %.4f, 8-bit %.4f", a.c_str(), e3, e8);
        QVERIFY2(e8 < e3 / 5 && e8 < 0.1, qPrintable(QString("3-bit %1, 8-bit %2").arg(e3).arg(e8)));
    }

    // The tokenizer each folder / GGUF carries (byte-level BPE with the Qwen2 or GPT-2
    // pre-tokenizer; Gemma's SentencePiece layout with byte fallback and no space
    // prefix) gives Hugging Face tokenizers' ids, special tokens included.
    void tokenizer_matches_hf_tokenizers_data() { logits_match_transformers_data(); }
    void tokenizer_matches_hf_tokenizers() {
        QFETCH(QString, arch);
        QFETCH(QString, format);
        const auto j = nlohmann::json::parse(read_text(kDir + "/" + arch.toStdString() + "/reference.json"));
        auto tok = load_tokenizer(source_path(arch.toStdString(), format.toStdString()));
        QVERIFY(j.at("tokenize").size() >= 4);
        for (const auto& c : j.at("tokenize")) {
            const std::string text = c.at("text").get<std::string>();
            const auto want = c.at("ids").get<std::vector<int32_t>>();
            const auto got = tok->encode(text, false, true);
            QVERIFY2(got == want, qPrintable(QString::fromStdString(text)));
        }
    }

    void chat_formats_of_families() {
        std::string w;
        auto tmpl = [](const std::string& a) {
            return nlohmann::json::parse(read_text(kDir + "/" + a + "/tokenizer_config.json")).at("chat_template").get<std::string>();
        };
        QCOMPARE(detect_chat_format(tmpl("qwen2"), &w), ChatFormat::ChatML);
        QCOMPARE(detect_chat_format(tmpl("qwen3"), &w), ChatFormat::ChatML);
        QCOMPARE(detect_chat_format(tmpl("phi3"), &w), ChatFormat::Phi3);
        QCOMPARE(detect_chat_format(tmpl("gemma2"), &w), ChatFormat::Gemma);
        QCOMPARE(detect_chat_format(tmpl("gemma3"), &w), ChatFormat::Gemma);
        QCOMPARE(detect_chat_format(tmpl("mistral"), &w), ChatFormat::Llama2);
        QCOMPARE(detect_chat_format(tmpl("llama3"), &w), ChatFormat::Llama3);
        // The loaded models pick them up too, from HF folders and GGUF metadata.
        QCOMPARE(load_model(kDir + "/phi3")->chat_format, ChatFormat::Phi3);
        QCOMPARE(load_model(kDir + "/gemma2.gguf")->chat_format, ChatFormat::Gemma);
        // Zephyr (same role markers as Phi-3, turns end with </s>) stays Zephyr.
        QCOMPARE(detect_chat_format("<|user|>\n{{ m }}</s>\n<|assistant|>\n", &w), ChatFormat::Zephyr);

        const std::vector<ChatMessage> msgs = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}, {"user", "Bye"}};
        QCOMPARE(format_chat(ChatFormat::Phi3, msgs, true, "<s>"),
                 std::string("<s><|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello<|end|>\n"
                             "<|user|>\nBye<|end|>\n<|assistant|>\n"));
        QCOMPARE(format_chat(ChatFormat::Gemma, msgs, true, "<bos>"),
                 std::string("<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n"
                             "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"));
        QVERIFY(!chat_stop_strings(ChatFormat::Phi3).empty());
        QCOMPARE(chat_stop_strings(ChatFormat::Gemma).front(), std::string("<end_of_turn>"));
    }

    void unsupported_architecture_is_named() {
        const std::string dir = aptest::temp_dir() + "/archs-falcon";
        std::filesystem::create_directories(dir);
        for (const char* f : {"tokenizer.json", "tokenizer_config.json", "model.safetensors"})
            std::filesystem::copy_file(kDir + "/qwen2/" + f, dir + "/" + f, std::filesystem::copy_options::overwrite_existing);
        auto cfg = nlohmann::json::parse(read_text(kDir + "/qwen2/config.json"));
        cfg["model_type"] = "falcon";
        std::ofstream(dir + "/config.json") << cfg.dump();
        try {
            load_model(dir);
            QFAIL("falcon loaded");
        } catch (const Error& e) {
            const std::string msg = e.what();
            QVERIFY2(msg.find("'falcon'") != std::string::npos && msg.find("qwen2") != std::string::npos, e.what());
        }
        std::filesystem::remove_all(dir);

        const std::string gguf = aptest::temp_dir() + "/archs-bloom.gguf";
        GgufWriter g;
        g.set_string("general.architecture", "bloom");
        g.write(gguf);
        try {
            load_model(gguf);
            QFAIL("bloom loaded");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("'bloom'") != std::string::npos, e.what());
        }
        std::filesystem::remove(gguf);
    }
};

QTEST_GUILESS_MAIN(TestArchs)
#include "test_archs.moc"
