// The one decode loop: a stepwise generator over a Session. Session::generate,
// the CLI, the app's chat worker and every comparison column drive it.
//
// State between steps: every token of the history is in the KV cache except
// the last sampled one (`pending`), which the next step evaluates. A plain
// step evaluates it at the target width and samples one token. A speculative
// round evaluates it and k drafted tokens: k single-token steps at the draft
// width propose, then one batched pass at the target width scores all k + 1
// positions; drafts are accepted while they agree with the target (greedy: the
// same argmax; sampling: the speculative-sampling rule, so the output
// distribution is the target width's), and the target's own token ends the
// round. One KV cache serves both widths: the verify pass overwrites the
// drafted positions with target-width keys and values, so nothing stale is
// kept and no second cache is needed (memory stays one cache; the price is
// that the draft sees target-width context, which only helps acceptance).
// The kernels give a batch of up to kern::kFewTokens tokens exactly the
// arithmetic of single tokens, so greedy speculative text equals plain text.
#pragma once
#include "session.h"
#include "width_governor.h"

#include <chrono>
#include <functional>
#include <optional>

namespace ap {

class Generator {
public:
    using TokenFn = std::function<void(const TokenEvent&)>;
    // Validates the request (throws ap::Error); nothing is evaluated yet.
    Generator(Session& s, GenerateRequest req, TokenFn on_token = {});

    // Produces the next token (a speculative round: the next accepted run),
    // evaluating the prompt first on the first call. Returns false once
    // finished; result() is complete then.
    bool step();
    bool finished() const { return done_; }
    const GenerateResult& result() const { return res_; }
    // step() until finished.
    GenerateResult run();

    int draft_k() const { return k_; }  // the current k (adaptive)

private:
    using Clock = std::chrono::steady_clock;
    void prefill();
    int target_width();
    void plain_step(int bits);
    void speculative_round(int bits, int k);
    // Hands one token to the output (EOS, stop strings, token limit, streaming).
    // Returns false when generation has finished.
    bool take(int32_t id, int bits, bool drafted, int accepted, int proposed, double token_s);
    void finish(StopReason why);
    bool cancelled() const { return req_.cancel && req_.cancel->load(); }
    // Speculative sampling: accept draft `id` (drawn from q) under p, or
    // return the token drawn from the residual max(0, p - q).
    std::optional<int32_t> judge(const TokenDist& p, const TokenDist& q, int32_t id);

    Session& s_;
    const Model& m_;
    GenerateRequest req_;
    TokenFn on_token_;
    Sampler sampler_;
    GenerateResult res_;
    std::optional<WidthGovernor> governor_;
    std::vector<int32_t> history_;
    std::vector<float> logits_;
    Utf8StreamDecoder utf8_;
    std::string text_;
    size_t emitted_ = 0;  // bytes of text_ already streamed
    int32_t pending_ = -1;
    int last_bits_ = 0;
    int k_ = 0;
    bool started_ = false, done_ = false;
    TokenDist pd_, qd_;
    std::vector<TokenDist> drafts_dist_;
    std::vector<double> scratch_;  // n_vocab, zero between uses
    Clock::time_point t_start_, t_first_, t_last_;
};

}  // namespace ap
