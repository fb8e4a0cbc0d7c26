// The anyprec binary end to end on tiny models: commands work, and bad input
// gives a clear error naming the file or argument, a non-zero exit, no crash.
#include "test_util.h"
#include "tiny_model.h"

#include <QElapsedTimer>
#include <QProcess>
#include <nlohmann/json.hpp>
#include <QtTest>

class TestCli : public QObject {
    Q_OBJECT
    std::string dir_;
    aptest::TinyModel tiny_;

    struct Out { int code; QString out, err; };
    Out run(const QStringList& args, const QByteArray& stdin_data = {}) {
        QProcess p;
        p.start(ANYPREC_CLI, args);
        if (!stdin_data.isEmpty()) p.write(stdin_data);
        p.closeWriteChannel();
        if (!p.waitForFinished(120000)) return {-1, {}, "timeout"};
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }
    QString path(const char* name) { return QString::fromStdString(dir_ + "/" + name); }

    void expect_error(const QStringList& args, const QString& must_mention) {
        Out o = run(args);
        QVERIFY2(o.code > 0, qPrintable(args.join(' ') + " exited " + QString::number(o.code)));
        QVERIFY2(o.err.contains("error"), qPrintable(o.err));
        QVERIFY2(o.err.contains(must_mention), qPrintable("expected '" + must_mention + "' in: " + o.err));
    }

private slots:
    void initTestCase() {
        dir_ = aptest::temp_dir() + "/cli";
        std::filesystem::create_directories(dir_);
        tiny_ = aptest::make_tiny_model(3, false);
        aptest::write_tiny_gguf(tiny_, dir_ + "/tiny.gguf");
        aptest::write_text(dir_ + "/text.txt", std::string(3000, 'a') + " the end");
    }
    void cleanupTestCase() { std::filesystem::remove_all(dir_); }

    void version_and_help() {
        Out v = run({"--version"});
        QCOMPARE(v.code, 0);
        QVERIFY(v.out.startsWith("anyprec "));
        for (const char* cmd : {"info", "run", "chat", "tokenize", "ppl", "quantize", "bench"}) {
            Out h = run({cmd, "--help"});
            QCOMPARE(h.code, 0);
            QVERIFY2(h.out.contains("usage: anyprec"), cmd);
        }
    }

    void info_run_tokenize_ppl() {
        Out i = run({"info", path("tiny.gguf")});
        QCOMPARE(i.code, 0);
        QVERIFY(i.out.contains("2 layers"));
        Out t = run({"tokenize", path("tiny.gguf"), "the then"});
        QCOMPARE(t.code, 0);
        // "the" -> "th"+"e" -> "the" (258). " then": rank 0 "t h" beats rank 3 "Ġ t",
        // so it is "Ġ" (byte 32), "the" (258), "n" (110).
        QCOMPARE(t.out.trimmed().split('\n'), QStringList({"258", "32", "258", "110"}));
        Out r = run({"run", path("tiny.gguf"), "-p", "the", "-n", "5", "--temp", "0", "-t", "1"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.err.contains("decode:"));
        Out p = run({"ppl", path("tiny.gguf"), path("text.txt"), "--ctx", "64"});
        QCOMPARE(p.code, 0);
        QVERIFY2(p.out.trimmed().split('\n').last().startsWith("perplexity: "), qPrintable(p.out));
    }

    void tokenize_vocabulary_only_gguf() {
        // Only tokenizer metadata, no tensors: `tokenize` must still work.
        ap::GgufWriter g;
        g.set_string("general.architecture", "llama");
        g.set_string("tokenizer.ggml.model", "gpt2");
        g.set_string_array("tokenizer.ggml.tokens", tiny_.tokens);
        g.set_string_array("tokenizer.ggml.merges", tiny_.merges);
        g.write(dir_ + "/vocab.gguf");
        Out t = run({"tokenize", path("vocab.gguf"), "the"});
        QCOMPARE(t.code, 0);
        QCOMPARE(t.out.trimmed(), QString("258"));
        expect_error({"info", path("vocab.gguf")}, "vocab.gguf");  // but it is not a model
    }

    void chat_reads_stdin() {
        QProcess p;
        p.start(ANYPREC_CLI, {"chat", path("tiny.gguf"), "-n", "4", "--temp", "0"});
        p.write("hello\n/exit\n");
        p.closeWriteChannel();
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains("tokens/s"));
    }

