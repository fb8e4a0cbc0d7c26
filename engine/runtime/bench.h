// Measurements behind `anyprec bench` and the app's speed figures: decode and
// prompt throughput, GEMV bandwidth per width, and the machine's own
// streaming-read bandwidth to compare them with.
#pragma once
#include "session.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace ap {

struct WidthBench {
    int bits = 0;                 // 0 = unquantized source
    double decode_tok_s = 0;      // >= decode_tokens generated after a fixed prompt of decode_after tokens
    double prompt_tok_s = 0;      // one prompt of prompt_tokens tokens
    double gemv_s = 0;            // time of every weight matrix once at n = 1 (one token's GEMVs)
    double gemv_gbs = 0;          // bytes those GEMVs read / gemv_s
    double stream_gbs = 0;        // the machine's streaming read, best of passes alternating with those GEMV passes
    uint64_t bytes_per_token = 0; // weight + table bytes read per decoded token (code copies at their size)
    uint64_t resident_bytes = 0;  // process resident set after the run
    // BenchOptions::long_after > 0: decode after a prompt that long, and the
    // median over rounds of long / decode_tok_s's run in the same round.
    double long_decode_tok_s = 0, long_ratio = 0;
};

struct BenchOptions {
    int decode_tokens = 128;
    int prompt_tokens = 512;
    int decode_after = 32;  // decode runs after a prompt this long (long: the KV cache's cost per token)
    // > 0: every round also decodes after a prompt this long, next to the
    // run after decode_after (which goes first alternates by round), so that
    // the ratio compares runs a minute of machine noise apart at most.
    int long_after = 0;
    int gemv_reps = 20;
    size_t stream_bytes = size_t(512) << 20;  // the streaming-read probe's buffer (0: no probe)
    int reps = 3;  // rounds of prompt and decode runs over the widths; each width's median is reported (machines are noisy)
};

// The median of runs; with an even count the mean of the middle two (the
// upper one alone favoured us against llama-bench's mean at --reps 2). 0 if none.
double median(std::vector<double> v);

// The context a session needs for these measurements.
int bench_context(const BenchOptions& o);
// The session must have n_ctx >= bench_context(o). Each width's prompt and
// decode runs alternate with the other widths' (rounds in turn forwards and
// backwards); then each width's GEMV passes alternating with streaming reads.
std::vector<WidthBench> bench_widths(Session& s, const std::vector<int>& widths, const BenchOptions& o);
WidthBench bench_width(Session& s, int bits, const BenchOptions& o);  // one width (0: an unquantized model)
// Decode `tokens` tokens greedily after a fixed prompt of `after` tokens with the session's
// profiler on (the session must be built with SessionOptions::profile):
// per-section seconds of the decode steps only. sample_s gets the argmax time.
ForwardProfile profile_decode(Session& s, int bits, int tokens, int after, double* sample_s);
// Every weight matrix once at n = 1: best of `reps` timed passes after an
// untimed one (used by bench_width and by the app's live figures).
double time_gemv_pass(Session& s, int bits, int reps);

// The machine's streaming read: a sum over a buffer much larger than the
// caches, split over `threads`. The buffer lives as long as the probe.
class ReadProbe {
public:
    ReadProbe(const kern::KernelSet& k, int threads, size_t bytes);
    ~ReadProbe();
    double pass_gbs();  // one pass over the buffer, GB/s
private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};
uint64_t resident_set_bytes();

// Self-speculative decoding against plain decoding at the same width, on the
// same prompts in one alternating run (each prompt plain, then speculative,
// every round), greedy so the two outputs must match token for token.
struct SpecBench {
    int bits = 0, draft_bits = 0, draft_k = 0;
    bool adaptive = true;
    double plain_tok_s = 0, spec_tok_s = 0;  // generated tokens / decode seconds, summed over prompts
    double acceptance = 0;                   // accepted / drafted
    double round_tokens = 0;                 // tokens per verify pass
    int prompts = 0, identical = 0;          // prompts whose speculative output equals the plain one
    int64_t tokens = 0;                      // generated per pass over the prompts
    double speedup() const { return plain_tok_s > 0 ? spec_tok_s / plain_tok_s : 0; }
};
struct SpecBenchOptions {
    int max_tokens = 128;  // per prompt (generation also stops at EOS, as a user sees it)
    int rounds = 2;
};
SpecBench bench_speculative(Session& s, const std::vector<std::vector<int32_t>>& prompts, int bits, int draft_bits,
                            int draft_k, bool adaptive, const SpecBenchOptions& o);
// A fixed list of varied chat requests (questions, instructions, code, lists)
// for speed measurements that depend on what is generated.
const std::vector<std::string>& bench_chat_prompts();
// Each as one user turn in the model's chat format, tokenized.
std::vector<std::vector<int32_t>> chat_prompt_tokens(const Model& m, const std::vector<std::string>& texts);

}  // namespace ap
