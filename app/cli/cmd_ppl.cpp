// anyprec ppl: perplexity of a text (ANYPREC.md §5), at one or every width.
#include "cli_common.h"
#include "commands.h"
#include "error.h"

#include <cstdio>

namespace apcli {

int cmd_ppl(int argc, char** argv, int first) {
    const std::vector<OptionSpec> specs = {
        {"--ctx", "", true, "window length in tokens", "512"},
        {"--bits", "", true, "widths to evaluate, e.g. 3,4,5,6,7,8 or 3-8", "parent width"},
        {"--chunks", "", true, "evaluate only the first N windows (0 = all)", "0"},
        {"--threads", "-t", true, "threads", "CPUs available"},
        {"--int8-activations", "", false, "score with the int8 activations that run and chat use (default: exact fp32)", ""},
        head_floor_option(),
        kv_cache_option(),
        [] {
            OptionSpec o = code_copy_option();
            o.def = "0";  // see below
            return o;
        }(),
        copy_budget_option(),
    };
    Args a(specs, argc, argv, first);
    if (a.help() || a.positional().size() != 2) {
        std::printf("%s", usage_text("anyprec ppl MODEL TEXTFILE [--ctx 512] [--bits 3,4,5,6,7,8]",
                                     "Perplexity over non-overlapping windows of --ctx tokens (the text is tokenized once,\n"
                                     "without BOS; each window starts from an empty cache with BOS only if the tokenizer\n"
                                     "adds one; every token but the window's first is scored). Last line:\n"
                                     "`perplexity: X over N tokens`.", specs).c_str());
        return a.help() ? 0 : 2;
    }
    auto m = load_model_verbose(a.positional()[0]);
    apply_head_floor(a, *m);
    const std::string text = read_text_file(a.positional()[1]);
    const int ctx = int(a.integer("--ctx", 512, 2, ap::limits::kMaxContext - 1));
    std::vector<int> widths = widths_from(a, "--bits");
    if (widths.empty()) widths = {0};
    for (int b : widths) check_width(*m, b);
    auto tokens = m->tok->encode(text, false, false);
    const int chunks = int(a.integer("--chunks", 0, 0, INT_MAX));
    if (chunks > 0 && tokens.size() > size_t(chunks) * ctx) tokens.resize(size_t(chunks) * ctx);
    ap::SessionOptions so;
    so.threads = threads_from(a);
    so.n_ctx = ctx + 1;
    so.batch = 128;
    so.exact_prompts = !a.has("--int8-activations");
    so.kv_cache = kv_cache_from(a);
    // Windows are prompts, which keep the tiles: by default no copy (auto
    // would build one per width for each window's last few tokens only).
    so.code_copy_from = a.has("--code-copy") ? code_copy_from(a) : 0;
    so.code_copy_budget = copy_budget_from(a);
    ap::Session s(*m, so);
    std::fprintf(stderr, "%zu text tokens, %zu windows of %d, %d threads\n", tokens.size(), tokens.size() / ctx, ctx, s.threads());
    const bool tty = isatty(fileno(stderr));
    struct Row { int bits; ap::PerplexityResult r; };
    std::vector<Row> rows;
    for (int b : widths) {
        auto r = ap::perplexity(s, tokens, ctx, b, [&](double f, const std::string& stage) {
            if (tty) std::fprintf(stderr, "\r%s: %3.0f%% %s   ", b ? (std::to_string(b) + " bits").c_str() : "source", f * 100, stage.c_str());
            return true;
        });
        if (tty) std::fprintf(stderr, "\r%-60s\r", "");
        std::fprintf(stderr, "%s: perplexity %.4f over %lld tokens (%.1f s)\n",
                     b ? (std::to_string(m->resolve_bits(b)) + " bits").c_str() : "model", r.ppl, (long long)r.n_scored, r.seconds);
        rows.push_back({b, r});
    }
    if (rows.size() > 1 || m->any_precision()) {
        std::printf("%6s %9s %14s %12s %10s\n", "width", "bits/wt", "weight bytes", "perplexity", "tokens");
        for (auto& row : rows) {
            const int b = m->resolve_bits(row.bits);
            std::printf("%6d %9.3f %14llu %12.4f %10lld\n", b, ap::bits_per_weight(*m, b),
                        (unsigned long long)ap::bytes_per_token(*m, b), row.r.ppl, (long long)row.r.n_scored);
        }
    }
    const auto& last = rows.back().r;
    std::printf("perplexity: %.4f over %lld tokens\n", last.ppl, (long long)last.n_scored);
    return 0;
}

}  // namespace apcli
