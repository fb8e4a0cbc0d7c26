// anyprec: the command-line face of AnyPrec Studio.
#include "commands.h"
#include "error.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

static void usage() {
    std::printf(
        "anyprec %s — any-precision LLMs: one parent model, every width from 3 to 8 bits\n\n"
        "usage: anyprec COMMAND [options]\n\n"
        "commands:\n"
        "  info MODEL                 describe a model (format, shapes, widths, memory)\n"
        "  run MODEL -p PROMPT        complete a prompt, streaming, then print speed\n"
        "  chat MODEL                 interactive chat using the model's template\n"
        "  tokenize MODEL TEXT        token ids, one per line (or --file F)\n"
        "  ppl MODEL TEXTFILE         perplexity (non-overlapping windows, --ctx 512)\n"
        "  quantize SOURCE -o OUT     build an any-precision checkpoint (3..8 bits)\n"
        "  bench MODEL                decode/prompt speed, GEMV bandwidth, memory per width\n\n"
        "MODEL is a GGUF file, a Hugging Face model folder or an any-precision checkpoint.\n"
        "Run `anyprec COMMAND --help` for a command's options.\n",
        ANYPREC_VERSION);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        usage();
        return 2;
    }
    const std::string cmd = argv[1];
    if (cmd == "--version" || cmd == "-V" || cmd == "version") {
        std::printf("anyprec %s\n", ANYPREC_VERSION);
        return 0;
    }
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
        usage();
        return 0;
    }
    try {
        if (cmd == "info") return apcli::cmd_info(argc, argv, 2);
        if (cmd == "run") return apcli::cmd_run(argc, argv, 2);
        if (cmd == "chat") return apcli::cmd_chat(argc, argv, 2);
        if (cmd == "tokenize") return apcli::cmd_tokenize(argc, argv, 2);
        if (cmd == "ppl" || cmd == "perplexity") return apcli::cmd_ppl(argc, argv, 2);
        if (cmd == "quantize") return apcli::cmd_quantize(argc, argv, 2);
        if (cmd == "bench") return apcli::cmd_bench(argc, argv, 2);
        std::fprintf(stderr, "anyprec: unknown command '%s' (see anyprec --help)\n", cmd.c_str());
        return 2;
    } catch (const ap::Error& e) {
        std::fprintf(stderr, "anyprec %s: error: %s\n", cmd.c_str(), e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "anyprec %s: error: %s\n", cmd.c_str(), e.what());
        return 1;
    }
}
