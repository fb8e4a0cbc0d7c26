// A conversation's runtime state over one loaded model: KV cache, thread
// pool, scratch buffers; runs prompts, generation and perplexity windows.
#pragma once
#include "model.h"
#include "sampler.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ap {

// How the KV cache stores its rows: fp16, or int8 with one fp32 scale per
// row of head_dim values (half the memory and half the bytes attention reads
// per token at long contexts).
enum class KvCache { F16, Q8 };
const char* kv_cache_name(KvCache k);  // "f16", "q8"

constexpr int kCodeCopyAuto = -1;    // SessionOptions::code_copy_from
constexpr int kCodeCopyAlways = -2;  // SessionOptions::code_copy_from

struct SessionOptions {
    int n_ctx = 2048;   // KV cache length (clamped to the model's training context)
    int threads = 0;    // 0 = available_cpus()
    int batch = 64;     // prompt tokens per forward chunk
    KvCache kv_cache = KvCache::F16;
    kern::KernelChoice kernels = kern::KernelChoice::Auto;
    bool profile = false;  // accumulate per-section times (ForwardProfile)
    // Prompt chunks above kern::kFewTokens tokens: false = int8 activations
    // per 32-column block where the kernel set has that route (AVX-512:
    // 1.5x faster prompts, like decode), true = dequantized fp32 tiles and
    // exact fp32 activations (what perplexity reports by default).
    bool exact_prompts = false;
    // Widths from this one up (0 = never) keep a copy of the active width's
    // codes (up to a byte per weight) where the kernel set has that route
    // (a table lookup per weight can cost more than the byte read). Same
    // results; rebuilt on the first token at another width. One copy serves
    // whichever width is active, so no width costs more than 8 bits' copy.
    // kCodeCopyAlways: from the width where the set's copy pays
    // (KernelSet::copy_pays_from); kCodeCopyAuto: the same for every matrix
    // when all copies fit in code_copy_budget, else for the largest matrices
    // that fit (the session resolves both: Session::code_copy_from,
    // code_copy_share), and at each width only where the copies timed faster
    // than the planes on this machine and model (the first token at a width
    // times passes over every copied matrix both ways).
    int code_copy_from = kCodeCopyAuto;
    uint64_t code_copy_budget = 0;  // bytes kCodeCopyAuto's copies may take (0 = code_copy_budget())
};
// One width's timing behind kCodeCopyAuto: a one-token pass over every
// quantized matrix from the planes and from the copies (best of 4, s), in
// the kernel set's second form too where it has one at this width
// (KernelSet::expand_layout_alt; alt_s 0: none).
struct CopyTiming {
    bool timed = false;
    double planes_s = 0, copies_s = 0, alt_s = 0;
    bool alt_wins() const { return timed && alt_s > 0 && alt_s < copies_s; }
    double best_copy_s() const { return alt_wins() ? alt_s : copies_s; }
    // Copies cost memory: they serve the width only when 3% faster.
    bool copies_win() const { return timed && best_copy_s() < 0.97 * planes_s; }
};

// What kCodeCopyAuto lets the copies take: a quarter of physical memory (a
// 1B model's 1.1 GB on any desktop; an 8B model's 8 GB only from 32 GB up).
uint64_t code_copy_budget();

// Where forward-pass time goes (collected when SessionOptions::profile is set).
struct ForwardProfile {
    double embed_s = 0, norm_s = 0, qkv_s = 0, rope_s = 0, attention_s = 0, attn_out_s = 0, mlp_s = 0, head_s = 0,
           other_s = 0;
    int64_t tokens = 0, evals = 0;
    double total() const { return embed_s + norm_s + qkv_s + rope_s + attention_s + attn_out_s + mlp_s + head_s + other_s; }
};

// Called with every linear layer's input during forward passes (calibration).
using LinearInputHook = std::function<void(const Linear& layer, const float* x, int n_tokens)>;

struct GenerateRequest {
    std::vector<int32_t> prompt;  // already tokenized (BOS and template applied)
    int max_tokens = 256;
    SamplingParams sampling;
    std::vector<std::string> stop;  // stop strings (not included in the output)
    int bits = 0;                   // width (0 = parent / full precision)
    // If set, read before every token: lets a UI change the width mid-generation.
    const std::atomic<int>* live_bits = nullptr;
    const std::atomic<bool>* cancel = nullptr;  // polled before every token
    bool ignore_eos = false;  // benchmarks: always generate max_tokens
    // Self-speculative decoding (0 = off): draft tokens at this width, verify
    // them in one pass at `bits` (or live_bits) from the same weights.
    int draft_bits = 0;
    int draft_k = 4;          // tokens drafted per round (the first round's when adaptive)
    bool adaptive_k = true;   // grow k after a fully accepted round, shrink after an early rejection
    // > 0: pick the width token by token to hold this many decoded tokens/s
    // (bits and live_bits then give the highest width allowed; 0 = the parent).
    double target_tps = 0;
};

