// Tokenizer: SmolLM2's byte-level BPE against ids checked with an
// independent implementation, a hand-built SentencePiece vocabulary, the
// tokenizer.json and JSON loaders, the pre-tokenizers and UTF-8 streaming.
#include "error.h"
#include "gguf.h"
#include "pretokenizer.h"
#include "test_util.h"
#include "tokenizer.h"

#include <QtTest>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

using namespace ap;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

QString show(const std::vector<int32_t>& ids) {
    QStringList s;
    for (int32_t id : ids) s << QString::number(id);
    return "[" + s.join(", ") + "]";
}

std::vector<std::string> pieces_of(PreTokenizerKind k, std::string_view text) {
    std::vector<std::string_view> v;
    pretokenize(k, text, v);
    return {v.begin(), v.end()};
}

// A hand-built SentencePiece vocabulary: control tokens, 256 byte tokens and a few pieces.
TokenizerData tiny_spm() {
    TokenizerData d;
    d.kind = TokenizerData::Kind::SentencePieceBPE;
    auto add = [&](const std::string& t, float score, int32_t type) {
        d.tokens.push_back(t);
        d.scores.push_back(score);
        d.token_types.push_back(type);
    };
    add("<unk>", 0, 2);
    add("<s>", 0, 3);
    add("</s>", 0, 3);
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        add(buf, 0, 6);
    }
    add("\xE2\x96\x81", -10, 1);       // 259 "▁"
    add("a", -11, 1);                   // 260
    add("b", -12, 1);                   // 261
    add("c", -13, 1);                   // 262
    add("\xE2\x96\x81" "a", -2, 1);    // 263 "▁a"
    add("ab", -3, 1);                   // 264
    add("bc", -1, 1);                   // 265
    d.unk_id = 0;
    d.bos_id = 1;
    d.eos_id = 2;
    d.eog_ids = {2};
    d.add_bos = true;
    d.add_space_prefix = true;
    return d;
}

}  // namespace

class TestTokenizer : public QObject {
    Q_OBJECT
    std::unique_ptr<GgufFile> gguf_;
    std::unique_ptr<Tokenizer> smol_;

    bool load_smollm() {
        if (smol_) return true;
        if (!std::filesystem::exists(aptest::smollm_path())) return false;
        gguf_ = std::make_unique<GgufFile>(aptest::smollm_path());
        smol_ = std::make_unique<Tokenizer>(tokenizer_data_from_gguf(*gguf_));
        return true;
    }

private slots:
    void cleanupTestCase() { std::filesystem::remove_all(aptest::temp_dir()); }

    void smollm_metadata() {
        AP_REQUIRE_FILE(aptest::smollm_path());
        QVERIFY(load_smollm());
        const TokenizerData& d = smol_->data();
        QVERIFY(d.kind == TokenizerData::Kind::ByteBPE);
        QCOMPARE(d.pretokenizer, std::string("smollm"));
        QCOMPARE(smol_->n_vocab(), 49152);
        QCOMPARE(d.merges.size(), size_t(48900));
        QCOMPARE(d.bos_id, 1);  // <|im_start|>
        QCOMPARE(d.eos_id, 2);  // <|im_end|>
        QCOMPARE(d.add_bos, false);
        // <|endoftext|> (0) is a control token on the end-of-generation list.
        QCOMPARE(d.eog_ids, (std::vector<int32_t>{0, 2}));
        QVERIFY(smol_->is_eog(0) && smol_->is_eog(2) && !smol_->is_eog(1));
        QVERIFY(smol_->is_control(1) && !smol_->is_control(17));
        QCOMPARE(smol_->find_token("\xC4\xA0world"), 905);  // "Ġworld"
        QCOMPARE(smol_->find_token("no such piece"), -1);
    }

