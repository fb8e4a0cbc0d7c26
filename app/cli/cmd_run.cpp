// anyprec run: complete one prompt, streaming, then report speed.
#include "cli_common.h"
#include "commands.h"
#include "error.h"

#include <atomic>
#include <csignal>
#include <cstdio>

namespace apcli {

static std::atomic<bool> g_interrupted{false};
static void on_sigint(int) { g_interrupted = true; }

int cmd_run(int argc, char** argv, int first) {
    const auto specs = std::vector<OptionSpec>{
                           {"--prompt", "-p", true, "prompt text", ""},
                           {"--file", "-f", true, "read the prompt from a file", ""},
                           {"--chat", "", false, "wrap the prompt as one user turn of the model's chat template", ""},
                           {"--system", "", true, "system prompt (with --chat)", ""},
                       } + sampling_options();
    Args a(specs, argc, argv, first);
    if (a.help() || a.positional().size() != 1 || (!a.has("--prompt") && !a.has("--file"))) {
        std::printf("%s", usage_text("anyprec run MODEL -p PROMPT [options]",
                                     "Complete a prompt, streaming tokens to stdout; speeds go to stderr.", specs).c_str());
        return a.help() ? 0 : 2;
    }
    auto m = load_model_verbose(a.positional()[0]);
    apply_head_floor(a, *m);
    ap::Session s(*m, session_from(a));
    ap::GenerateRequest req;
    req.sampling = sampling_from(a);
    req.max_tokens = int(a.integer("--max-tokens", 256, 0, ap::limits::kMaxGenerateTokens));
    req.bits = bits_from(a, *m);
    decode_options_from(a, *m, req);
    std::string prompt = a.has("--file") ? read_text_file(a.str("--file")) : a.str("--prompt");
    if (prompt.empty()) throw ap::Error("--prompt: empty prompt");
    warn_unencodable(*m->tok, prompt);
    const auto& td = m->tok->data();
    if (a.has("--chat")) {
        std::vector<ap::ChatMessage> msgs;
        if (a.has("--system")) msgs.push_back({"system", a.str("--system")});
        msgs.push_back({"user", prompt});
        const std::string bos_text = td.add_bos && td.bos_id >= 0 ? m->tok->token_bytes(td.bos_id, true) : "";
        req.prompt = m->tok->encode(ap::format_chat(m->chat_format, msgs, true, bos_text), false, true);
        req.stop = ap::chat_stop_strings(m->chat_format);
    } else {
        req.prompt = m->tok->encode(prompt, td.add_bos, false);
    }
    g_interrupted = false;
    req.cancel = &g_interrupted;
    std::signal(SIGINT, on_sigint);
    if (!a.has("--chat")) {
        std::fputs(prompt.c_str(), stdout);
        std::fflush(stdout);
    }
    auto r = s.generate(req, [](const ap::TokenEvent& ev) {
        std::fputs(ev.text.c_str(), stdout);
        std::fflush(stdout);
    });
    std::signal(SIGINT, SIG_DFL);
    std::printf("\n");
    const int bits = m->resolve_bits(req.bits);
    std::fprintf(stderr, "\nwidth: %s, threads: %d, kernels: %s\n",
                 bits ? (std::to_string(bits) + " bits").c_str() : "full precision", s.threads(), s.kernels().name);
    std::fprintf(stderr, "prompt: %d tokens in %.3f s = %.1f tokens/s\n", r.n_prompt_evaluated, r.prompt_s, r.prompt_tok_s());
    std::fprintf(stderr, "decode: %d tokens in %.3f s = %.1f tokens/s (time to first token %.3f s, stop: %s)\n",
                 r.n_generated, r.decode_s, r.decode_tok_s(), r.ttft_s, ap::stop_reason_name(r.reason));
    std::fputs(decode_summary(r).c_str(), stderr);
    return 0;
}

}  // namespace apcli
