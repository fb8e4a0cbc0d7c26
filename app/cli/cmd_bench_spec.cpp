// anyprec bench --draft-bits: self-speculative decoding against plain decoding
// at the verifying width, alternating on the same chat prompts, greedy.
#include "bench.h"
#include "bench_spec.h"
#include "cli_common.h"
#include "error.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace apcli {

namespace {

// One prompt per non-empty line of the file, or the built-in list.
std::vector<std::string> prompt_texts(const Args& a) {
    if (!a.has("--prompts")) return ap::bench_chat_prompts();
    std::vector<std::string> out;
    std::istringstream in(read_text_file(a.str("--prompts")));
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    if (out.empty()) throw ap::file_error(a.str("--prompts"), "holds no prompts (one per line expected)");
    return out;
}

}  // namespace

int bench_speculative(const Args& a, ap::Session& s, const std::vector<int>& targets, bool json) {
    const ap::Model& m = s.model();
    const std::vector<int> drafts = widths_from(a, "--draft-bits");
    std::vector<int> ks = a.int_list("--draft-k", 1, ap::kern::kFewTokens - 1);
    if (ks.empty()) ks = {4};
    for (int d : drafts) check_width(m, d);
    ap::SpecBenchOptions o;
    o.max_tokens = int(a.integer("--spec-tokens", o.max_tokens, 2, ap::limits::kMaxGenerateTokens));
    o.rounds = int(a.integer("--reps", o.rounds, 1, 100));
    const bool adaptive = !a.has("--fixed-k");
    const auto prompts = ap::chat_prompt_tokens(m, prompt_texts(a));
    for (const auto& p : prompts)
        if (int(p.size()) + o.max_tokens + ap::kern::kFewTokens > s.n_ctx())
            throw ap::Error("a prompt of " + std::to_string(p.size()) + " tokens leaves no room to generate in the context");

    std::vector<ap::SpecBench> rows;
    for (int t : targets)
        for (int d : drafts)
            for (int k : ks) {
                if (d >= m.resolve_bits(t)) continue;
                if (!json) std::fprintf(stderr, "benchmarking %d from %d bits, k = %d...\n", m.resolve_bits(t), d, k);
                rows.push_back(ap::bench_speculative(s, prompts, t, d, k, adaptive, o));
            }
    if (rows.empty()) throw ap::Error("--draft-bits: no draft width is narrower than a --bits width");
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : rows)
            out.push_back({{"bits", r.bits}, {"draft_bits", r.draft_bits}, {"draft_k", r.draft_k}, {"adaptive", r.adaptive},
                           {"plain_tok_s", r.plain_tok_s}, {"spec_tok_s", r.spec_tok_s}, {"speedup", r.speedup()},
                           {"acceptance", r.acceptance}, {"tokens_per_round", r.round_tokens}, {"prompts", r.prompts},
                           {"identical", r.identical}, {"threads", s.threads()}, {"kernels", s.kernels().name}});
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("threads: %d, kernels: %s, %zu chat prompts, up to %d tokens each, %d alternating rounds, greedy, k %s\n",
                s.threads(), s.kernels().name, prompts.size(), o.max_tokens, o.rounds, adaptive ? "adaptive from the value shown" : "fixed");
    std::printf("%6s %6s %4s %12s %12s %9s %11s %12s %10s\n", "bits", "draft", "k", "plain t/s", "spec t/s", "speed-up",
                "accepted", "tokens/pass", "identical");
    for (const auto& r : rows)
        std::printf("%6d %6d %4d %12.1f %12.1f %8.2fx %10.0f%% %12.2f %6d/%-3d\n", r.bits, r.draft_bits, r.draft_k,
                    r.plain_tok_s, r.spec_tok_s, r.speedup(), 100 * r.acceptance, r.round_tokens, r.identical, r.prompts);
    return 0;
}

}  // namespace apcli
