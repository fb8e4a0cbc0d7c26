// anyprec bench: speed and memory at every width, against the machine's
// own streaming bandwidth and the unquantized source.
#include "bench.h"
#include "bench_spec.h"
#include "cli_common.h"
#include "commands.h"
#include "error.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace apcli {

int cmd_bench(int argc, char** argv, int first) {
    const std::vector<OptionSpec> specs = {
        {"--bits", "", true, "widths, e.g. 3,4,8 or 3-8", "every width the model serves"},
        {"--threads", "-t", true, "threads", "CPUs available"},
        {"--source", "", true, "unquantized model to run for reference", "the checkpoint's recorded source"},
        {"--no-source", "", false, "skip the unquantized reference", ""},
        {"--decode-tokens", "", true, "generated tokens per decode measurement", "128"},
        {"--prompt-tokens", "", true, "prompt length for the prompt measurement", "512"},
        {"--decode-after", "", true, "prompt length before the decode measurement (e.g. 2000: decode at a long context)", "32"},
        {"--long-after", "", true, "also decode after a prompt this long in every round, beside the run after --decode-after: long-context decode t/s and long/short, the median of the rounds' ratios (e.g. 2000)", "off"},
        {"--reps", "", true, "rounds of prompt and decode runs, every width once per round in alternating order (each width's median is shown)", "3"},
        {"--kernels", "", true, "CPU kernel set: auto, avxvnni (AVX2 with AVX-VNNI), avx2 or scalar (to compare sets on one CPU)", "auto"},
        {"--json", "", false, "print a JSON list instead of a table", ""},
        head_floor_option(),
        kv_cache_option(),
        code_copy_option(),
        copy_budget_option(),
        {"--profile", "", false, "also show where decode time goes, per width", ""},
        {"--draft-bits", "", true, "instead: self-speculative decoding from these draft widths, against plain decoding at --bits", ""},
        {"--draft-k", "", true, "with --draft-bits: tokens drafted per round, e.g. 2,4,6", "4"},
        {"--fixed-k", "", false, "with --draft-bits: do not adapt k", ""},
        {"--prompts", "", true, "with --draft-bits: chat prompts, one per line", "24 built-in prompts"},
        {"--spec-tokens", "", true, "with --draft-bits: tokens generated per prompt at most", "128"},
    };
    Args a(specs, argc, argv, first);
    if (a.help() || a.positional().size() != 1) {
        std::printf("%s", usage_text("anyprec bench MODEL [--bits 3-8] [--threads N] [--json]",
                                     "For each width: decode tokens/s (after a fixed prompt), prompt tokens/s, GEMV effective\n"
                                     "bandwidth (weight and table bytes read / time) as a fraction of the streaming read\n"
                                     "bandwidth measured in passes alternating with that width's GEMV passes, bytes read\n"
                                     "per token and resident memory.", specs).c_str());
        return a.help() ? 0 : 2;
    }
    ap::BenchOptions bo;
    bo.decode_tokens = int(a.integer("--decode-tokens", bo.decode_tokens, 1, ap::limits::kMaxContext / 2));
    bo.prompt_tokens = int(a.integer("--prompt-tokens", bo.prompt_tokens, 1, ap::limits::kMaxContext / 2));
    bo.decode_after = int(a.integer("--decode-after", bo.decode_after, 1, ap::limits::kMaxContext / 2));
    if (a.has("--long-after")) bo.long_after = int(a.integer("--long-after", 0, 1, ap::limits::kMaxContext / 2));
    bo.reps = int(a.integer("--reps", bo.reps, 1, 1000));
    if (bo.reps < 1 || bo.reps > 100) throw ap::Error("--reps must be between 1 and 100");
    if (bo.decode_tokens < 1 || bo.prompt_tokens < 1) throw ap::Error("--decode-tokens and --prompt-tokens must be positive");
    const int threads = threads_from(a);
    const bool json = a.has("--json");
    const ap::kern::KernelChoice kc = kernels_from(a);

    std::vector<ap::WidthBench> rows;
    std::vector<std::pair<int, ap::ForwardProfile>> profiles;
    std::vector<double> sample_times;
    std::string memory_text;
    std::string source_path;
    std::string kernel_name;
    int used_threads = 0;
    {
        auto m = load_model_verbose(a.positional()[0]);
        apply_head_floor(a, *m);
        std::vector<int> widths = widths_from(a, "--bits");
        if (widths.empty()) widths = m->widths();
        for (int b : widths) check_width(*m, b);
        ap::SessionOptions so;
        so.threads = threads;
        so.n_ctx = ap::bench_context(bo);
        so.profile = a.has("--profile");
        so.kernels = kc;
        so.kv_cache = kv_cache_from(a);
        so.code_copy_from = code_copy_from(a);
        so.code_copy_budget = copy_budget_from(a);
        if (a.has("--draft-bits")) {
            so.n_ctx = 2048;
            ap::Session s(*m, so);
            std::vector<int> targets = widths_from(a, "--bits");
            if (targets.empty()) targets = {m->max_bits()};
            return bench_speculative(a, s, targets, json);
        }
        ap::Session s(*m, so);
        kernel_name = s.kernels().name;
        used_threads = s.threads();
        const std::vector<int> order(widths.rbegin(), widths.rend());
        if (!json) std::fprintf(stderr, "benchmarking %zu width(s) in %d alternating round(s)...\n", order.size(), bo.reps);
        rows = ap::bench_widths(s, order, bo);
        if (so.profile)
            for (int b : order) {
                double samp = 0;
                profiles.push_back({m->resolve_bits(b), ap::profile_decode(s, b, bo.decode_tokens, bo.decode_after, &samp)});
                sample_times.push_back(samp);
            }
        {
            const ap::MemoryReport r = ap::weight_memory(*m);
            char buf[512];
            std::snprintf(buf, sizeof buf,
                          "memory: planes %s, tables %s, unquantized %s, KV cache %s (%d tokens), activations %s",
                          human_bytes(r.plane_bytes).c_str(), human_bytes(r.table_bytes).c_str(),
                          human_bytes(r.dense_bytes).c_str(), human_bytes(s.kv_bytes()).c_str(), s.n_ctx(),
                          human_bytes(s.activation_bytes()).c_str());
            memory_text = buf;
            if (s.code_copy_from() > 0) {
                char share[64] = "";
                if (s.code_copy_share() < 1)
                    std::snprintf(share, sizeof share, " for %.0f%% of the weights (--copy-budget)", 100 * s.code_copy_share());
                memory_text.append(", code copies ").append(human_bytes(s.code_copy_max_bytes())).append(" from ");
                memory_text.append(std::to_string(s.code_copy_from())).append(" bits").append(share).append(" (--code-copy 0: none)");
                std::string timed;
                for (int b : widths) {
                    const ap::CopyTiming t = s.code_copy_timing(m->resolve_bits(b));
                    if (!t.timed) continue;
                    // Where the set has two forms at this width: indices, then codes.
                    char one[128], alt[32] = "";
                    if (t.alt_s > 0) std::snprintf(alt, sizeof alt, " / %.1f", t.alt_s * 1e3);
                    const char* verdict = !t.copies_win() ? "planes" : t.alt_s <= 0 ? "copy" : t.alt_wins() ? "copy of codes" : "copy of indices";
                    std::snprintf(one, sizeof one, "%s%d: %.1f / %.1f%s ms (%s)", timed.empty() ? "" : ", ", m->resolve_bits(b),
                                  t.planes_s * 1e3, t.copies_s * 1e3, alt, verdict);
                    timed += one;
                }
                if (!timed.empty())
                    memory_text += "\ncode copy timed per width, planes / copies (/ copies of codes where the set has both forms): " + timed;
            }
            if (!r.separate_bytes.empty()) {
                std::snprintf(buf, sizeof buf, "\nseparate %d..%d-bit models would take %s; this checkpoint holds all in %s",
                              r.separate_bytes.front().first, r.separate_bytes.back().first,
                              human_bytes(r.separate_total()).c_str(), human_bytes(r.weight_total()).c_str());
                memory_text += buf;
            }
        }
        if (m->any_precision() && !a.has("--no-source")) {
            source_path = a.str("--source", m->quant.source_file);
            // The checkpoint records the source's file name; look next to the checkpoint too.
            if (!a.has("--source") && !std::filesystem::exists(source_path))
                source_path = (std::filesystem::path(m->path).parent_path() / m->quant.source_file).string();
            if (!std::filesystem::exists(source_path)) {
                std::fprintf(stderr, "note: source %s not found; pass --source to include the unquantized reference\n",
                             source_path.c_str());
                source_path.clear();
            }
        }
    }
    if (!source_path.empty()) {
        auto src = load_model_verbose(source_path);
        ap::SessionOptions so;
        so.threads = threads;
        so.kernels = kc;
        so.kv_cache = kv_cache_from(a);
        so.n_ctx = ap::bench_context(bo);
        ap::Session s(*src, so);
        if (!json) std::fprintf(stderr, "benchmarking the unquantized source...\n");
        rows.push_back(ap::bench_width(s, 0, bo));
    }
    // Each width's fraction is of the streaming read measured in passes alternating with its own GEMV passes.
    double bw_lo = 1e30, bw_hi = 0;
    for (const auto& r : rows) bw_lo = std::min(bw_lo, r.stream_gbs), bw_hi = std::max(bw_hi, r.stream_gbs);

    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : rows)
            out.push_back({{"bits", r.bits}, {"decode_tok_s", r.decode_tok_s}, {"prompt_tok_s", r.prompt_tok_s},
                           {"gemv_gbs", r.gemv_gbs}, {"gemv_fraction_of_bandwidth", r.gemv_gbs / r.stream_gbs},
                           {"bytes_per_token", r.bytes_per_token}, {"resident_bytes", r.resident_bytes},
                           {"threads", used_threads}, {"kernels", kernel_name}, {"stream_read_gbs", r.stream_gbs}});
        if (bo.long_after > 0)
            for (size_t i = 0; i < rows.size(); ++i) {
                out[i]["long_decode_tok_s"] = rows[i].long_decode_tok_s;
                out[i]["long_over_short"] = rows[i].long_ratio;
                out[i]["long_after"] = bo.long_after;
            }
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("threads: %d, kernels: %s, streaming read bandwidth: %.1f-%.1f GB/s (of bw: read passes alternating with each width's GEMV passes)\n",
                used_threads, kernel_name.c_str(), bw_lo, bw_hi);
    std::printf("%6s %12s %12s %10s %8s %10s %14s %12s\n", "bits", "decode t/s", "prompt t/s", "GEMV GB/s", "of bw",
                "GEMV ms", "bytes/token", "resident");
    for (const auto& r : rows)
        std::printf("%6s %12.1f %12.1f %10.1f %7.0f%% %10.2f %14s %12s\n", r.bits ? std::to_string(r.bits).c_str() : "source",
                    r.decode_tok_s, r.prompt_tok_s, r.gemv_gbs, 100 * r.gemv_gbs / r.stream_gbs, r.gemv_s * 1e3,
                    human_bytes(r.bytes_per_token).c_str(), human_bytes(r.resident_bytes).c_str());
    if (bo.long_after > 0) {
        std::printf("\ndecode after %d vs after %d prompt tokens (the same rounds; long/short: median of the rounds' ratios):\n",
                    bo.long_after, bo.decode_after);
        std::printf("%6s %12s %12s %11s\n", "bits", "short t/s", "long t/s", "long/short");
        for (const auto& r : rows)
            std::printf("%6s %12.1f %12.1f %10.2fx\n", r.bits ? std::to_string(r.bits).c_str() : "source", r.decode_tok_s,
                        r.long_decode_tok_s, r.long_ratio);
    }
    std::printf("%s\n", memory_text.c_str());
    if (!profiles.empty()) {
        std::printf("\ndecode profile (ms per token, %d tokens, %d threads):\n", bo.decode_tokens, used_threads);
        std::printf("%6s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "bits", "qkv", "attn-out", "mlp", "head", "attention",
                    "rope+kv", "norms", "embed", "sample", "total");
        for (size_t i = 0; i < profiles.size(); ++i) {
            const auto& [b, p] = profiles[i];
            const double k = 1e3 / bo.decode_tokens;
            std::printf("%6d %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n", b, p.qkv_s * k, p.attn_out_s * k,
                        p.mlp_s * k, p.head_s * k, p.attention_s * k, p.rope_s * k, p.norm_s * k, (p.embed_s + p.other_s) * k,
                        sample_times[i] * k, (p.total() + sample_times[i]) * k);
        }
    }
    return 0;
}

}  // namespace apcli
