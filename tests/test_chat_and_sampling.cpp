// Chat formats picked from template text (never executed) and the sampler's
// filters: greedy, top-k, top-p, min-p, repetition penalty, seeds.
#include "chat_template.h"
#include "sampler.h"

#include <QtTest>
#include <map>
#include <set>

using namespace ap;

class TestChatAndSampling : public QObject {
    Q_OBJECT

    // Empirical distribution of 4000 draws.
    static std::map<int32_t, int> draws(const SamplingParams& p, const std::vector<float>& logits,
                                        const std::vector<int32_t>& history = {}) {
        Sampler s(p);
        std::map<int32_t, int> n;
        for (int i = 0; i < 4000; ++i) n[s.sample(logits.data(), int(logits.size()), history)]++;
        return n;
    }
    static SamplingParams plain(float temp) {
        SamplingParams p;
        p.temperature = temp;
        p.top_k = 0;
        p.top_p = 1;
        p.min_p = 0;
        p.repeat_penalty = 1;
        return p;
    }

private slots:
    void detects_formats() {
        std::string w;
        QCOMPARE(detect_chat_format("{% for m in messages %}<|im_start|>{{ m.role }}", &w), ChatFormat::ChatML);
        QCOMPARE(detect_chat_format("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}", &w), ChatFormat::Llama3);
        QCOMPARE(detect_chat_format("{% if message['role'] == 'user' %}{{ '<|user|>\n' }}{% elif %}{{ '<|assistant|>' }}", &w),
                 ChatFormat::Zephyr);
        QCOMPARE(detect_chat_format("{{ bos_token + '[INST] ' + content + ' [/INST]' }}", &w), ChatFormat::Llama2);
        QVERIFY(w.empty());
        QCOMPARE(detect_chat_format("{{ something nobody knows }}", &w), ChatFormat::ChatML);
        QVERIFY(!w.empty());  // unknown templates fall back with a warning
    }

