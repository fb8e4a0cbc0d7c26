// Session::generate: prompt (reusing the cached prefix), then sample, stream
// and evaluate one token at a time until EOS, a stop string, the token limit,
// a full context or cancellation.
#include "error.h"
#include "session.h"

#include <chrono>

namespace ap {

using Clock = std::chrono::steady_clock;
static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Length of the longest suffix of `text` that is a proper prefix of a stop
// string: that much must be held back until we know it is not a stop.
static size_t held_back(const std::string& text, const std::vector<std::string>& stops) {
    size_t hold = 0;
    for (const auto& s : stops)
        for (size_t k = std::min(s.size() - 1, text.size()); k > hold; --k)
            if (text.compare(text.size() - k, k, s, 0, k) == 0) {
                hold = k;
                break;
            }
    return hold;
}

GenerateResult Session::generate(const GenerateRequest& req, const std::function<void(const TokenEvent&)>& on_token) {
    if (req.prompt.empty()) throw Error("empty prompt: nothing to generate from");
    if (int(req.prompt.size()) >= n_ctx_)
        throw Error("prompt of " + std::to_string(req.prompt.size()) + " tokens does not fit the context of " +
                    std::to_string(n_ctx_) + " tokens (raise --ctx or shorten the prompt)");
    GenerateResult res;
    res.n_prompt = int(req.prompt.size());
    const auto t_start = Clock::now();
    auto width_now = [&] { return m_.resolve_bits(req.live_bits ? req.live_bits->load() : req.bits); };
    int bits = width_now();

    // Reuse the cached prefix computed at the same width; always evaluate at
    // least the last prompt token to get fresh logits.
    size_t keep = 0;
    if (cache_bits_ == bits)
        while (keep < cached_.size() && keep < req.prompt.size() && cached_[keep] == req.prompt[keep]) ++keep;
    if (keep == req.prompt.size()) --keep;
    n_past_ = int(keep);
    cached_.resize(keep);

    std::vector<float> logits;
    eval(req.prompt.data() + keep, int(req.prompt.size() - keep), bits, &logits, false);
    res.n_prompt_evaluated = int(req.prompt.size() - keep);
    res.prompt_s = since(t_start);

    Sampler sampler(req.sampling);
    std::vector<int32_t> history = req.prompt;
    Utf8StreamDecoder utf8;
    std::string text;     // everything generated (stop strings cut off)
    size_t emitted = 0;   // bytes of `text` already handed to on_token
    Clock::time_point t_first{}, t_prev = Clock::now();
    const int n_vocab = m_.cfg.n_vocab;

    auto emit = [&](int32_t id, std::string piece, int index, int b) {
        auto now = Clock::now();
        const double token_s = std::chrono::duration<double>(now - t_prev).count();
        t_prev = now;  // decode time runs to the last token even without a callback
        if (!on_token) return;
        TokenEvent ev;
        ev.id = id;
        ev.text = std::move(piece);
        ev.index = index;
        ev.bits = b;
        ev.elapsed_s = since(t_start);
        ev.token_s = token_s;
        on_token(ev);
    };

    for (int i = 0; i < req.max_tokens; ++i) {
        if (req.cancel && req.cancel->load()) {
            res.reason = StopReason::Cancelled;
            break;
        }
        const int32_t id = sampler.sample(logits.data(), n_vocab, history);
        if (i == 0) {
            t_first = Clock::now();
            res.ttft_s = since(t_start);
        }
        if (!req.ignore_eos && m_.tok->is_eog(id)) {
            res.reason = StopReason::Eos;
            break;
        }
        history.push_back(id);
        res.tokens.push_back(id);
        res.n_generated++;
        text += utf8.push(m_.tok->token_bytes(id));

        bool stopped = false;
        for (const auto& s : req.stop) {
            size_t at = text.find(s, emitted > s.size() ? emitted - s.size() : 0);
            if (!s.empty() && at != std::string::npos) {
                text.resize(at);
                stopped = true;
            }
        }
        const size_t safe = stopped ? text.size() : text.size() - held_back(text, req.stop);
        std::string piece = safe > emitted ? text.substr(emitted, safe - emitted) : std::string();
        emitted = std::max(emitted, safe);
        emit(id, std::move(piece), i, bits);
        if (stopped) {
            res.reason = StopReason::StopString;
            break;
        }
        if (i + 1 == req.max_tokens) break;
        if (n_past_ >= n_ctx_) {
            res.reason = StopReason::ContextFull;
            break;
        }
        bits = width_now();
        if (bits != cache_bits_) cache_bits_ = bits;  // cache now mixes widths; prefix reuse keys on the last one
        eval(&id, 1, bits, &logits, false);
    }
    std::string rest = utf8.flush();
    text += rest;
    if (text.size() > emitted && res.reason != StopReason::StopString) emit(-1, text.substr(emitted), res.n_generated, bits);
    res.text = text;
    if (res.n_generated > 0) res.decode_s = std::chrono::duration<double>(t_prev - t_first).count();
    return res;
}

}  // namespace ap