    // quantize, then bench every width of the result as JSON with a chosen kernel set.
    void quantize_then_bench() {
        Out q = run({"quantize", path("tiny.gguf"), "-o", path("tiny-ap.safetensors"), "--calib", path("text.txt"),
                     "--calib-tokens", "256", "-t", "1"});
        QVERIFY2(q.code == 0, qPrintable(q.err));
        Out b = run({"bench", path("tiny-ap.safetensors"), "--bits", "3,8", "--no-source", "--json", "--decode-tokens", "4",
                     "--prompt-tokens", "8", "--reps", "2", "--kernels", "scalar", "-t", "1"});
        QVERIFY2(b.code == 0, qPrintable(b.err));
        const auto j = nlohmann::json::parse(b.out.toStdString());
        QVERIFY(j.is_array() && j.size() == 2);
        for (const auto& row : j) {
            QVERIFY(row.at("bits") == 3 || row.at("bits") == 8);
            QVERIFY(row.at("decode_tok_s").get<double>() > 0 && row.at("prompt_tok_s").get<double>() > 0);
            QVERIFY(row.at("bytes_per_token").get<double>() > 0 && row.at("gemv_gbs").get<double>() > 0);
            // Each width's fraction is of the read bandwidth measured beside its own GEMV passes.
            const double stream = row.at("stream_read_gbs").get<double>();
            QVERIFY(stream > 0);
            QCOMPARE(row.at("gemv_fraction_of_bandwidth").get<double>(), row.at("gemv_gbs").get<double>() / stream);
        }
        QVERIFY(j[0].at("bytes_per_token").get<double>() != j[1].at("bytes_per_token").get<double>());
        QVERIFY(!j[0].contains("long_decode_tok_s"));
        // Decode after a long prompt beside the short one, in the same rounds.
        Out l = run({"bench", path("tiny-ap.safetensors"), "--bits", "4", "--no-source", "--json", "--decode-tokens", "4",
                     "--prompt-tokens", "8", "--decode-after", "4", "--long-after", "48", "--reps", "3", "-t", "1"});
        QVERIFY2(l.code == 0, qPrintable(l.err));
        const auto lj = nlohmann::json::parse(l.out.toStdString());
        QVERIFY(lj.is_array() && lj.size() == 1);
        QCOMPARE(lj[0].at("long_after").get<int>(), 48);
        const double ratio = lj[0].at("long_over_short").get<double>();
        QVERIFY(lj[0].at("long_decode_tok_s").get<double>() > 0);
        QVERIFY2(ratio > 0.05 && ratio < 20, qPrintable(QString::number(ratio)));
        expect_error({"bench", path("tiny-ap.safetensors"), "--long-after", "0"}, "--long-after: 0 is out of range");
    }

    void bad_files() {
        // Truncated: the first half of a valid file.
        std::string full = dir_ + "/tiny.gguf";
        auto size = std::filesystem::file_size(full);
        std::filesystem::copy_file(full, dir_ + "/trunc.gguf");
        std::filesystem::resize_file(dir_ + "/trunc.gguf", size / 2);
        expect_error({"info", path("trunc.gguf")}, "trunc.gguf");
        aptest::write_text(dir_ + "/bad.gguf", "GGUX this is not a model at all, just some bytes.............");
        expect_error({"info", path("bad.gguf")}, "bad.gguf");
        expect_error({"info", path("missing.gguf")}, "missing.gguf");
        // Unknown architecture.
        aptest::write_tiny_gguf(tiny_, dir_ + "/gpt2.gguf", ap::GgmlType::F32, "gpt2");
        expect_error({"info", path("gpt2.gguf")}, "unsupported architecture");
        // A HF folder without a tokenizer.
        aptest::write_tiny_hf(tiny_, dir_ + "/hf");
        std::filesystem::remove(dir_ + "/hf/tokenizer.json");
        expect_error({"run", path("hf"), "-p", "x"}, "tokenizer.json");
        // Wrong tensor shape: a model whose config says 3 KV heads but tensors have 2.
        aptest::TinyModel shaped = tiny_;
        shaped.shape["model.layers.1.mlp.up_proj.weight"] = {tiny_.n_ff - 1, tiny_.n_embd};
        shaped.w["model.layers.1.mlp.up_proj.weight"].resize(size_t(tiny_.n_ff - 1) * tiny_.n_embd);
        aptest::write_tiny_gguf(shaped, dir_ + "/shape.gguf");
        expect_error({"info", path("shape.gguf")}, "blk.1.ffn_up.weight");
    }

