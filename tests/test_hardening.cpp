// Crafted inputs that once crashed the process, corrupted memory, allocated
// without bound or printed the wrong thing (issue 16). Each case failed
// before its fix; the CLI-level cases live in test_cli.
#include "anyprec_checkpoint.h"
#include "atomic_file.h"
#include "error.h"
#include "gguf.h"
#include "input_limits.h"
#include "memory_estimate.h"
#include "model.h"
#include "model_config.h"
#include "safetensors.h"
#include "test_util.h"
#include "tiny_model.h"
#include "tokenizer.h"

#include <QtTest>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <sys/resource.h>
#include <unistd.h>

using namespace ap;
namespace fs = std::filesystem;

namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

long max_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

std::string read_all(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A minimal byte-level tokenizer.json whose vocabulary is `vocab` (text -> id).
std::string tokenizer_json(const nlohmann::json& vocab, const nlohmann::json& added = nlohmann::json::array()) {
    nlohmann::json j = {{"added_tokens", added},
                        {"pre_tokenizer", {{"type", "ByteLevel"}, {"use_regex", true}}},
                        {"decoder", {{"type", "ByteLevel"}}},
                        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
    return j.dump();
}

}  // namespace

class TestHardening : public QObject {
    Q_OBJECT
    std::string dir_;

private slots:
    void initTestCase() {
        dir_ = aptest::temp_dir() + "/hardening";
        fs::create_directories(dir_);
    }
    void cleanupTestCase() { fs::remove_all(dir_); }

    // Item 1: an id of 2^63-1 made `id + 1` wrap, the size check passed and
    // the token was written before the buffer (heap corruption).
    void tokenizer_id_overflow_is_an_error() {
        for (const char* id : {"9223372036854775807", "18446744073709551615", "-1", "4194304"}) {
            const std::string text = R"({"model":{"type":"BPE","vocab":{"a":)" + std::string(id) + R"(},"merges":[]},
                "pre_tokenizer":{"type":"ByteLevel"}})";
            const std::string err = error_of([&] { tokenizer_data_from_hf(text, "", "x/tokenizer.json"); });
            QVERIFY2(err.find("x/tokenizer.json") != std::string::npos, err.c_str());
            QVERIFY2(err.find("id") != std::string::npos, err.c_str());
        }
        // The same through an added token.
        const std::string err = error_of([&] {
            tokenizer_data_from_hf(tokenizer_json({{"a", 0}}, {{{"id", 9223372036854775807LL}, {"content", "<x>"}}}), "",
                                   "t.json");
        });
        QVERIFY2(err.find("out of range") != std::string::npos, err.c_str());
    }

    // Item 3: an id near 2^24 in a 140-byte file cost 2.2 GB and 87 s.
    void tokenizer_sparse_ids_are_refused_quickly() {
        const auto t0 = std::chrono::steady_clock::now();
        const long rss0 = max_rss_kib();
        const std::string err =
            error_of([&] { tokenizer_data_from_hf(tokenizer_json({{"a", 0}, {"b", (1 << 22) - 1}}), "", "t.json"); });
        QVERIFY2(err.find("sparse") != std::string::npos, err.c_str());
        QVERIFY(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
        QVERIFY2(max_rss_kib() - rss0 < 64 * 1024, "refusing a sparse vocabulary must not allocate it first");
        // Real tokenizers have a few holes (added tokens past the base vocabulary): still accepted.
        nlohmann::json vocab;
        for (int i = 0; i < 256; ++i) vocab[aptest::byte_token(i)] = i;
        TokenizerData d = tokenizer_data_from_hf(tokenizer_json(vocab, {{{"id", 300}, {"content", "<x>"}}}), "", "t.json");
        QCOMPARE(d.tokens.size(), size_t(301));
    }

    // Item 2: head count 0 divided by zero (SIGFPE) before validation; huge
    // counts wrapped through int.
    void zero_or_huge_head_count_is_an_error() {
        aptest::TinyModel tiny = aptest::make_tiny_model(5, false);
        for (const nlohmann::json& heads : {nlohmann::json(0), nlohmann::json(4294967297ULL), nlohmann::json(-4)}) {
            const std::string d = dir_ + "/hf-heads";
            aptest::write_tiny_hf(tiny, d);
            nlohmann::json cfg = nlohmann::json::parse(read_all(d + "/config.json"));
            cfg["num_attention_heads"] = heads;
            cfg.erase("num_key_value_heads");
            aptest::write_text(d + "/config.json", cfg.dump());
            const std::string err = error_of([&] { load_model(d); });
            QVERIFY2(err.find("config.json") != std::string::npos || err.find(d) != std::string::npos, err.c_str());
            QVERIFY2(err.find("head") != std::string::npos || err.find("num_attention_heads") != std::string::npos,
                     err.c_str());
        }
        // GGUF: llama.attention.head_count = 0 and no key_length.
        {
            GgufWriter g;
            g.set_string("general.architecture", "llama");
            g.set_u32("llama.block_count", 1);
            g.set_u32("llama.embedding_length", 64);
            g.set_u32("llama.feed_forward_length", 128);
            g.set_u32("llama.attention.head_count", 0);
            std::vector<float> emb(64 * 8, 0.f);
            g.add_tensor("token_embd.weight", GgmlType::F32, {64, 8}, emb.data());
            const std::string p = dir_ + "/heads0.gguf";
            g.write(p);
            const std::string err = error_of([&] { load_model(p); });
            QVERIFY2(err.find("head count 0") != std::string::npos, err.c_str());
        }
        // Every dimension has an upper bound, so products of two never overflow.
        ModelConfig c;
        c.n_layer = 1, c.n_embd = 64, c.n_head = 4, c.n_head_kv = 2, c.head_dim = 16, c.n_ff = 128, c.n_vocab = 300;
        validate_config(c, "ok");
        ModelConfig big = c;
        big.head_dim = 1 << 20;
        QVERIFY(error_of([&] { validate_config(big, "cfg"); }).find("accepted: 1..") != std::string::npos);
        big = c;
        big.n_vocab = limits::kMaxVocab + 1;
        QVERIFY(!error_of([&] { validate_config(big, "cfg"); }).empty());
        QVERIFY(error_of([&] { config_int(int64_t(1) << 40, "x", "cfg"); }).find("out of range") != std::string::npos);
    }

    // Item 3: a metadata array became one ~100-byte object per element, so a
    // 100 MB file cost 10 GB. Now packed: memory follows the file.
    void metadata_arrays_cost_what_the_file_holds() {
        const std::string p = dir_ + "/bigarray.gguf";
        {
            // 48 MiB of uint8 elements, written by hand (the writer builds arrays element by element).
            const uint64_t n = 48ull << 20;
            std::ofstream o(p, std::ios::binary);
            auto put = [&](auto v) { o.write(reinterpret_cast<const char*>(&v), sizeof v); };
            auto put_str = [&](const std::string& s) { put(uint64_t(s.size())); o.write(s.data(), std::streamsize(s.size())); };
            o.write("GGUF", 4);
            put(uint32_t(3));
            put(uint64_t(0));  // tensors
            put(uint64_t(1));  // metadata entries
            put_str("x.big");
            put(uint32_t(9));  // array
            put(uint32_t(0));  // of uint8
            put(n);
            std::vector<char> zeros(1 << 20, 7);
            for (uint64_t k = 0; k < (n >> 20); ++k) o.write(zeros.data(), std::streamsize(zeros.size()));
        }
        const long rss0 = max_rss_kib();
        GgufFile f(p);
        const long grew_mib = (max_rss_kib() - rss0) / 1024;
        QVERIFY2(grew_mib < 160, qPrintable(QString("parsing a 48 MiB array raised peak memory by %1 MiB").arg(grew_mib)));
        const GgufValue* v = f.find("x.big");
        QVERIFY(v);
        QCOMPARE(v->size(), size_t(48) << 20);
        QCOMPARE(v->element(12345).u, uint64_t(7));
        QVERIFY_THROWS_EXCEPTION(Error, v->element(size_t(48) << 20));
    }

    // Found by fuzz_gguf: a zero-element F32 tensor passed a null destination
    // to memcpy (undefined behaviour, reported by UBSan).
    void empty_tensors_dequantize_to_nothing() {
        for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_K})
            dequantize_row(t, nullptr, nullptr, 0);
        GgufWriter g;
        g.set_string("general.architecture", "llama");
        g.add_tensor("empty", GgmlType::F32, {0}, nullptr);
        const std::string p = dir_ + "/empty.gguf";
        g.write(p);
        GgufFile f(p);
        QCOMPARE(f.find_tensor("empty")->n_elements(), int64_t(0));
    }

    // Item 4: a symlink planted at OUT.tmp made the writer overwrite its target
    // and left OUT a symlink; stale temporaries of killed runs stayed forever.
    // A model bigger than the memory available is refused before any weight
    // is read, with what it needs and what there is; the estimate counts
    // dense tensors as the fp32 the engine holds.
    void model_larger_than_memory_is_refused() {
        const std::string p = dir_ + "/fits.gguf";
        aptest::write_tiny_gguf(aptest::make_tiny_model(3), p);
        const LoadEstimate e = estimate_load(p);
        int64_t elements = 0;
        const GgufFile f(p);
        for (const auto& t : f.tensors()) elements += t.n_elements();
        QCOMPARE(e.weight_bytes, uint64_t(elements) * 4);
        QVERIFY(e.total() > e.weight_bytes);
        QVERIFY(load_model(p) != nullptr);  // fits this machine
        qputenv("ANYPREC_MEMORY_LIMIT", QByteArray::number(qulonglong(e.total() - 1)));
        try {
            (void)load_model(p);
            qunsetenv("ANYPREC_MEMORY_LIMIT");
            QFAIL("a model larger than the available memory was loaded");
        } catch (const ap::Error& err) {
            const QString m = err.what();
            QVERIFY2(m.contains("fits.gguf") && m.contains("loading needs about") && m.contains("available"), qPrintable(m));
        }
        qputenv("ANYPREC_NO_MEMORY_CHECK", "1");
        QVERIFY(load_model(p) != nullptr);  // the user's override
        qunsetenv("ANYPREC_NO_MEMORY_CHECK");
        qunsetenv("ANYPREC_MEMORY_LIMIT");
    }

    void atomic_writer_never_follows_planted_links() {
        const std::string out = dir_ + "/out.bin", victim = dir_ + "/victim.txt";
        aptest::write_text(victim, "precious");
        fs::remove(out + ".tmp");
        fs::create_symlink(victim, out + ".tmp");
        // A link at the target itself is replaced, never written through.
        fs::remove(out);
        fs::create_symlink(victim, out);
        {
            AtomicFileWriter w(out);
            QVERIFY(w.temp_path() != out + ".tmp");
            QCOMPARE(fs::path(w.temp_path()).parent_path(), fs::path(out).parent_path());
            w.write("new", 3);
            w.commit();
        }
        QCOMPARE(read_all(victim), std::string("precious"));
        QVERIFY(!fs::is_symlink(out));
        QCOMPARE(read_all(out), std::string("new"));
        QVERIFY(fs::is_symlink(out + ".tmp"));  // not ours: left alone
    }

    void atomic_writer_cleans_stale_temporaries() {
        const std::string out = dir_ + "/ck.safetensors";
        // pid 2^22+1 is above Linux's pid_max ceiling: never a live process.
        const std::string stale = dir_ + "/.ck.safetensors.4194305.0123456789abcdef.anyprec-tmp";
        const std::string live = dir_ + "/.ck.safetensors." + std::to_string(::getpid()) + ".00000000000000aa.anyprec-tmp";
        const std::string other = dir_ + "/.ck.safetensors.notours";
        for (const auto& p : {stale, live, other}) aptest::write_text(p, "x");
        {
            AtomicFileWriter w(out);
            w.write("ok", 2);
            w.commit();
        }
        QVERIFY(!fs::exists(stale));
        QVERIFY(fs::exists(live));   // a writer that is still running keeps its file
        QVERIFY(fs::exists(other));
        fs::remove(live);
        fs::remove(other);
    }

    // Item 4: Ctrl+C during the final write was ignored.
    void cancelled_write_leaves_nothing() {
        const std::string out = dir_ + "/cancel.safetensors";
        aptest::write_text(out, "old contents");
        std::atomic<bool> cancel{true};
        SafetensorsWriter st;
        std::vector<float> data(1 << 20, 1.f);
        st.add_f32("w", {1 << 20}, data.data());
        QVERIFY_THROWS_EXCEPTION(Cancelled, st.write(out, &cancel));
        QCOMPARE(read_all(out), std::string("old contents"));
        for (const auto& e : fs::directory_iterator(dir_))
            QVERIFY2(e.path().filename().string().find("cancel.safetensors.") == std::string::npos,
                     e.path().c_str());
        cancel = false;
        st.write(out, &cancel);
        QCOMPARE(SafetensorsFile(out).tensors().size(), size_t(1));
    }

    // Item 6: a truncated checkpoint header read as "a plain safetensors file
    // without our metadata".
    void truncated_checkpoint_says_truncated() {
        const std::string p = dir_ + "/trunc.safetensors";
        SafetensorsWriter st;
        st.set_metadata("format", "anyprec");
        std::vector<float> w(64, 0.5f);
        st.add_f32("w", {64}, w.data());
        st.write(p);
        const std::string whole = read_all(p);
        aptest::write_text(p, whole.substr(0, 40));  // cut inside the header
        const std::string err = error_of([&] { load_model(p); });
        QVERIFY2(err.find("truncated") != std::string::npos, err.c_str());
        QVERIFY2(err.find("plain safetensors") == std::string::npos, err.c_str());
    }

    // Item 6: a crafted tensor offset wrapped and printed a wrong file offset.
    void wrapped_tensor_offset_is_reported_as_such() {
        GgufWriter g;
        g.set_string("general.architecture", "llama");
        std::vector<float> v(32, 1.f);
        g.add_tensor("t", GgmlType::F32, {32}, v.data());
        const std::string p = dir_ + "/wrap.gguf";
        g.write(p);
        std::string b = read_all(p);
        const size_t at = b.find(std::string("\x01\0\0\0\0\0\0\0t", 9));  // name length 1, "t"
        QVERIFY(at != std::string::npos);
        // name (8 + 1), dimension count (4), one dimension (8), type (4), then the offset
        const uint64_t off = ~uint64_t(0) - 31;  // aligned, and wraps when added to the data start
        std::memcpy(&b[at + 9 + 4 + 8 + 4], &off, 8);
        aptest::write_text(p, b);
        const std::string err = error_of([&] { GgufFile f(p); });
        QVERIFY2(err.find("beyond 2^64") != std::string::npos, err.c_str());
    }

    // Item 6: bytes without a token silently became <|endoftext|>.
    void unencodable_bytes_are_counted() {
        TokenizerData d;
        d.kind = TokenizerData::Kind::ByteBPE;
        d.tokens = {"a", "b", "<unk>"};
        d.token_types = {1, 1, 2};
        d.unk_id = 2;
        Tokenizer t(d);
        QCOMPARE(t.unencodable_bytes("abba"), size_t(0));
        QCOMPARE(t.unencodable_bytes(std::string("ab\x01\xff", 4)), size_t(2));
        const auto ids = t.encode(std::string("a\x01", 2), false, false);
        QCOMPARE(ids.back(), 2);  // what the count warns about
        // A full byte-level vocabulary encodes everything.
        aptest::TinyModel tiny = aptest::make_tiny_model(3, false);
        TokenizerData full;
        full.tokens = tiny.tokens;
        full.merges = tiny.merges;
        Tokenizer ft(full);
        std::string all;
        for (int c = 0; c < 256; ++c) all += char(c);
        QCOMPARE(ft.unencodable_bytes(all), size_t(0));
    }
};

QTEST_GUILESS_MAIN(TestHardening)
#include "test_hardening.moc"