    void smollm_exact_ids_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("special");
        QTest::addColumn<QString>("expected");
        // Pieces (byte-level spelling) -> ids, looked up in the GGUF token list
        // and confirmed with Hugging Face `tokenizers` on the same vocab/merges.
        QTest::newRow("hello") << "Hello world" << false << "19556 905";          // Hello, Ġworld
        QTest::newRow("digits") << " 2024 was" << false << "216 34 32 34 36 436"; // Ġ, 2, 0, 2, 4, Ġwas
        QTest::newRow("accents") << QString::fromUtf8("na\xC3\xAFve caf\xC3\xA9") << false
                                 << "3546 46494 37366";                            // na, Ã¯ve, ĠcafÃ©
        QTest::newRow("contraction") << "I'm here!!" << false << "57 5248 1535 10095"; // I, 'm, Ġhere, !!
        QTest::newRow("emoji") << QString::fromUtf8("\xF0\x9F\x99\x82 ok") << false
                               << "10813 38887 10907";                             // ðŁ, ĻĤ, Ġok
        QTest::newRow("chatml") << "<|im_start|>user\nHi<|im_end|>" << true
                                << "1 4093 198 26843 2";                           // <|im_start|>, user, Ċ, Hi, <|im_end|>
    }
    void smollm_exact_ids() {
        AP_REQUIRE_FILE(aptest::smollm_path());
        QVERIFY(load_smollm());
        QFETCH(QString, text);
        QFETCH(bool, special);
        QFETCH(QString, expected);
        std::vector<int32_t> want;
        for (const QString& s : expected.split(' ')) want.push_back(s.toInt());
        const std::string utf8 = text.toStdString();
        const auto got = smol_->encode(utf8, false, special);
        QVERIFY2(got == want, qPrintable(show(got) + " != " + show(want)));
        QCOMPARE(smol_->decode(got, true), utf8);
    }

    void smollm_special_tokens_only_when_asked() {
        AP_REQUIRE_FILE(aptest::smollm_path());
        QVERIFY(load_smollm());
        const auto plain = smol_->encode("<|im_end|>", false, false);
        QVERIFY(plain.size() > 1);
        QVERIFY(std::find(plain.begin(), plain.end(), 2) == plain.end());
        QCOMPARE(smol_->decode(plain), std::string("<|im_end|>"));
        // Control tokens are invisible unless rendered.
        QCOMPARE(smol_->decode({1, 19556, 2}), std::string("Hello"));
        QCOMPARE(smol_->decode({1, 19556, 2}, true), std::string("<|im_start|>Hello<|im_end|>"));
        QCOMPARE(smol_->encode("Hi", true, false).front(), 1);
        QCOMPARE(smol_->encode("", false, true).size(), size_t(0));
    }

    void smollm_mobydick_roundtrip() {
        AP_REQUIRE_FILE(aptest::smollm_path());
        AP_REQUIRE_FILE(aptest::text_path("mobydick.txt"));
        QVERIFY(load_smollm());
        const std::string text = read_file(aptest::text_path("mobydick.txt"));
        QVERIFY(text.size() > 1000000);
        const auto t0 = std::chrono::steady_clock::now();
        const auto ids = smol_->encode(text, false, false);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        qInfo("Moby Dick: %zu bytes -> %zu tokens in %.3f s", text.size(), ids.size(), secs);
        // Count from Hugging Face `tokenizers` on the same vocabulary and pre-tokenizer.
        QCOMPARE(ids.size(), size_t(316997));
        QVERIFY(smol_->decode(ids) == text);
        QVERIFY2(secs < 2.0, qPrintable(QString("encoding took %1 s").arg(secs)));
    }

    void hf_json_matches_gguf() {
        AP_REQUIRE_FILE(aptest::smollm_path());
        QVERIFY(load_smollm());
        const TokenizerData& g = smol_->data();
        for (bool pair_merges : {false, true}) {
            // tokenizer.json as Hugging Face writes it for SmolLM2.
            nlohmann::json vocab = nlohmann::json::object(), added = nlohmann::json::array(),
                           merges = nlohmann::json::array();
            for (size_t i = 0; i < g.tokens.size(); ++i) {
                vocab[g.tokens[i]] = i;
                if (g.token_types[i] == 3) added.push_back({{"id", i}, {"content", g.tokens[i]}, {"special", true}});
            }
            for (const std::string& m : g.merges) {
                const size_t sp = m.find(' ');
                if (pair_merges) merges.push_back({m.substr(0, sp), m.substr(sp + 1)});
                else merges.push_back(m);
            }
            nlohmann::json tj = {
                {"version", "1.0"},
                {"added_tokens", added},
                {"normalizer", nullptr},
                {"pre_tokenizer",
                 {{"type", "Sequence"},
                  {"pretokenizers",
                   {{{"type", "Digits"}, {"individual_digits", true}},
                    {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}}}}},
                {"post_processor", {{"type", "ByteLevel"}, {"trim_offsets", false}}},
                {"decoder", {{"type", "ByteLevel"}}},
                {"model", {{"type", "BPE"}, {"byte_fallback", false}, {"vocab", vocab}, {"merges", merges}}},
            };
            const std::string cfg = R"({"add_bos_token": false, "bos_token": "<|im_start|>",
                                        "eos_token": {"content": "<|im_end|>", "special": true}})";
            const TokenizerData h = tokenizer_data_from_hf(tj.dump(), cfg, "tokenizer.json");
            QVERIFY(h.kind == TokenizerData::Kind::ByteBPE);
            QCOMPARE(h.pretokenizer, std::string("smollm"));
            QCOMPARE(h.tokens, g.tokens);
            QCOMPARE(h.token_types, g.token_types);
            QCOMPARE(h.merges, g.merges);
            QCOMPARE(h.bos_id, g.bos_id);
            QCOMPARE(h.eos_id, g.eos_id);
            QCOMPARE(h.add_bos, g.add_bos);
            QCOMPARE(h.eog_ids, g.eog_ids);
            Tokenizer th(h);
            std::string sample = "<|im_start|>user\nCall me Ishmael. Some years ago\xE2\x80\x94never mind how long "
                                 "precisely\xE2\x80\x94having 1,000 dollars \xF0\x9F\x99\x82 na\xC3\xAFve!<|im_end|>\n";
            if (std::filesystem::exists(aptest::text_path("sherlock.txt")))
                sample += read_file(aptest::text_path("sherlock.txt")).substr(0, 100000);
            QVERIFY(th.encode(sample, true, true) == smol_->encode(sample, true, true));
        }
    }

    void hf_rejects_unknown_pretokenizer() {
        const std::string tj = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
            "pre_tokenizer": {"type": "Whitespace"}, "decoder": {"type": "ByteLevel"}})";
        try {
            tokenizer_data_from_hf(tj, "", "/models/x/tokenizer.json");
            QFAIL("expected ap::Error");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("/models/x/tokenizer.json") != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("Whitespace") != std::string::npos, e.what());
        }
        QVERIFY_THROWS_EXCEPTION(Error, tokenizer_data_from_hf("{not json", "", "t.json"));
    }

    void hf_sentencepiece_json() {
        // A Llama-2-style tokenizer.json: Prepend/Replace normalizer, byte fallback.
        const std::string u = "\xE2\x96\x81";
        nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
        for (int b = 0; b < 256; ++b) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "<0x%02X>", b);
            vocab[buf] = 3 + b;
        }
        vocab[u] = 259, vocab["a"] = 260, vocab["b"] = 261, vocab["c"] = 262;
        vocab[u + "a"] = 263, vocab["bc"] = 264, vocab["ab"] = 265;
        nlohmann::json tj = {
            {"added_tokens",
             {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
              {{"id", 1}, {"content", "<s>"}, {"special", true}},
              {{"id", 2}, {"content", "</s>"}, {"special", true}}}},
            {"normalizer",
             {{"type", "Sequence"},
              {"normalizers",
               {{{"type", "Prepend"}, {"prepend", u}},
                {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", u}}}}}},
            {"pre_tokenizer", nullptr},
            {"model",
             {{"type", "BPE"}, {"unk_token", "<unk>"}, {"byte_fallback", true}, {"vocab", vocab},
              {"merges", {"b c", u + " a", "a b"}}}},
        };
        const TokenizerData d = tokenizer_data_from_hf(tj.dump(), "", "tokenizer.json");
        QVERIFY(d.kind == TokenizerData::Kind::SentencePieceBPE);
        QVERIFY(d.add_space_prefix);
        QVERIFY(d.add_bos);
        QCOMPARE(d.bos_id, 1);
        QCOMPARE(d.eos_id, 2);
        QCOMPARE(d.unk_id, 0);
        QCOMPARE(d.token_types[0], 2);
        QCOMPARE(d.token_types[3 + 0xC3], 6);
        // Merge order is the priority: "bc" first, then "▁a", then "ab".
        QVERIFY(d.scores[264] > d.scores[263] && d.scores[263] > d.scores[265]);
        Tokenizer t(d);
        QCOMPARE(t.encode("abc", true, false), (std::vector<int32_t>{1, 263, 264}));
        QCOMPARE(t.encode("c\xC3\xA9", false, false), (std::vector<int32_t>{259, 262, 3 + 0xC3, 3 + 0xA9}));
    }

    void spm_scores_and_prefix() {
        const TokenizerData d = tiny_spm();
        {
            Tokenizer t(d);
            // "▁abc": "bc" has the best score, then "▁a"; "ab" never gets its turn.
            QCOMPARE(t.encode("abc", false, false), (std::vector<int32_t>{263, 265}));
            QCOMPARE(t.encode("abc", true, false), (std::vector<int32_t>{1, 263, 265}));
            QCOMPARE(t.decode({1, 263, 265}), std::string("abc"));
            QCOMPARE(t.decode({1, 263, 265}, true), std::string("<s> abc"));
            // Spaces become ▁; "▁b" is not a piece.
            QCOMPARE(t.encode("a b", false, false), (std::vector<int32_t>{263, 259, 261}));
            QCOMPARE(t.decode(t.encode(" a b", false, false)), std::string(" a b"));
        }
        {
            TokenizerData d2 = d;
            d2.scores[264] = -0.5f;  // now "ab" wins first
            Tokenizer t(d2);
            QCOMPARE(t.encode("abc", false, false), (std::vector<int32_t>{259, 264, 262}));
        }
        {
            TokenizerData d3 = d;
            d3.add_space_prefix = false;
            Tokenizer t(d3);
            QCOMPARE(t.encode("abc", false, false), (std::vector<int32_t>{260, 265}));
            QCOMPARE(t.decode({263, 265}), std::string(" abc"));
        }
    }

    void spm_byte_fallback_and_specials() {
        Tokenizer t(tiny_spm());
        // é is not a piece: its two UTF-8 bytes become <0xC3> <0xA9>.
        const auto ids = t.encode("a\xC3\xA9", false, false);
        QCOMPARE(ids, (std::vector<int32_t>{263, 3 + 0xC3, 3 + 0xA9}));
        QCOMPARE(t.decode(ids), std::string("a\xC3\xA9"));
        QCOMPARE(t.token_bytes(3 + 0xC3), std::string("\xC3"));
        // Control text is split out only with parse_special; the text after
        // it gets the prefix space again (as llama.cpp does).
        QCOMPARE(t.encode("a</s>a", false, true), (std::vector<int32_t>{263, 2, 263}));
        const auto plain = t.encode("</s>", false, false);
        QVERIFY(std::find(plain.begin(), plain.end(), 2) == plain.end());
        QVERIFY(t.is_eog(2));
        QCOMPARE(t.token_bytes(0), std::string("\xEF\xBF\xBD"));
    }

    void byte_bpe_tiny_merges() {
        // All 256 byte symbols, then merges whose rank decides the outcome.
        TokenizerData d;
        d.pretokenizer = "gpt2";
        d.tokens.resize(256);
        // GPT-2 spelling of bytes: printable ASCII stays itself.
        auto spell = [](unsigned char b) {
            const unsigned keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            unsigned cp = b;
            if (!keep) {
                unsigned n = 0x100;
                for (unsigned x = 0; x < b; ++x)
                    if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE)) ++n;
                cp = n;
            }
            std::string s;
            if (cp < 0x80) s += char(cp);
            else s += char(0xC0 | (cp >> 6)), s += char(0x80 | (cp & 0x3F));
            return s;
        };
        for (int b = 0; b < 256; ++b) d.tokens[b] = spell(static_cast<unsigned char>(b));
        QCOMPARE(d.tokens[' '], std::string("\xC4\xA0"));  // Ġ
        d.tokens.push_back("aa");   // 256
        d.tokens.push_back("aaa");  // 257
        d.tokens.push_back("\xC4\xA0" "a");  // 258 "Ġa"
        d.merges = {"a a", "aa a", "\xC4\xA0 a"};
        d.token_types.assign(d.tokens.size(), 1);
        Tokenizer t(d);
        // Equal ranks merge leftmost first: "aaaa" -> aa aa, "aaa" -> aaa.
        QCOMPARE(t.encode("aaaa", false, false), (std::vector<int32_t>{256, 256}));
        QCOMPARE(t.encode("aaa", false, false), (std::vector<int32_t>{257}));
        // " ?\p{L}+" keeps the space with the word: " aaa" = Ġ + aaa ("a a" outranks "Ġ a").
        QCOMPARE(t.encode(" aaa", false, false), (std::vector<int32_t>{' ', 257}));
        QCOMPARE(t.encode(" a", false, false), (std::vector<int32_t>{258}));
        QCOMPARE(t.decode(t.encode("x\n\t\xFF y", false, false)), std::string("x\n\t\xFF y"));
    }

    void pretokenizers_match_reference() {
        // Expected pieces from Hugging Face tokenizers' pre_tokenize_str with
        // the same patterns (bytes mapped back from the byte-level spelling).
        const std::string s = "I'LL don't  \xC2\xA0 x\xE3\x80\x80y 2024\xE5\xB9\xB4 \xC2\xBD \xE2\x91\xA0!?\n\n\nfoo "
                              ".Bar\t\tbaz ,\r\n  end   ";
        using V = std::vector<std::string>;
        const std::string nbsp = "\xC2\xA0", ideo = "\xE3\x80\x80", nian = "\xE5\xB9\xB4", half = "\xC2\xBD",
                          one = "\xE2\x91\xA0";
        QCOMPARE(pieces_of(PreTokenizerKind::Gpt2, s),
                 (V{"I", "'", "LL", " don", "'t", "  " + nbsp, " x", ideo, "y", " 2024", nian, " " + half, " " + one,
                    "!?", "\n\n", "\n", "foo", " .", "Bar", "\t", "\t", "baz", " ,", "\r\n ", " end", "   "}));
        QCOMPARE(pieces_of(PreTokenizerKind::SmolLM, s),
                 (V{"I", "'", "LL", " don", "'t", "  " + nbsp, " x", ideo, "y", " ", "2", "0", "2", "4", nian, " ",
                    half, " ", one, "!?", "\n\n", "\n", "foo", " .", "Bar", "\t", "\t", "baz", " ,", "\r\n ", " end",
                    "   "}));
        QCOMPARE(pieces_of(PreTokenizerKind::Llama3, s),
                 (V{"I", "'LL", " don", "'t", "  " + nbsp, " x", ideo + "y", " ", "202", "4", nian, " ", half, " ",
                    one, "!?\n\n\n", "foo", " .", "Bar", "\t", "\tbaz", " ,\r\n", " ", " end", "   "}));
        QCOMPARE(pieces_of(PreTokenizerKind::Qwen2, s),
                 (V{"I", "'LL", " don", "'t", "  " + nbsp, " x", ideo + "y", " ", "2", "0", "2", "4", nian, " ", half,
                    " ", one, "!?\n\n\n", "foo", " .", "Bar", "\t", "\tbaz", " ,\r\n", " ", " end", "   "}));
        const std::string s2 = "Hello  world's 12345 it'S\n\n  x!!\n\ty?  \r\n";
        QCOMPARE(pieces_of(PreTokenizerKind::Gpt2, s2),
                 (V{"Hello", " ", " world", "'s", " 12345", " it", "'", "S", "\n\n ", " x", "!!", "\n", "\t", "y", "?",
                    "  \r\n"}));
        QCOMPARE(pieces_of(PreTokenizerKind::Llama3, s2),
                 (V{"Hello", " ", " world", "'s", " ", "123", "45", " it", "'S", "\n\n", " ", " x", "!!\n", "\ty", "?",
                    "  \r\n"}));
    }

    void stream_decoder_holds_partial_utf8() {
        AP_REQUIRE_FILE(aptest::smollm_path());
        QVERIFY(load_smollm());
        const std::string emoji = "\xF0\x9F\x99\x82";  // 🙂, split by BPE into two 2-byte tokens
        const auto ids = smol_->encode(emoji, false, false);
        QCOMPARE(ids, (std::vector<int32_t>{10813, 38887}));
        Utf8StreamDecoder dec;
        QCOMPARE(dec.push(smol_->token_bytes(ids[0])), std::string());
        QCOMPARE(dec.push(smol_->token_bytes(ids[1])), emoji);
        QCOMPARE(dec.flush(), std::string());
    }

    void stream_decoder_bytewise_and_invalid() {
        const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x99\x82z";
        Utf8StreamDecoder dec;
        std::string out;
        for (char c : text) {
            const std::string part = dec.push(std::string(1, c));
            QVERIFY(part.empty() || (static_cast<unsigned char>(part[0]) & 0xC0) != 0x80);  // never starts mid-sequence
            out += part;
        }
        out += dec.flush();
        QCOMPARE(out, text);
        // Invalid bytes come out as U+FFFD at once; a truncated tail only on flush.
        QCOMPARE(dec.push("x\xFFy"), std::string("x\xEF\xBF\xBDy"));
        QCOMPARE(dec.push("\xE2\x82"), std::string());
        QCOMPARE(dec.flush(), std::string("\xEF\xBF\xBD"));
        QCOMPARE(dec.push("\xC3(ok"), std::string("\xEF\xBF\xBD(ok"));
    }

    void json_round_trip() {
        TokenizerData d = tiny_spm();
        d.tokens.push_back("\xFF\xFE");  // not UTF-8
        d.scores.push_back(-std::numeric_limits<float>::infinity());
        d.token_types.push_back(1);
        d.scores[260] = 0.1f;  // a float that has no short decimal form
        d.merges = {"a b", "\xE2\x96\x81 a"};
        d.pad_id = 0;
        d.add_space_prefix = false;
        const TokenizerData r = tokenizer_data_from_json(tokenizer_data_to_json(d), "ckpt");
        QVERIFY(r.kind == d.kind);
        QCOMPARE(r.pretokenizer, d.pretokenizer);
        QCOMPARE(r.tokens, d.tokens);
        QCOMPARE(r.token_types, d.token_types);
        QCOMPARE(r.merges, d.merges);
        QCOMPARE(r.scores.size(), d.scores.size());
        QVERIFY(std::memcmp(r.scores.data(), d.scores.data(), d.scores.size() * sizeof(float)) == 0);
        QCOMPARE(r.bos_id, d.bos_id);
        QCOMPARE(r.eos_id, d.eos_id);
        QCOMPARE(r.unk_id, d.unk_id);
        QCOMPARE(r.pad_id, d.pad_id);
        QCOMPARE(r.eog_ids, d.eog_ids);
        QCOMPARE(r.add_bos, d.add_bos);
        QCOMPARE(r.add_space_prefix, d.add_space_prefix);
        QVERIFY_THROWS_EXCEPTION(Error, tokenizer_data_from_json("{\"format\": \"other\"}", "ckpt"));
    }

    void json_round_trip_smollm() {
        AP_REQUIRE_FILE(aptest::smollm_path());
        QVERIFY(load_smollm());
        const TokenizerData r = tokenizer_data_from_json(tokenizer_data_to_json(smol_->data()), "ckpt");
        QCOMPARE(r.tokens, smol_->data().tokens);
        QCOMPARE(r.merges, smol_->data().merges);
        Tokenizer t(r);
        QCOMPARE(t.encode(" 2024 was", false, false), (std::vector<int32_t>{216, 34, 32, 34, 36, 436}));
    }

    void gguf_without_tokens_names_file() {
        const std::string path = aptest::temp_dir() + "/no-tokens.gguf";
        GgufWriter w;
        w.set_string("general.architecture", "llama");
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.write(path);
        GgufFile f(path);
        try {
            tokenizer_data_from_gguf(f);
            QFAIL("expected ap::Error");
        } catch (const Error& e) {
            const std::string msg = e.what();
            QVERIFY2(msg.find(path) != std::string::npos && msg.find("tokenizer.ggml.tokens") != std::string::npos,
                     e.what());
        }
        std::filesystem::remove(path);
    }

    void gguf_spm_defaults() {
        // A "llama" (SentencePiece) vocabulary without the optional keys.
        const TokenizerData src = tiny_spm();
        const std::string path = aptest::temp_dir() + "/spm.gguf";
        GgufWriter w;
        w.set_string("general.architecture", "llama");
        w.set_string("tokenizer.ggml.model", "llama");
        w.set_string_array("tokenizer.ggml.tokens", src.tokens);
        w.set_f32_array("tokenizer.ggml.scores", src.scores);
        w.set_i32_array("tokenizer.ggml.token_type", src.token_types);
        w.write(path);
        GgufFile f(path);
        const TokenizerData d = tokenizer_data_from_gguf(f);
        std::filesystem::remove(path);
        QVERIFY(d.kind == TokenizerData::Kind::SentencePieceBPE);
        QCOMPARE(d.bos_id, 1);
        QCOMPARE(d.eos_id, 2);
        QCOMPARE(d.unk_id, 0);
        QVERIFY(d.add_bos);
        QVERIFY(d.add_space_prefix);
        QCOMPARE(d.eog_ids, (std::vector<int32_t>{2}));
        Tokenizer t(d);
        QCOMPARE(t.encode("abc", true, false), (std::vector<int32_t>{1, 263, 265}));
    }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