    void bad_arguments() {
        expect_error({"run", path("tiny.gguf"), "-p", ""}, "empty prompt");
        expect_error({"run", path("tiny.gguf"), "-p", QString(400, 'x'), "--ctx", "64"}, "context");
        expect_error({"run", path("tiny.gguf"), "-p", "hi", "--bogus"}, "--bogus");
        expect_error({"run", path("tiny.gguf"), "-p", "hi", "--bits", "4"}, "not an any-precision");
        expect_error({"ppl", path("tiny.gguf"), path("nope.txt")}, "nope.txt");
        expect_error({"run", path("tiny.gguf"), "-p", "hi", "-n", "abc"}, "--max-tokens");
        expect_error({"bench", path("tiny.gguf"), "--kernels", "sse9"}, "--kernels sse9");
        expect_error({"bench", path("tiny.gguf"), "--reps", "0"}, "--reps");
        expect_error({"bench", path("tiny.gguf"), "--copy-budget", "0"}, "--copy-budget: 0 is out of range");
    }

    // Numbers that used to wrap or be taken silently (issue 16, item 5): each
    // is refused, the message names the option and states the accepted range.
    void numbers_out_of_range() {
        const QStringList run_hi = {"run", path("tiny.gguf"), "-p", "hi"};
        expect_error(run_hi + QStringList{"--ctx", "4294967312"}, "--ctx: 4294967312 is out of range (accepted: 16..");
        expect_error(run_hi + QStringList{"--threads", "4294967297"}, "--threads: 4294967297 is out of range (accepted: 0..");
        expect_error(run_hi + QStringList{"--threads", "10000"}, "accepted: 0..512");
        expect_error(run_hi + QStringList{"--bits", "4294967300"}, "--bits: 4294967300 is out of range (accepted: 2..8)");
        expect_error(run_hi + QStringList{"-n", "-5"}, "--max-tokens: -5 is out of range");
        expect_error(run_hi + QStringList{"--seed", "99999999999999999999"}, "--seed");
        expect_error(run_hi + QStringList{"--ctx", " 64"}, "is not an integer");
        // A range list is checked before it is expanded (this one used to allocate 4 GB).
        QElapsedTimer t;
        t.start();
        expect_error({"ppl", path("tiny.gguf"), path("text.txt"), "--bits", "3-2147483647"}, "accepted: 2..8");
        QVERIFY(t.elapsed() < 20000);
        expect_error({"ppl", path("tiny.gguf"), path("text.txt"), "--bits", "8-3"}, "runs backwards");
        expect_error({"quantize", path("tiny.gguf"), "-o", path("x.safetensors"), "--seed-bits", "4294967299"},
                     "--seed-bits");
    }

    // Issue 16, item 6: messages that named the wrong problem.
    void messages_name_the_problem() {
        // A directory given as the text file read as "0 tokens".
        expect_error({"ppl", path("tiny.gguf"), QString::fromStdString(dir_)}, "is a directory");
        // A prompt with bytes the vocabulary has no token for: the tiny
        // vocabulary has all 256 bytes, so nothing is said.
        Out r = run({"run", path("tiny.gguf"), "-p", QString::fromLatin1("\x01\x7f"), "-n", "1", "-t", "1"});
        QCOMPARE(r.code, 0);
        QVERIFY2(!r.err.contains("no token in this vocabulary"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