struct TokenEvent {
    int32_t id = -1;
    std::string text;      // the new, complete UTF-8 piece (may be empty)
    int index = 0;         // 0-based index among generated tokens
    int bits = 0;          // width that produced this token
    double elapsed_s = 0;  // since the request started
    double token_s = 0;    // time spent on this token
    bool drafted = false;  // speculative: a draft token the verifying width accepted
    int accepted = -1;     // speculative: on a round's last token, how many drafts the round accepted
    int proposed = -1;     // ... and how many it drafted
};

enum class StopReason { MaxTokens, Eos, StopString, Cancelled, ContextFull };
const char* stop_reason_name(StopReason r);

struct GenerateResult {
    std::string text;
    std::vector<int32_t> tokens;
    int n_prompt = 0, n_prompt_evaluated = 0, n_generated = 0;
    double prompt_s = 0, decode_s = 0, ttft_s = 0;
    StopReason reason = StopReason::MaxTokens;
    // Speculative decoding: rounds, tokens drafted and drafts accepted.
    int n_rounds = 0, n_drafted = 0, n_accepted = 0;
    double acceptance() const { return n_drafted ? double(n_accepted) / n_drafted : 0; }
    // Tokens each round produced (accepted drafts + the verifier's own token).
    double mean_round_tokens() const { return n_rounds ? double(n_accepted + n_rounds) / n_rounds : 0; }
    std::vector<std::pair<int, int>> width_counts;  // (bits, tokens produced at that width), ascending bits
    double prompt_tok_s() const { return prompt_s > 0 ? n_prompt_evaluated / prompt_s : 0; }
    double decode_tok_s() const { return decode_s > 0 && n_generated > 1 ? (n_generated - 1) / decode_s : 0; }
};

class Session {
public:
    Session(const Model& m, const SessionOptions& opt);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const Model& model() const { return m_; }
    int n_ctx() const { return n_ctx_; }
    int threads() const;
    const kern::KernelSet& kernels() const;
    void set_linear_hook(LinearInputHook h);

    // Generates; on_token is called for every generated token. Reuses the
    // KV cache for the prefix shared with the previous call at the same width.
    // Throws ap::Error for an empty prompt or one that does not fit the context.
    GenerateResult generate(const GenerateRequest& req, const std::function<void(const TokenEvent&)>& on_token = {});

    // Low level: forget the cache; drop cached positions from n on (n <= n_past);
    // evaluate tokens at positions n_past..; logits
    // of every evaluated token (all_logits) or only the last go to `logits`
    // ([n][n_vocab] row-major). Returns the new n_past.
    void reset();
    void truncate(int n);
    // Keeps the longest prefix of `prompt` cached at width `bits` (always
    // leaving the last prompt token to evaluate); returns its length.
    int keep_prefix(const std::vector<int32_t>& prompt, int bits);
    int n_past() const { return n_past_; }
    void eval(const int32_t* tokens, int n, int bits, std::vector<float>* logits, bool all_logits);

    // One linear layer through the session's kernels and threads (Y = W X).
    void matmul(const Linear& L, const float* X, int n, float* Y, int bits);

    const ForwardProfile& profile() const;
    void clear_profile();

    uint64_t kv_bytes() const;
    uint64_t code_copy_bytes() const;  // SessionOptions::code_copy_from's copies held now
    int code_copy_from() const;        // the width copies start from, kCodeCopyAuto resolved (0 = none)
    uint64_t code_copy_max_bytes() const;  // what the copies take at the widest width (0 where none are kept)
    double code_copy_share() const;        // the fraction of quantized weights in matrices that keep copies
    // What kCodeCopyAuto measured at this width (timed = false until the
    // width has run, or where nothing was timed); copies serve the width only
    // where CopyTiming::copies_win().
    CopyTiming code_copy_timing(int bits) const;
    // Weight bytes a decoded token reads at `bits`: ap::bytes_per_token, with
    // matrices served from code copies counted at the copy's size.
    uint64_t bytes_per_token(int bits) const;
    uint64_t activation_bytes() const;

private:
    struct Impl;
    const Model& m_;
    int n_ctx_ = 0;
    int n_past_ = 0;
    int cache_bits_ = -1;
    std::vector<int32_t> cached_;
    std::unique_ptr<Impl> impl_;
};

struct PerplexityResult {
    double ppl = 0, mean_nll = 0;
    int64_t n_scored = 0;
    int n_windows = 0;
    double seconds = 0;
};
// ANYPREC.md §5: text tokenized once without BOS, non-overlapping windows of
// ctx tokens (partial last window dropped), each from an empty cache, BOS
// prefixed only if the tokenizer adds one, every token but the window's first scored.
// Throws ap::Error if the text gives fewer than ctx tokens.
PerplexityResult perplexity(Session& s, const std::vector<int32_t>& text_tokens, int ctx, int bits,
                            const ProgressFn& progress = {});

}  // namespace ap
