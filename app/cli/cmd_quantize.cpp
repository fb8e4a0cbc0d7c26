// anyprec quantize: source model -> any-precision checkpoint (or a baseline).
#include "cli_common.h"
#include "commands.h"
#include "error.h"
#include "quantize.h"

#include <atomic>
#include <csignal>
#include <cstdio>

namespace apcli {

static std::atomic<bool> g_cancel{false};
static void on_sigint(int) { g_cancel = true; }

int cmd_quantize(int argc, char** argv, int first) {
    const std::vector<OptionSpec> specs = {
        {"--output", "-o", true, "output checkpoint (.safetensors)", ""},
        {"--method", "", true, "anyprec | rtn | kmeans (exact optimum per width) | lloyd (k-means++ and Lloyd, as SqueezeLLM)", "anyprec"},
        {"--seed-bits", "", true, "seed width (anyprec)", "3"},
        {"--parent-bits", "", true, "parent width (anyprec)", "8"},
        {"--anchor-bits", "", true, "width clustered optimally; lower widths merge, higher split (anyprec)", "seed width"},
        {"--head-min-bits", "", true, "serve the embedding/head at no less than this width by default (anyprec)", "0 = the served width"},
        {"--nesting", "", true, "greedy (optimal seed, best split per extra bit) | joint (seed and splits up to 5 bits chosen together, best splits above) (anyprec)", "greedy"},
        {"--seed-slack", "", true, "joint nesting: seed-width error at most this fraction above the optimal seed's, e.g. 0.01 = 1%", "0.01"},
        {"--bits", "", true, "the one width of an rtn / kmeans / lloyd baseline", "4"},
        {"--calib", "", true, "calibration text", "Sherlock Holmes from set-up"},
        {"--calib-tokens", "", true, "calibration tokens", "16384"},
        {"--sensitivity", "", true, "act (activation second moment) | none", "act"},
        {"--keep-embeddings", "", false, "leave the embedding / output head unquantized", ""},
        {"--threads", "-t", true, "threads", "CPUs available"},
    };
    Args a(specs, argc, argv, first);
    if (a.help() || a.positional().size() != 1 || !a.has("--output")) {
        std::printf("%s", usage_text("anyprec quantize SOURCE -o OUT [options]",
                                     "Quantize a model once into an any-precision checkpoint that serves every width from\n"
                                     "--seed-bits to --parent-bits. Ctrl+C cancels and leaves nothing behind.", specs).c_str());
        return a.help() ? 0 : 2;
    }
    ap::QuantizeOptions o;
    o.source = a.positional()[0];
    o.output = a.str("--output");
    o.method = a.str("--method", o.method);
    o.seed_bits = int(a.integer("--seed-bits", o.seed_bits, ap::kern::kMinBits, ap::kern::kMaxBits));
    o.parent_bits = int(a.integer("--parent-bits", o.parent_bits, ap::kern::kMinBits, ap::kern::kMaxBits));
    o.anchor_bits = int(a.integer("--anchor-bits", 0, 0, ap::kern::kMaxBits));
    o.head_min_bits = int(a.integer("--head-min-bits", 0, 0, ap::kern::kMaxBits));
    o.nesting = a.str("--nesting", o.nesting);
    o.seed_slack = a.number("--seed-slack", o.seed_slack);
    o.bits = int(a.integer("--bits", o.bits, ap::kern::kMinBits, ap::kern::kMaxBits));
    o.calib_path = a.str("--calib", "");
    o.calib_tokens = int(a.integer("--calib-tokens", o.calib_tokens, 1, INT_MAX));
    o.sensitivity = a.str("--sensitivity", o.sensitivity);
    o.quantize_embeddings = !a.has("--keep-embeddings");
    o.threads = threads_from(a);
    g_cancel = false;
    std::signal(SIGINT, on_sigint);
    const bool tty = isatty(fileno(stderr));
    std::string last_stage;
    auto r = ap::quantize_model(o, [&](const ap::QuantizeProgress& p) {
        if (tty) {
            std::fprintf(stderr, "\r[%3.0f%%] %-11s %3d/%-3d %-48s eta %5.0f s", p.fraction * 100, p.stage.c_str(), p.step,
                         p.n_steps, p.tensor.c_str(), p.eta_s < 0 ? 0.0 : p.eta_s);
        } else if (p.stage != last_stage || p.step % 20 == 0) {
            std::fprintf(stderr, "[%3.0f%%] %s %d/%d %s (eta %.0f s)\n", p.fraction * 100, p.stage.c_str(), p.step, p.n_steps,
                         p.tensor.c_str(), p.eta_s < 0 ? 0.0 : p.eta_s);
        }
        last_stage = p.stage;
    }, &g_cancel);
    std::signal(SIGINT, SIG_DFL);
    if (tty) std::fprintf(stderr, "\n");
    if (r.cancelled) {
        std::fprintf(stderr, "cancelled: nothing was written\n");
        return 130;
    }
    std::fprintf(stderr, "wrote %s (%s) in %.1f s\n", r.output.c_str(), human_bytes(r.bytes).c_str(), r.seconds);
    // Sensitivity-weighted squared error per width, summed over matrices: the
    // quantity the clustering trades between widths (lower is better).
    std::string errs;
    for (int b = 0; b <= ap::kern::kMaxBits; ++b)
        if (r.weighted_error[b] > 0) errs += " " + std::to_string(b) + ":" + std::to_string(r.weighted_error[b]);
    if (!errs.empty()) std::fprintf(stderr, "weighted squared error by width:%s\n", errs.c_str());
    return 0;
}

}  // namespace apcli
