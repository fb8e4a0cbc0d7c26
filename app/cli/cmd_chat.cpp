// anyprec chat: an interactive conversation through the model's chat template.
#include "cli_common.h"
#include "commands.h"
#include "error.h"

#include <algorithm>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

namespace apcli {

static std::atomic<bool> g_stop{false};
static void on_sigint(int) { g_stop = true; }

int cmd_chat(int argc, char** argv, int first) {
    const auto specs = std::vector<OptionSpec>{
                           {"--system", "", true, "system prompt", ""},
                       } + sampling_options();
    Args a(specs, argc, argv, first);
    if (a.help() || a.positional().size() != 1) {
        std::printf("%s", usage_text("anyprec chat MODEL [options]",
                                     "Chat with a model. Type a message and press Enter.\n"
                                     "Commands: /bits N (switch width), /reset (new conversation), /exit.\n"
                                     "Ctrl+C stops the current answer.", specs).c_str());
        return a.help() ? 0 : 2;
    }
    auto m = load_model_verbose(a.positional()[0]);
    apply_head_floor(a, *m);
    ap::Session s(*m, session_from(a));
    const auto sampling = sampling_from(a);
    const int max_tokens = int(a.integer("--max-tokens", 512, 1, ap::limits::kMaxGenerateTokens));
    int bits = bits_from(a, *m);
    ap::GenerateRequest decode;  // speculative / latency settings of every turn
    decode.bits = bits;
    decode_options_from(a, *m, decode);
    const auto& td = m->tok->data();
    const std::string bos_text = td.add_bos && td.bos_id >= 0 ? m->tok->token_bytes(td.bos_id, true) : "";
    std::vector<ap::ChatMessage> msgs;
    if (a.has("--system")) msgs.push_back({"system", a.str("--system")});
    std::signal(SIGINT, on_sigint);
    std::fprintf(stderr, "chat format %s; widths %s. /exit to quit.\n", ap::chat_format_name(m->chat_format),
                 m->any_precision() ? (std::to_string(m->min_bits()) + ".." + std::to_string(m->max_bits())).c_str()
                                    : "full precision only");
    std::string line;
    while (true) {
        std::printf("\n> ");
        std::fflush(stdout);
        if (!std::getline(std::cin, line)) break;
        if (line.empty()) continue;
        if (line == "/exit" || line == "/quit") break;
        if (line == "/reset") {
            msgs.erase(std::remove_if(msgs.begin(), msgs.end(), [](auto& mm) { return mm.role != "system"; }), msgs.end());
            std::printf("(conversation cleared)\n");
            continue;
        }
        if (line.rfind("/bits", 0) == 0) {
            int b = std::atoi(line.c_str() + 5);
            if (!m->any_precision() || b < m->min_bits() || b > m->max_bits()) {
                std::printf("(this model serves %s)\n", m->any_precision() ? (std::to_string(m->min_bits()) + ".." + std::to_string(m->max_bits()) + " bits").c_str() : "full precision only");
            } else {
                bits = b;
                std::printf("(now %d bits%s)\n", bits, decode.draft_bits >= b ? "; drafts off at or below the draft width" : "");
            }
            continue;
        }
        warn_unencodable(*m->tok, line);
        msgs.push_back({"user", line});
        ap::GenerateRequest req = decode;
        req.prompt = m->tok->encode(ap::format_chat(m->chat_format, msgs, true, bos_text), false, true);
        req.sampling = sampling;
        req.max_tokens = max_tokens;
        req.bits = bits;
        req.stop = ap::chat_stop_strings(m->chat_format);
        g_stop = false;
        req.cancel = &g_stop;
        ap::GenerateResult r;
        try {
            r = s.generate(req, [](const ap::TokenEvent& ev) {
                std::fputs(ev.text.c_str(), stdout);
                std::fflush(stdout);
            });
        } catch (const ap::Error& e) {
            std::printf("(error: %s)\n", e.what());
            msgs.pop_back();
            continue;
        }
        msgs.push_back({"assistant", r.text});
        std::fprintf(stderr, "\n[%d tokens, %.1f tokens/s, first token %.2f s%s]\n", r.n_generated, r.decode_tok_s(),
                     r.ttft_s, r.reason == ap::StopReason::Cancelled ? ", stopped" : "");
        std::fputs(decode_summary(r).c_str(), stderr);
    }
    return 0;
}

}  // namespace apcli
