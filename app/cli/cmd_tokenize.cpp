// anyprec tokenize: token ids of a text exactly as given.
#include "cli_common.h"
#include "commands.h"
#include "error.h"

#include <cstdio>

namespace apcli {

int cmd_tokenize(int argc, char** argv, int first) {
    const std::vector<OptionSpec> specs = {
        {"--file", "-f", true, "read the text from a file", ""},
        {"--bos", "", false, "prepend BOS (if the vocabulary has one)", ""},
        {"--special", "", false, "turn special-token text such as <|im_start|> into those tokens", ""},
        {"--pieces", "", false, "print each token's text next to its id", ""},
    };
    Args a(specs, argc, argv, first);
    const size_t want = a.has("--file") ? 1 : 2;
    if (a.help() || a.positional().size() != want) {
        std::printf("%s", usage_text("anyprec tokenize MODEL (TEXT | --file F)",
                                     "Print one token id per line for the text exactly as given (no BOS unless --bos).\n"
                                     "Works on vocabulary-only GGUF files too.", specs).c_str());
        return a.help() ? 0 : 2;
    }
    auto tok = ap::load_tokenizer(a.positional()[0]);
    const std::string text = a.has("--file") ? read_text_file(a.str("--file")) : a.positional()[1];
    const auto ids = tok->encode(text, a.has("--bos"), a.has("--special"));
    for (int32_t id : ids) {
        if (a.has("--pieces")) std::printf("%d\t%s\n", id, tok->token_bytes(id, true).c_str());
        else std::printf("%d\n", id);
    }
    return 0;
}

}  // namespace apcli