    void formats_prompts() {
        const std::vector<ChatMessage> msgs = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}, {"user", "Bye"}};
        QCOMPARE(format_chat(ChatFormat::ChatML, {{"user", "Hi"}}, true, ""),
                 std::string("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
        QCOMPARE(format_chat(ChatFormat::Llama3, {{"user", "Hi"}}, true, "<|begin_of_text|>"),
                 std::string("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                             "<|start_header_id|>assistant<|end_header_id|>\n\n"));
        QCOMPARE(format_chat(ChatFormat::Zephyr, {{"user", "Hi"}}, true, ""), std::string("<|user|>\nHi</s>\n<|assistant|>\n"));
        QCOMPARE(format_chat(ChatFormat::Llama2, msgs, true, "<s>"),
                 std::string("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello </s><s>[INST] Bye [/INST]"));
        QVERIFY(!chat_stop_strings(ChatFormat::ChatML).empty());
    }

    void greedy_takes_argmax() {
        std::vector<float> l = {0.1f, 2.0f, 1.9f, -3.f};
        auto n = draws(plain(0), l);
        QCOMPARE(n.size(), size_t(1));
        QCOMPARE(n.begin()->first, 1);
    }

    void temperature_follows_softmax() {
        std::vector<float> l = {0.f, std::log(3.f)};  // probabilities 1/4, 3/4
        auto n = draws(plain(1), l);
        QVERIFY2(std::abs(n[1] / 4000.0 - 0.75) < 0.03, qPrintable(QString::number(n[1])));
    }

    void top_k_top_p_min_p_filter() {
        std::vector<float> l = {3.f, 2.9f, 2.8f, 0.f, -1.f};
        auto p = plain(1);
        p.top_k = 2;
        auto n = draws(p, l);
        QVERIFY(n.size() == 2 && n.count(0) && n.count(1));
        p = plain(1);
        p.top_p = 0.5f;  // the first token alone holds ~36%, the first two ~69%
        n = draws(p, l);
        QVERIFY(n.size() == 2 && n.count(0) && n.count(1));
        p = plain(1);
        p.min_p = 0.5f;  // keeps tokens at least half as likely as the best: 0, 1, 2
        n = draws(p, l);
        QCOMPARE(n.size(), size_t(3));
        QVERIFY(!n.count(3) && !n.count(4));
    }

    void repetition_penalty_discourages_history() {
        std::vector<float> l = {2.f, 1.9f};
        auto p = plain(0);
        p.repeat_penalty = 1.5f;
        Sampler s(p);
        QCOMPARE(s.sample(l.data(), 2, {}), 0);
        QCOMPARE(s.sample(l.data(), 2, {0}), 1);  // 2.0 / 1.5 < 1.9
    }

    void same_seed_same_sequence() {
        std::vector<float> l(50);
        for (int i = 0; i < 50; ++i) l[i] = float(i % 7) * 0.3f;
        auto p = plain(1);
        p.seed = 123;
        Sampler a(p), b(p);
        std::vector<int32_t> sa, sb;
        for (int i = 0; i < 100; ++i) {
            sa.push_back(a.sample(l.data(), 50, {}));
            sb.push_back(b.sample(l.data(), 50, {}));
        }
        QCOMPARE(sa, sb);
        p.seed = 124;
        Sampler c(p);
        std::vector<int32_t> sc;
        for (int i = 0; i < 100; ++i) sc.push_back(c.sample(l.data(), 50, {}));
        QVERIFY(sc != sa);
    }

    // The sampler sorts only what it may keep; it must pick exactly what a
    // full sort of the vocabulary would (same draws, same order, ties by id).
    void matches_full_sort_reference() {
        auto reference = [](const std::vector<float>& logits, const SamplingParams& p, std::mt19937_64& rng) {
            std::vector<std::pair<float, int32_t>> c;
            for (int i = 0; i < int(logits.size()); ++i) c.push_back({logits[i], i});
            std::sort(c.begin(), c.end(), [](auto& a, auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
            size_t keep = p.top_k > 0 ? std::min(c.size(), size_t(p.top_k)) : c.size();
            std::vector<double> prob(keep);
            double sum = 0;
            for (size_t i = 0; i < keep; ++i) sum += (prob[i] = std::exp(double(c[i].first - c[0].first) / p.temperature));
            for (auto& x : prob) x /= sum;
            if (p.min_p > 0) {
                size_t n = 1;
                while (n < keep && prob[n] >= p.min_p * prob[0]) ++n;
                keep = n;
            }
            if (p.top_p < 1) {
                double cum = 0;
                size_t n = 0;
                while (n < keep) {
                    cum += prob[n++];
                    if (cum >= p.top_p) break;
                }
                keep = std::max<size_t>(1, n);
            }
            double total = 0;
            for (size_t i = 0; i < keep; ++i) total += prob[i];
            std::uniform_real_distribution<double> u(0.0, total);
            double r = u(rng), acc = 0;
            for (size_t i = 0; i < keep; ++i)
                if (r < (acc += prob[i])) return c[i].second;
            return c[keep - 1].second;
        };
        std::mt19937 gen(3);
        std::normal_distribution<float> nd(0.f, 2.f);
        std::vector<float> l(3000);
        for (auto& x : l) x = std::round(nd(gen) * 8) / 8;  // many ties
        int checked = 0;
        for (int top_k : {0, 1, 40, 2999, 5000})
            for (float top_p : {1.f, 0.9f, 0.5f})
                for (float min_p : {0.f, 0.05f, 0.5f}) {
                    SamplingParams p = plain(0.8f);
                    p.top_k = top_k;
                    p.top_p = top_p;
                    p.min_p = min_p;
                    p.seed = 77;
                    Sampler s(p);
                    std::mt19937_64 rng(p.seed);
                    for (int i = 0; i < 30; ++i, ++checked)
                        QCOMPARE(s.sample(l.data(), int(l.size()), {}), reference(l, p, rng));
                }
        QCOMPARE(checked, 5 * 3 * 3 * 30);
    }
};

QTEST_GUILESS_MAIN(TestChatAndSampling)
#include "test_chat_and_sampling.moc"
