// Where set-up puts the default model and texts (see packaging/setup.sh).
#include "quantize.h"

#include <cstdlib>

namespace ap {

std::string anyprec_cache_dir() {
    if (const char* c = std::getenv("ANYPREC_CACHE"); c && *c) return c;
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.cache/anyprec";
}

std::string default_calib_text() { return anyprec_cache_dir() + "/text/sherlock.txt"; }
std::string default_eval_text() { return anyprec_cache_dir() + "/text/mobydick.txt"; }
std::string default_model_path() { return anyprec_cache_dir() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"; }

}  // namespace ap
